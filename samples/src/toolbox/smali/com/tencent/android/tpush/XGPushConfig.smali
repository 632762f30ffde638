.class public Lcom/tencent/android/tpush/XGPushConfig;
.super Ljava/lang/Object;
.source "XGPushConfig.java"

# Stand-in for the Tencent push SDK's configuration class: its report keys (applist,
# app_list) live in the SDK's code, not the app's.
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static keys()[Ljava/lang/String;
    .registers 4
    const/4 v0, 0x2
    new-array v0, v0, [Ljava/lang/String;
    const/4 v1, 0x0
    const-string v2, "applist"
    aput-object v2, v0, v1
    const/4 v1, 0x1
    const-string v2, "app_list"
    aput-object v2, v0, v1
    return-object v0
.end method
