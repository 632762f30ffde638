.class public Lorg/apkscan/sample/fraudloan/service/AutoClickService;
.super Landroid/accessibilityservice/AccessibilityService;
.source "AutoClickService.java"

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/accessibilityservice/AccessibilityService;-><init>()V
    return-void
.end method

.method public onAccessibilityEvent(Landroid/view/accessibility/AccessibilityEvent;)V
    .registers 4
    invoke-virtual {p0}, Lorg/apkscan/sample/fraudloan/service/AutoClickService;->getRootInActiveWindow()Landroid/view/accessibility/AccessibilityNodeInfo;
    move-result-object v0
    if-eqz v0, :done
    const-string v1, "确认转账"
    invoke-virtual {v0, v1}, Landroid/view/accessibility/AccessibilityNodeInfo;->findAccessibilityNodeInfosByText(Ljava/lang/String;)Ljava/util/List;
    :done
    return-void
.end method

.method public onInterrupt()V
    .registers 1
    return-void
.end method
