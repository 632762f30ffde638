.class public Lorg/apkscan/sample/banker/OutgoingCallReceiver;
.super Landroid/content/BroadcastReceiver;
.source "OutgoingCallReceiver.java"

# NEW_OUTGOING_CALL: sets the result data (MAL-CALL-001) to the number being dialled, i.e. unchanged.

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/content/BroadcastReceiver;-><init>()V
    return-void
.end method

.method public onReceive(Landroid/content/Context;Landroid/content/Intent;)V
    .registers 4
    invoke-virtual {p0}, Lorg/apkscan/sample/banker/OutgoingCallReceiver;->getResultData()Ljava/lang/String;
    move-result-object v0
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/banker/OutgoingCallReceiver;->setResultData(Ljava/lang/String;)V
    return-void
.end method
