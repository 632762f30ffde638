.class public Lorg/apkscan/sample/privacyclean/App;
.super Landroid/app/Application;
.source "App.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Application;-><init>()V
    return-void
.end method

# JPush behind its consent switch: JCollectionAuth.setAuth(this, false) until the user agrees
# (MainActivity.onAgree turns it on), then init.
.method public onCreate()V
    .registers 3
    invoke-super {p0}, Landroid/app/Application;->onCreate()V
    const/4 v0, 0x0
    invoke-static {p0, v0}, Lcn/jiguang/api/utils/JCollectionAuth;->setAuth(Landroid/content/Context;Z)V
    invoke-static {p0}, Lcn/jpush/android/api/JPushInterface;->init(Landroid/content/Context;)V
    return-void
.end method
