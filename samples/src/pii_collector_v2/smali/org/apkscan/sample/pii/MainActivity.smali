.class public Lorg/apkscan/sample/pii/MainActivity;
.super Landroid/app/Activity;
.source "MainActivity.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/app/Activity;-><init>()V
    return-void
.end method

.method protected onCreate(Landroid/os/Bundle;)V
    .registers 5
    invoke-super {p0, p1}, Landroid/app/Activity;->onCreate(Landroid/os/Bundle;)V

    # third-party SDKs first, like a real app's Application/Activity would
    const-string v0, "5f1a2b3c4d5e6f7a8b9c0d1e"
    const-string v1, "official"
    invoke-static {p0, v0, v1}, Lcom/umeng/commonsdk/UMConfigure;->init(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;)V
    invoke-static {p0}, Lcn/jiguang/api/JCoreInterface;->init(Landroid/content/Context;)V

    # then the app's own collection
    invoke-static {p0}, Lorg/apkscan/sample/pii/device/DeviceCollector;->collect(Landroid/content/Context;)Ljava/lang/String;
    move-result-object v0
    invoke-static {p0}, Lorg/apkscan/sample/pii/data/ContactsReader;->readContacts(Landroid/content/Context;)I
    invoke-static {p0}, Lorg/apkscan/sample/pii/data/ContactsReader;->readSms(Landroid/content/Context;)I
    invoke-static {p0}, Lorg/apkscan/sample/pii/data/ContactsReader;->readCallLog(Landroid/content/Context;)I
    invoke-static {p0}, Lorg/apkscan/sample/pii/util/AppLister;->installedPackages(Landroid/content/Context;)I
    invoke-static {p0}, Lorg/apkscan/sample/pii/util/ClipboardReader;->read(Landroid/content/Context;)Ljava/lang/String;
    move-result-object v1

    new-instance v2, Lorg/apkscan/sample/pii/location/LocationTracker;
    invoke-direct {v2}, Lorg/apkscan/sample/pii/location/LocationTracker;-><init>()V
    invoke-virtual {v2, p0}, Lorg/apkscan/sample/pii/location/LocationTracker;->start(Landroid/content/Context;)V

    invoke-static {v0}, Lorg/apkscan/sample/pii/net/Uploader;->upload(Ljava/lang/String;)V
    return-void
.end method
