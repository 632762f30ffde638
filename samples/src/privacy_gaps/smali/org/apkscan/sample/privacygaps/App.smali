.class public Lorg/apkscan/sample/privacygaps/App;
.super Landroid/app/Application;
.source "App.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Application;-><init>()V
    return-void
.end method

# Deliberate gap: JPush starts here, before the user has agreed to the policy, with no
# consent switch (JCollectionAuth.setAuth is never called). Umeng only pre-initialises.
.method public onCreate()V
    .registers 4
    invoke-super {p0}, Landroid/app/Application;->onCreate()V
    const-string v0, "6a1b2c3d4e5f6a7b8c9d0e1f"
    const-string v1, "official"
    invoke-static {p0, v0, v1}, Lcom/umeng/commonsdk/UMConfigure;->preInit(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;)V
    invoke-static {p0}, Lcn/jpush/android/api/JPushInterface;->init(Landroid/content/Context;)V
    return-void
.end method
