.class public final Lorg/apkscan/sample/fraudloan/LoanNotice;
.super Ljava/lang/Object;
.source "LoanNotice.java"

.method private constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static forStatus(I)Ljava/lang/String;
    .registers 2
    packed-switch p0, :pswitch_data
    const-string v0, "恭喜！您已通过审核，秒批额度 50000 元，秒下款"
    return-object v0
    :pswitch_fee
    const-string v0, "放款前请缴纳工本费 300 元及保证金 5000 元"
    return-object v0
    :pswitch_frozen
    const-string v0, "银行卡号错误，账户冻结，请缴纳解冻金 2000 元"
    return-object v0
    :pswitch_data
    .packed-switch 0x1
        :pswitch_fee
        :pswitch_frozen
    .end packed-switch
.end method
