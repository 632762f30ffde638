.class public Lcn/jiguang/api/JCoreInterface;
.super Ljava/lang/Object;
.source "JCoreInterface.java"

# Imitation of the JPush / JIGUANG (极光) core SDK entry point.
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static init(Landroid/content/Context;)V
    .registers 1
    invoke-static {p0}, Lcn/jiguang/internal/JLocationCollector;->collect(Landroid/content/Context;)Landroid/location/Location;
    invoke-static {p0}, Lcn/jiguang/internal/JLocationCollector;->imsi(Landroid/content/Context;)Ljava/lang/String;
    return-void
.end method
