"""rvmatte: Robust Video Matting for VFX (EXR alpha and premultiplied foreground passes)."""
__version__ = "0.1.0"
