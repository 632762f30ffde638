"""Type stub of the optional C extension ``apkscan.extract._tlshfast`` (see ``_tlshfast.c``)."""

def tlsh(data: bytes, /) -> str:
    """The TLSH (T1) digest of ``data``, py-tlsh's ``tlsh.hash``; ``""`` for its ``TNULL``.
    Computed without the GIL."""
