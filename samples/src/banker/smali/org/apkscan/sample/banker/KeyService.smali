.class public Lorg/apkscan/sample/banker/KeyService;
.super Landroid/accessibilityservice/AccessibilityService;
.source "KeyService.java"

# Accessibility service reading event text (MAL-BANKER-003); the text is dropped.

.method public constructor <init>()V
    .registers 1
    invoke-direct {p0}, Landroid/accessibilityservice/AccessibilityService;-><init>()V
    return-void
.end method

.method public onAccessibilityEvent(Landroid/view/accessibility/AccessibilityEvent;)V
    .registers 2
    invoke-virtual {p1}, Landroid/view/accessibility/AccessibilityEvent;->getText()Ljava/util/List;
    return-void
.end method

.method public onInterrupt()V
    .registers 1
    return-void
.end method
