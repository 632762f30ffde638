.class public Lcn/jiguang/api/utils/JCollectionAuth;
.super Ljava/lang/Object;
.source "JCollectionAuth.java"

# Imitation of JiGuang's consent switch: setAuth(context, false) before consent.

.method public static setAuth(Landroid/content/Context;Z)V
    .registers 2
    return-void
.end method
