.class public Lorg/apkscan/sample/banker/AdminReceiver;
.super Landroid/app/admin/DeviceAdminReceiver;
.source "AdminReceiver.java"

# Device admin with force-lock (FR-DEVADMIN-001, MAL-BANKER-001). lock() is never called.

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/admin/DeviceAdminReceiver;-><init>()V
    return-void
.end method

.method public lock(Landroid/content/Context;)V
    .registers 3
    const-string v0, "device_policy"
    invoke-virtual {p1, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/app/admin/DevicePolicyManager;
    invoke-virtual {v0}, Landroid/app/admin/DevicePolicyManager;->lockNow()V
    return-void
.end method
