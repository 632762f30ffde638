.class public final Lorg/apkscan/sample/pii/data/ContactsReader;
.super Ljava/lang/Object;
.source "ContactsReader.java"

.method private constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static readContacts(Landroid/content/Context;)I
    .registers 7
    invoke-virtual {p0}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v0
    const-string v1, "content://com.android.contacts/contacts"
    invoke-static {v1}, Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;
    move-result-object v1
    const/4 v2, 0x0
    move-object v3, v2
    move-object v4, v2
    move-object v5, v2
    invoke-virtual/range {v0 .. v5}, Landroid/content/ContentResolver;->query(Landroid/net/Uri;[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;Ljava/lang/String;)Landroid/database/Cursor;
    move-result-object v0
    invoke-static {v0}, Lorg/apkscan/sample/pii/data/ContactsReader;->drain(Landroid/database/Cursor;)I
    move-result v0
    return v0
.end method

.method public static readSms(Landroid/content/Context;)I
    .registers 7
    invoke-virtual {p0}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v0
    const-string v1, "content://sms/inbox"
    invoke-static {v1}, Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;
    move-result-object v1
    const/4 v2, 0x0
    move-object v3, v2
    move-object v4, v2
    const-string v5, "date DESC"
    invoke-virtual/range {v0 .. v5}, Landroid/content/ContentResolver;->query(Landroid/net/Uri;[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;Ljava/lang/String;)Landroid/database/Cursor;
    move-result-object v0
    invoke-static {v0}, Lorg/apkscan/sample/pii/data/ContactsReader;->drain(Landroid/database/Cursor;)I
    move-result v0
    return v0
.end method

.method public static readCallLog(Landroid/content/Context;)I
    .registers 7
    invoke-virtual {p0}, Landroid/content/Context;->getContentResolver()Landroid/content/ContentResolver;
    move-result-object v0
    const-string v1, "content://call_log/calls"
    invoke-static {v1}, Landroid/net/Uri;->parse(Ljava/lang/String;)Landroid/net/Uri;
    move-result-object v1
    const/4 v2, 0x0
    move-object v3, v2
    move-object v4, v2
    move-object v5, v2
    invoke-virtual/range {v0 .. v5}, Landroid/content/ContentResolver;->query(Landroid/net/Uri;[Ljava/lang/String;Ljava/lang/String;[Ljava/lang/String;Ljava/lang/String;)Landroid/database/Cursor;
    move-result-object v0
    invoke-static {v0}, Lorg/apkscan/sample/pii/data/ContactsReader;->drain(Landroid/database/Cursor;)I
    move-result v0
    return v0
.end method

.method private static drain(Landroid/database/Cursor;)I
    .registers 2
    if-nez p0, :ok
    const/4 v0, 0x0
    return v0
    :ok
    invoke-interface {p0}, Landroid/database/Cursor;->getCount()I
    move-result v0
    invoke-interface {p0}, Landroid/database/Cursor;->close()V
    return v0
.end method
