.class public Lorg/apkscan/sample/fraudloan/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

.field public static final REMOTE_URL:Ljava/lang/String; = "http://h5.example-loan.cn/apply.html?ch=sms"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 5
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    new-instance v0, Landroid/webkit/WebView;
    invoke-direct {v0, p0}, Landroid/webkit/WebView;-><init>(Landroid/content/Context;)V
    invoke-virtual {v0}, Landroid/webkit/WebView;->getSettings()Landroid/webkit/WebSettings;
    move-result-object v1
    const/4 v2, 0x1
    invoke-virtual {v1, v2}, Landroid/webkit/WebSettings;->setJavaScriptEnabled(Z)V
    invoke-virtual {v1, v2}, Landroid/webkit/WebSettings;->setAllowFileAccess(Z)V
    new-instance v1, Lorg/apkscan/sample/fraudloan/JsBridge;
    invoke-direct {v1, p0}, Lorg/apkscan/sample/fraudloan/JsBridge;-><init>(Landroid/content/Context;)V
    const-string v2, "LoanApp"
    invoke-virtual {v0, v1, v2}, Landroid/webkit/WebView;->addJavascriptInterface(Ljava/lang/Object;Ljava/lang/String;)V
    const-string v1, "http://h5.example-loan.cn/apply.html?ch=sms"
    invoke-virtual {v0, v1}, Landroid/webkit/WebView;->loadUrl(Ljava/lang/String;)V
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/fraudloan/MainActivity;->setContentView(Landroid/view/View;)V
    const-string v1, "秒批秒下款，无抵押，黑户可贷，不看征信"
    const/4 v2, 0x1
    invoke-static {p0, v1, v2}, Landroid/widget/Toast;->makeText(Landroid/content/Context;Ljava/lang/CharSequence;I)Landroid/widget/Toast;
    move-result-object v1
    invoke-virtual {v1}, Landroid/widget/Toast;->show()V
    return-void
.end method
