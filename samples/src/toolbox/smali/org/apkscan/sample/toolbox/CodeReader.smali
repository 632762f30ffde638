.class public Lorg/apkscan/sample/toolbox/CodeReader;
.super Ljava/lang/Object;
.source "CodeReader.java"

# Decodes frames of a camera2 stream through an ImageReader: camera code, not screen capture.
.field private reader:Landroid/media/ImageReader;

.method public constructor <init>()V
    .registers 5
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    const/16 v0, 0x280
    const/16 v1, 0x1e0
    const/16 v2, 0x23
    const/4 v3, 0x2
    invoke-static {v0, v1, v2, v3}, Landroid/media/ImageReader;->newInstance(IIII)Landroid/media/ImageReader;
    move-result-object v0
    iput-object v0, p0, Lorg/apkscan/sample/toolbox/CodeReader;->reader:Landroid/media/ImageReader;
    return-void
.end method

.method public frame()Landroid/media/Image;
    .registers 2
    iget-object v0, p0, Lorg/apkscan/sample/toolbox/CodeReader;->reader:Landroid/media/ImageReader;
    invoke-virtual {v0}, Landroid/media/ImageReader;->acquireLatestImage()Landroid/media/Image;
    move-result-object v0
    return-object v0
.end method
