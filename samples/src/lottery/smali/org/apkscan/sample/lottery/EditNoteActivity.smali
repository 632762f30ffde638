.class public Lorg/apkscan/sample/lottery/EditNoteActivity;
.super Landroid/app/Activity;
.source "EditNoteActivity.java"

.field private editor:Landroid/widget/EditText;

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 3
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V
    new-instance v0, Landroid/widget/EditText;
    invoke-direct {v0, p0}, Landroid/widget/EditText;-><init>(Landroid/content/Context;)V
    iput-object v0, p0, Lorg/apkscan/sample/lottery/EditNoteActivity;->editor:Landroid/widget/EditText;
    invoke-virtual {p0, v0}, Lorg/apkscan/sample/lottery/EditNoteActivity;->setContentView(Landroid/view/View;)V
    return-void
.end method

.method protected onPause()V
    .registers 4
    invoke-super {p0}, Landroid/app/Activity;->onPause()V
    iget-object v0, p0, Lorg/apkscan/sample/lottery/EditNoteActivity;->editor:Landroid/widget/EditText;
    invoke-virtual {v0}, Landroid/widget/EditText;->getText()Landroid/text/Editable;
    move-result-object v0
    invoke-virtual {v0}, Ljava/lang/Object;->toString()Ljava/lang/String;
    move-result-object v0
    new-instance v1, Lorg/apkscan/sample/lottery/NoteStore;
    invoke-direct {v1, p0}, Lorg/apkscan/sample/lottery/NoteStore;-><init>(Landroid/content/Context;)V
    invoke-virtual {v1, v0}, Lorg/apkscan/sample/lottery/NoteStore;->save(Ljava/lang/String;)V
    return-void
.end method
