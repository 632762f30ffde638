.class public Lorg/apkscan/sample/banker/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

# Harmless demonstration code: each method references one API the malware rules look for.
# Nothing here is started automatically except onCreate, which only shows an empty screen.

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 2
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    return-void
.end method

# USSD dialled through a call intent (MAL-USSD-001): tel:*100%23
.method public dialCode()V
    .registers 4
    new-instance v0, Landroid/content/Intent;
    const-string v1, "android.intent.action.CALL"
    const-string v2, "tel:*100%23"
    invoke-static {v2}, Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;
    move-result-object v2
    invoke-direct {v0, v1, v2}, Landroid/content/Intent;-><init>(Ljava/lang/String;Landroid/net/Uri;)V
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/banker/MainActivity;->startActivity(Landroid/content/Intent;)V
    return-void
.end method

# Asks to become the default SMS app (MAL-SMS-002)
.method public askDefaultSms()V
    .registers 4
    new-instance v0, Landroid/content/Intent;
    const-string v1, "android.provider.Telephony.ACTION_CHANGE_DEFAULT"
    invoke-direct {v0, v1}, Landroid/content/Intent;-><init>(Ljava/lang/String;)V
    const-string v1, "package"
    invoke-virtual {p0}, Lorg/apkscan/sample/banker/MainActivity;->getPackageName()Ljava/lang/String;
    move-result-object v2
    invoke-virtual {v0, v1, v2}, Landroid/content/Intent;->putExtra(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/banker/MainActivity;->startActivity(Landroid/content/Intent;)V
    return-void
.end method

# Foreground-app check plus an overlay window (MAL-BANKER-002)
.method public showOverlay()V
    .registers 5
    const-string v0, "activity"
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/banker/MainActivity;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/app/ActivityManager;
    const/4 v1, 0x1
    invoke-virtual {v0, v1}, Landroid/app/ActivityManager;->getRunningTasks(I)Ljava/util/List;
    const-string v0, "window"
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/banker/MainActivity;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/view/WindowManager;
    new-instance v1, Landroid/view/View;
    invoke-direct {v1, p0}, Landroid/view/View;-><init>(Landroid/content/Context;)V
    new-instance v2, Landroid/view/WindowManager$LayoutParams;
    const/16 v3, 0x7f6
    invoke-direct {v2, v3}, Landroid/view/WindowManager$LayoutParams;-><init>(I)V
    invoke-interface {v0, v1, v2}, Landroid/view/WindowManager;->addView(Landroid/view/View;Landroid/view/ViewGroup$LayoutParams;)V
    return-void
.end method

# Loads code from an (encrypted) asset (MAL-DROPPER-001): decrypt, then DexClassLoader
.method public loadPayload(Ljavax/crypto/Cipher;[B)V
    .registers 8
    invoke-virtual {p1, p2}, Ljavax/crypto/Cipher;->doFinal([B)[B
    new-instance v0, Ldalvik/system/DexClassLoader;
    const-string v1, "/data/data/org.apkscan.sample.banker/files/payload.dex"
    const-string v2, "/data/data/org.apkscan.sample.banker/cache"
    const/4 v3, 0x0
    invoke-virtual {p0}, Lorg/apkscan/sample/banker/MainActivity;->getClassLoader()Ljava/lang/ClassLoader;
    move-result-object v4
    invoke-direct {v0, v1, v2, v3, v4}, Ldalvik/system/DexClassLoader;-><init>(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/ClassLoader;)V
    return-void
.end method
