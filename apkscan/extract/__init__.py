"""The only place that parses an APK: see :func:`apkscan.extract.apk.extract`."""
