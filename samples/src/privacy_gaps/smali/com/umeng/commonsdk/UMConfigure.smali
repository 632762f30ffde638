.class public Lcom/umeng/commonsdk/UMConfigure;
.super Ljava/lang/Object;
.source "UMConfigure.java"

# Imitation of the Umeng (友盟) SDK entry point: preInit may run before consent, init starts collection.

.method public static preInit(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;)V
    .registers 3
    return-void
.end method

.method public static init(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;ILjava/lang/String;)V
    .registers 6
    const-string v0, "android_id"
    invoke-virtual {p0}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v1
    invoke-static {v1, v0}, Landroid/provider/Settings$Secure;->getString(Landroid/content/ContentResolver;Ljava/lang/String;)Ljava/lang/String;
    return-void
.end method
