.class Landroidx/appcompat/app/TwilightManager;
.super Ljava/lang/Object;
.source "TwilightManager.java"

# AndroidX's day/night helper reads the last known location to compute sunset: a platform
# wrapper, not a third party collecting location.
.method constructor <init>()V
    .registers 1
    invoke-direct {p0}, Ljava/lang/Object;-><init>()V
    return-void
.end method

.method getLastKnownLocationForProvider(Landroid/location/LocationManager;Ljava/lang/String;)Landroid/location/Location;
    .registers 4
    invoke-virtual {p1, p2}, Landroid/location/LocationManager;->getLastKnownLocation(Ljava/lang/String;)Landroid/location/Location;
    move-result-object v0
    return-object v0
.end method
