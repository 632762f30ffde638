.class public Lorg/apkscan/sample/multidex/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

# classes.dex -> classes2.dex (two.Reporter, two.PluginLoader)
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 3
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    invoke-static {p0}, Lorg/apkscan/sample/multidex/two/Reporter;->report(Landroid/content/Context;)Ljava/lang/String;
    move-result-object v0
    invoke-static {v0}, Lorg/apkscan/sample/multidex/Util;->log(Ljava/lang/String;)V
    invoke-static {p0}, Lorg/apkscan/sample/multidex/two/PluginLoader;->loadAll(Landroid/content/Context;)V
    return-void
.end method
