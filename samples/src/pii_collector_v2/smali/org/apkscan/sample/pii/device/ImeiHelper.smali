.class public final Lorg/apkscan/sample/pii/device/ImeiHelper;
.super Ljava/lang/Object;
.source "ImeiHelper.java"

# Version 2.4.0 of the pii_collector sample: one more call site of an API the app already
# used (the same findings, with moved evidence: a diff must not call them new and fixed).

.method private constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static imei(Landroid/content/Context;)Ljava/lang/String;
    .registers 3
    const-string v0, "phone"
    invoke-virtual {p0, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/telephony/TelephonyManager;
    invoke-virtual {v0}, Landroid/telephony/TelephonyManager;->getDeviceId()Ljava/lang/String;
    move-result-object v1
    return-object v1
.end method
