.class public final Lorg/apkscan/sample/multidex/two/PluginLoader;
.super Ljava/lang/Object;
.source "PluginLoader.java"

# Copies assets/plugin.jar and the dex disguised as assets/libdata.so to internal
# storage and loads them with DexClassLoader.
.method private constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public static loadAll(Landroid/content/Context;)V
    .registers 4
    :try_start
    const-string v0, "plugin.jar"
    const-string v1, "org.apkscan.sample.plugin.Payload"
    invoke-static {p0, v0, v1}, Lorg/apkscan/sample/multidex/two/PluginLoader;->load(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;)V
    const-string v0, "libdata.so"
    const-string v1, "org.apkscan.sample.hidden.Hidden"
    invoke-static {p0, v0, v1}, Lorg/apkscan/sample/multidex/two/PluginLoader;->load(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;)V
    :try_end
    .catch Ljava/lang/Exception; {:try_start .. :try_end} :failed
    :failed
    return-void
.end method

.method private static load(Landroid/content/Context;Ljava/lang/String;Ljava/lang/String;)V
    .registers 11
    .annotation system Ldalvik/annotation/Throws;
        value = {
            Ljava/lang/Exception;
        }
    .end annotation
    # copy the asset out
    invoke-virtual {p0}, Landroid/content/Context;->getAssets()Landroid/content/res/AssetManager;
    move-result-object v0
    invoke-virtual {v0, p1}, Landroid/content/res/AssetManager;->open(Ljava/lang/String;)Ljava/io/InputStream;
    move-result-object v0
    new-instance v1, Ljava/io/File;
    invoke-virtual {p0}, Landroid/content/Context;->getFilesDir()Ljava/io/File;
    move-result-object v2
    invoke-direct {v1, v2, p1}, Ljava/io/File;-><init>(Ljava/io/File;Ljava/lang/String;)V
    new-instance v2, Ljava/io/FileOutputStream;
    invoke-direct {v2, v1}, Ljava/io/FileOutputStream;-><init>(Ljava/io/File;)V
    const/16 v3, 0x2000
    new-array v3, v3, [B
    :loop
    invoke-virtual {v0, v3}, Ljava/io/InputStream;->read([B)I
    move-result v4
    if-lez v4, :copied
    const/4 v5, 0x0
    invoke-virtual {v2, v3, v5, v4}, Ljava/io/FileOutputStream;->write([BII)V
    goto :loop
    :copied
    invoke-virtual {v2}, Ljava/io/FileOutputStream;->close()V
    invoke-virtual {v0}, Ljava/io/InputStream;->close()V

    # load it
    new-instance v4, Ldalvik/system/DexClassLoader;
    invoke-virtual {v1}, Ljava/io/File;->getAbsolutePath()Ljava/lang/String;
    move-result-object v5
    const-string v6, "dex"
    const/4 v7, 0x0
    invoke-virtual {p0, v6, v7}, Landroid/content/Context;->getDir(Ljava/lang/String;I)Ljava/io/File;
    move-result-object v6
    invoke-virtual {v6}, Ljava/io/File;->getAbsolutePath()Ljava/lang/String;
    move-result-object v6
    const/4 v7, 0x0
    invoke-virtual {p0}, Landroid/content/Context;->getClassLoader()Ljava/lang/ClassLoader;
    move-result-object v0
    invoke-direct {v4, v5, v6, v7, v0}, Ldalvik/system/DexClassLoader;-><init>(Ljava/lang/String;Ljava/lang/String;Ljava/lang/String;Ljava/lang/ClassLoader;)V
    invoke-virtual {v4, p2}, Ljava/lang/ClassLoader;->loadClass(Ljava/lang/String;)Ljava/lang/Class;
    move-result-object v4
    const-string v5, "run"
    const/4 v6, 0x1
    new-array v6, v6, [Ljava/lang/Class;
    const/4 v7, 0x0
    const-class v0, Landroid/content/Context;
    aput-object v0, v6, v7
    invoke-virtual {v4, v5, v6}, Ljava/lang/Class;->getMethod(Ljava/lang/String;[Ljava/lang/Class;)Ljava/lang/reflect/Method;
    move-result-object v4
    const/4 v6, 0x1
    new-array v6, v6, [Ljava/lang/Object;
    aput-object p0, v6, v7
    const/4 v5, 0x0
    invoke-virtual {v4, v5, v6}, Ljava/lang/reflect/Method;->invoke(Ljava/lang/Object;[Ljava/lang/Object;)Ljava/lang/Object;
    return-void
.end method
