.class public Lcom/umeng/commonsdk/UMConfigure;
.super Ljava/lang/Object;
.source "UMConfigure.java"

# Imitation of the Umeng (友盟) analytics SDK entry point.
.field public static appkey:Ljava/lang/String;

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static init(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;)V
    .registers 4
    sput-object p1, Lcom/umeng/commonsdk/UMConfigure;->appkey:Ljava/lang/String;
    invoke-static {p0}, Lcom/umeng/commonsdk/statistics/DeviceInfo;->getDeviceId(Landroid/content/Context;)Ljava/lang/String;
    invoke-static {p0}, Lcom/umeng/commonsdk/statistics/DeviceInfo;->getAppList(Landroid/content/Context;)Ljava/util/List;
    invoke-static {p0}, Lcom/umeng/commonsdk/statistics/DeviceInfo;->getMac(Landroid/content/Context;)Ljava/lang/String;
    return-void
.end method
