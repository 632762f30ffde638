"""Type stub of the optional C extension ``apkscan.extract._textfast`` (see ``_textfast.c``)."""

def ascii_blob(texts: list[str], lower: bool, /) -> tuple[bytes, bytes, bytes, bytes]:
    """The ASCII strings of ``texts`` joined by NUL (NUL inside one turned into a space,
    A-Z lowered when ``lower``) and, as native arrays: their indices (uint32), the byte
    offset of each after the first (int64), and the indices of the other strings (uint32)."""

def pick(texts: list[str] | tuple[str, ...], /) -> tuple[list[str], list[str], list[str]]:
    """The strings of ``texts`` that hold "://", those of 7 to 21 characters that may be an
    IPv4 address alone (ASCII ones must start with a digit; the caller checks each), and
    those that hold "@"; each in the order of ``texts``."""

def ip_runs(text: str, /) -> list[int]:
    """Start offsets of the maximal runs of ASCII digits and dots in ``text`` shaped like
    an IPv4 address (four groups of one to three digits); every ASCII match of
    ``text.IP_RE`` starts at one of them."""
