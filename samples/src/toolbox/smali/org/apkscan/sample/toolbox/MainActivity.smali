.class public Lorg/apkscan/sample/toolbox/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 4
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    new-instance v0, Lorg/apkscan/sample/toolbox/Flashlight;
    invoke-direct {v0}, Lorg/apkscan/sample/toolbox/Flashlight;-><init>()V
    invoke-virtual {v0}, Lorg/apkscan/sample/toolbox/Flashlight;->on()V
    new-instance v0, Lorg/apkscan/sample/toolbox/CopyHelper;
    invoke-direct {v0}, Lorg/apkscan/sample/toolbox/CopyHelper;-><init>()V
    const-string v1, "https://toolbox.example.org/"
    invoke-virtual {v0, p0, v1}, Lorg/apkscan/sample/toolbox/CopyHelper;->copy(Landroid/content/Context;Ljava/lang/String;)V
    return-void
.end method
