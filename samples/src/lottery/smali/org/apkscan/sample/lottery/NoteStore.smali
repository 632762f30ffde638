.class public Lorg/apkscan/sample/lottery/NoteStore;
.super Ljava/lang/Object;
.source "NoteStore.java"

.field private final prefs:Landroid/content/SharedPreferences;

.method public constructor <init>(Landroid/content/Context;)V
    .registers 4
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    const-string v0, "notes"
    const/4 v1, 0x0
    invoke-virtual {p1, v0, v1}, Landroid/content/Context;->getSharedPreferences(Ljava/lang/String;I)Landroid/content/SharedPreferences;
    move-result-object v0
    iput-object v0, p0, Lorg/apkscan/sample/lottery/NoteStore;->prefs:Landroid/content/SharedPreferences;
    return-void
.end method

.method public count()I
    .registers 4
    iget-object v0, p0, Lorg/apkscan/sample/lottery/NoteStore;->prefs:Landroid/content/SharedPreferences;
    const-string v1, "count"
    const/4 v2, 0x0
    invoke-interface {v0, v1, v2}, Landroid/content/SharedPreferences;->getInt(Ljava/lang/String;I)I
    move-result v0
    return v0
.end method

.method public latest()Ljava/lang/String;
    .registers 4
    iget-object v0, p0, Lorg/apkscan/sample/lottery/NoteStore;->prefs:Landroid/content/SharedPreferences;
    const-string v1, "latest"
    const-string v2, ""
    invoke-interface {v0, v1, v2}, Landroid/content/SharedPreferences;->getString(Ljava/lang/String;Ljava/lang/String;)Ljava/lang/String;
    move-result-object v0
    return-object v0
.end method

.method public save(Ljava/lang/String;)V
    .registers 6
    invoke-virtual {p0}, Lorg/apkscan/sample/lottery/NoteStore;->count()I
    move-result v0
    add-int/lit8 v0, v0, 0x1
    iget-object v1, p0, Lorg/apkscan/sample/lottery/NoteStore;->prefs:Landroid/content/SharedPreferences;
    invoke-interface {v1}, Landroid/content/SharedPreferences;->edit()Landroid/content/SharedPreferences$Editor;
    move-result-object v1
    const-string v2, "count"
    invoke-interface {v1, v2, v0}, Landroid/content/SharedPreferences$Editor;->putInt(Ljava/lang/String;I)Landroid/content/SharedPreferences$Editor;
    const-string v2, "latest"
    invoke-interface {v1, v2, p1}, Landroid/content/SharedPreferences$Editor;->putString(Ljava/lang/String;Ljava/lang/String;)Landroid/content/SharedPreferences$Editor;
    invoke-interface {v1}, Landroid/content/SharedPreferences$Editor;->apply()V
    return-void
.end method
