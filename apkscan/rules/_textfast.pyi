"""Type stub of the optional C extension ``apkscan.rules._textfast`` (see ``_textfast.c``)."""

def ascii_blob(texts: list[str], lower: bool, /) -> tuple[bytes, bytes, bytes, bytes]:
    """The ASCII strings of ``texts`` joined by NUL (NUL inside one turned into a space,
    A-Z lowered when ``lower``) and, as native arrays: their indices (uint32), the byte
    offset of each after the first (int64), and the indices of the other strings (uint32)."""
