.class public final Lorg/apkscan/sample/multidex/two/Reporter;
.super Ljava/lang/Object;
.source "Reporter.java"

# classes2.dex -> classes3.dex (three.Collector)
.method private constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static report(Landroid/content/Context;)Ljava/lang/String;
    .registers 3
    invoke-static {p0}, Lorg/apkscan/sample/multidex/three/Collector;->collect(Landroid/content/Context;)Ljava/lang/String;
    move-result-object v0
    const-string v1, "https://report.example-multidex.org/v1/device?id="
    invoke-virtual {v1, v0}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method
