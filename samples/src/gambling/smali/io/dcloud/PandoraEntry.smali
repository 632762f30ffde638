.class public Lio/dcloud/PandoraEntry;
.super Landroid/app/Activity;
.source "PandoraEntry.java"

# Imitation of the DCloud (HBuilder / uni-app) runtime's launcher activity.
.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 4
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    new-instance v0, Landroid/content/Intent;
    const-class v1, Lio/dcloud/PandoraEntryActivity;
    invoke-direct {v0, p0, v1}, Landroid/content/Intent;-><init>(Landroid/content/Context;Ljava/lang/Class;)V
    const-string v1, "appid"
    const-string p1, "__UNI__1A2B3C4"
    invoke-virtual {v0, v1, p1}, Landroid/content/Intent;->putExtra(Ljava/lang/String;Ljava/lang/String;)Landroid/content/Intent;
    invoke-virtual {p0, v0}, Lio/dcloud/PandoraEntry;->startActivity(Landroid/content/Intent;)V
    invoke-virtual {p0}, Lio/dcloud/PandoraEntry;->finish()V
    return-void
.end method
