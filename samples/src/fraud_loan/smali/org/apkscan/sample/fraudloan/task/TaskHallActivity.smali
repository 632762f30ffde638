.class public Lorg/apkscan/sample/fraudloan/task/TaskHallActivity;
.super Landroid/app/Activity;
.source "TaskHallActivity.java"

# Order-brushing ("刷单") task hall, paid out in USDT on TRON.
.field public static final USDT_TRC20_ADDRESS:Ljava/lang/String; = "TTxQMUUwMm9ydRKqGt7BgTWUzj1aordvHp"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 5
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    new-instance v0, Landroid/widget/TextView;
    invoke-direct {v0, p0}, Landroid/widget/TextView;-><init>(Landroid/content/Context;)V
    new-instance v1, Ljava/lang/StringBuilder;
    invoke-direct {v1}, Ljava/lang/StringBuilder;-><init>()V
    const-string v2, "任务大厅：日结兼职，刷单返利，佣金秒到。先垫付，再抢单。"
    invoke-virtual {v1, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v2, "充值USDT（TRC20）地址："
    invoke-virtual {v1, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    const-string v2, "TTxQMUUwMm9ydRKqGt7BgTWUzj1aordvHp"
    invoke-virtual {v1, v2}, Ljava/lang/StringBuilder;->append(Ljava/lang/String;)Ljava/lang/StringBuilder;
    invoke-virtual {v1}, Ljava/lang/StringBuilder;->toString()Ljava/lang/String;
    move-result-object v1
    invoke-virtual {v0, v1}, Landroid/widget/TextView;->setText(Ljava/lang/CharSequence;)V
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/fraudloan/task/TaskHallActivity;->setContentView(Landroid/view/View;)V
    return-void
.end method
