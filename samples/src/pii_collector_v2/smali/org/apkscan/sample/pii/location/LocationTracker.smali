.class public Lorg/apkscan/sample/pii/location/LocationTracker;
.super Ljava/lang/Object;
.source "LocationTracker.java"

# interfaces
.implements Landroid/location/LocationListener;

.field private last:Landroid/location/Location;

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method public start(Landroid/content/Context;)V
    .registers 8
    const-string v0, "location"
    invoke-virtual {p1, v0}, Landroid/content/Context;->getSystemService(Ljava/lang/String;)Ljava/lang/Object;
    move-result-object v0
    check-cast v0, Landroid/location/LocationManager;
    const-string v1, "gps"
    invoke-virtual {v0, v1}, Landroid/location/LocationManager;->getLastKnownLocation(Ljava/lang/String;)Landroid/location/Location;
    move-result-object v2
    iput-object v2, p0, Lorg/apkscan/sample/pii/location/LocationTracker;->last:Landroid/location/Location;
    const-wide/32 v2, 0xea60
    const/high16 v4, 0x41200000    # 10.0f
    move-object v5, p0
    invoke-virtual/range {v0 .. v5}, Landroid/location/LocationManager;->requestLocationUpdates(Ljava/lang/String;JFLandroid/location/LocationListener;)V
    return-void
.end method

.method public onLocationChanged(Landroid/location/Location;)V
    .registers 2
    iput-object p1, p0, Lorg/apkscan/sample/pii/location/LocationTracker;->last:Landroid/location/Location;
    return-void
.end method

.method public onStatusChanged(Ljava/lang/String;ILandroid/os/Bundle;)V
    .registers 4
    return-void
.end method

.method public onProviderEnabled(Ljava/lang/String;)V
    .registers 2
    return-void
.end method

.method public onProviderDisabled(Ljava/lang/String;)V
    .registers 2
    return-void
.end method
