.class public Lorg/apkscan/sample/toolbox/Flashlight;
.super Ljava/lang/Object;
.source "Flashlight.java"

# The camera is opened only to switch the torch on: no picture, no preview frames.
.field private camera:Landroid/hardware/Camera;

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public on()V
    .registers 4
    invoke-static {}, Landroid/hardware/Camera;->open()Landroid/hardware/Camera;
    move-result-object v0
    iput-object v0, p0, Lorg/apkscan/sample/toolbox/Flashlight;->camera:Landroid/hardware/Camera;
    invoke-virtual {v0}, Landroid/hardware/Camera;->getParameters()Landroid/hardware/Camera$Parameters;
    move-result-object v1
    const-string v2, "torch"
    invoke-virtual {v1, v2}, Landroid/hardware/Camera$Parameters;->setFlashMode(Ljava/lang/String;)V
    invoke-virtual {v0, v1}, Landroid/hardware/Camera;->setParameters(Landroid/hardware/Camera$Parameters;)V
    invoke-virtual {v0}, Landroid/hardware/Camera;->startPreview()V
    return-void
.end method
