"""apkscan: static security and compliance scanner for Android apps."""

__version__ = "0.1.0"
