.class public Lorg/apkscan/sample/privacydefects/App;
.super Landroid/app/Application;
.source "App.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Application;-><init>()V
    return-void
.end method

# Umeng's documented pre-consent call only: collection starts in MainActivity.onAgree.
.method public onCreate()V
    .registers 4
    invoke-super {p0}, Landroid/app/Application;->onCreate()V
    const-string v0, "7b2c3d4e5f6a7b8c9d0e1f2a"
    const-string v1, "official"
    invoke-static {p0, v0, v1}, Lcom/umeng/commonsdk/UMConfigure;->preInit(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;)V
    return-void
.end method
