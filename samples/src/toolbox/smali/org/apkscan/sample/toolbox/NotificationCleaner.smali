.class public Lorg/apkscan/sample/toolbox/NotificationCleaner;
.super Landroid/service/notification/NotificationListenerService;
.source "NotificationCleaner.java"

# Declared with android:permission BIND_NOTIFICATION_LISTENER_SERVICE in the manifest.
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/service/notification/NotificationListenerService;-><init>()V
    return-void
.end method

.method public count()I
    .registers 2
    invoke-virtual {p0}, Landroid/service/notification/NotificationListenerService;->getActiveNotifications()[Landroid/service/notification/StatusBarNotification;
    move-result-object v0
    array-length v0, v0
    return v0
.end method
