.class public Lorg/apkscan/sample/lottery/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

.field private store:Lorg/apkscan/sample/lottery/NoteStore;

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 5
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V

    new-instance v0, Lorg/apkscan/sample/lottery/NoteStore;
    invoke-direct {v0, p0}, Lorg/apkscan/sample/lottery/NoteStore;-><init>(Landroid/content/Context;)V
    iput-object v0, p0, Lorg/apkscan/sample/lottery/MainActivity;->store:Lorg/apkscan/sample/lottery/NoteStore;

    new-instance v1, Landroid/widget/TextView;
    invoke-direct {v1, p0}, Landroid/widget/TextView;-><init>(Landroid/content/Context;)V
    invoke-virtual {v0}, Lorg/apkscan/sample/lottery/NoteStore;->count()I
    move-result v2
    if-nez v2, :has_notes
    const v2, 0x7f030002  # R.string.empty, pinned in res/values/public.xml
    invoke-virtual {v1, v2}, Landroid/widget/TextView;->setText(I)V
    goto :show
    :has_notes
    invoke-virtual {v0}, Lorg/apkscan/sample/lottery/NoteStore;->latest()Ljava/lang/String;
    move-result-object v2
    invoke-virtual {v1, v2}, Landroid/widget/TextView;->setText(Ljava/lang/CharSequence;)V
    :show
    invoke-virtual {p0, v1}, Lorg/apkscan/sample/lottery/MainActivity;->setContentView(Landroid/view/View;)V
    return-void
.end method

.method public openEditor()V
    .registers 3
    new-instance v0, Landroid/content/Intent;
    const-class v1, Lorg/apkscan/sample/lottery/EditNoteActivity;
    invoke-direct {v0, p0, v1}, Landroid/content/Intent;-><init>(Landroid/content/Context;Ljava/lang/Class;)V
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/lottery/MainActivity;->startActivity(Landroid/content/Intent;)V
    return-void
.end method
