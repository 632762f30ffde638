.class public final Lorg/apkscan/sample/multidex/Util;
.super Ljava/lang/Object;
.source "Util.java"

# classes.dex; called back from classes3.dex (three.Collector)
.method private constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static tag()Ljava/lang/String;
    .registers 1
    const-string v0, "apkscan-multidex"
    return-object v0
.end method

.method public static log(Ljava/lang/String;)V
    .registers 2
    invoke-static {}, Lorg/apkscan/sample/multidex/Util;->tag()Ljava/lang/String;
    move-result-object v0
    invoke-static {v0, p0}, Landroid/util/Log;->i(Ljava/lang/String;Ljava/lang/String;)I
    return-void
.end method
