.class public Lorg/apkscan/sample/hostile/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

# Hostile strings in the dex string table, for output-escaping tests.
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 4
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    new-instance v0, Landroid/webkit/WebView;
    invoke-direct {v0, p0}, Landroid/webkit/WebView;-><init>(Landroid/content/Context;)V
    const-string v1, "javascript:alert(document.cookie)"
    invoke-virtual {v0, v1}, Landroid/webkit/WebView;->loadUrl(Ljava/lang/String;)V
    const-string v1, "https://example.org/\"><img src=x onerror=alert(2)>"
    invoke-virtual {v0, v1}, Landroid/webkit/WebView;->loadUrl(Ljava/lang/String;)V
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/hostile/MainActivity;->setContentView(Landroid/view/View;)V
    invoke-static {}, Lorg/apkscan/sample/hostile/Strings;->all()[Ljava/lang/String;
    return-void
.end method
