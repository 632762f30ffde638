.class public Lorg/apkscan/sample/gambling/PayBridge;
.super Ljava/lang/Object;
.source "PayBridge.java"

# Recharge / withdraw endpoints of the betting site, exposed to the web layer.
.field private final context:Landroid/content/Context;

.method public constructor <init>(Landroid/content/Context;)V
    .registers 2
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    iput-object p1, p0, Lorg/apkscan/sample/gambling/PayBridge;->context:Landroid/content/Context;
    return-void
.end method

.method public recharge(Ljava/lang/String;)V
    .registers 5
    .annotation runtime Landroid/webkit/JavascriptInterface;
    .end annotation
    const-string v0, "https://pay.example-bet.com/recharge?uid="
    invoke-virtual {v0, p1}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    invoke-direct {p0, v0}, Lorg/apkscan/sample/gambling/PayBridge;->open(Ljava/lang/String;)V
    return-void
.end method

.method public withdraw(Ljava/lang/String;)V
    .registers 5
    .annotation runtime Landroid/webkit/JavascriptInterface;
    .end annotation
    const-string v0, "https://pay.example-bet.com/withdraw?uid="
    invoke-virtual {v0, p1}, Ljava/lang/String;->concat(Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    invoke-direct {p0, v0}, Lorg/apkscan/sample/gambling/PayBridge;->open(Ljava/lang/String;)V
    return-void
.end method

.method public lotteryFeed()Ljava/lang/String;
    .registers 2
    .annotation runtime Landroid/webkit/JavascriptInterface;
    .end annotation
    # apiplus-style lottery result feed (开奖数据): 时时彩 / 北京赛车
    const-string v0, "http://f.apiplus.net/cqssc-20.json"
    return-object v0
.end method

.method private open(Ljava/lang/String;)V
    .registers 5
    new-instance v0, Landroid/content/Intent;
    const-string v1, "android.intent.action.VIEW"
    invoke-static {p1}, Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;
    move-result-object v2
    invoke-direct {v0, v1, v2}, Landroid/content/Intent;-><init>(Ljava/lang/String;Landroid/net/Uri;)V
    iget-object v1, p0, Lorg/apkscan/sample/gambling/PayBridge;->context:Landroid/content/Context;
    invoke-virtual {v1, v0}, Landroid/content/Context;->startActivity(Landroid/content/Intent;)V
    return-void
.end method
