"""Type stub of the optional C extension ``apkscan.extract._zipfast`` (see ``_zipfast.c``)."""

def probe(
    data: bytes,
    jobs: list[tuple[int, int, int]],
    max_ratio: int,
    ratio_floor: int,
    chunk: int,
    in_chunk: int,
    cap: int,
    probed: int,
    deadline: float,
    /,
) -> tuple[list[tuple[int, int, int]], int, int, int]:
    """``ApkArchive._probe`` (without ``keep``) of each ``(start, end, limit)`` job of
    ``data``, without the GIL, stopping before a job when ``probed`` plus its limit would
    pass ``cap`` (reason 1) or the monotonic clock is past ``deadline`` (reason 2; <= 0:
    never): ``(results, jobs done, reason, probed)`` with one ``(got, status, used)`` per
    job done, status 0 (done), 1 (ratio above ``max_ratio`` after ``got`` bytes from
    ``used``) or 2 (a zlib error after ``got`` bytes)."""

def heads(data: bytes, jobs: list[tuple[int, int, int]], /) -> list[bytes | None]:
    """``ApkArchive._head`` of each ``(start, stop, n)`` job of a deflated entry: the first
    ``n`` bytes its raw deflate stream yields from ``data[start:stop]``, or None where zlib
    finds it corrupt (where ``_head`` raises)."""

def records(
    data: bytes, p: int, cd_end: int, shift: int, room: int, cd_offset: int, /
) -> tuple[list[tuple[int, int, str | None, bytes, int, int, int, int, int, int, int]], int]:
    """Central directory records from ``p`` as ``ApkArchive._parse_cd`` reads them, until
    one it must judge itself or ``room`` records: ``(rows, p)``, one row ``(at, plain, name,
    raw_name, method, flags, crc, csize, usize, lho + shift, data_start)`` per record;
    ``plain`` 0 (name None, data_start -1) where anything in the record or its local header
    is unusual, and the caller reads that record at ``at`` its own way."""

def sniff(heads: list[bytes], /) -> list[str | None]:
    """``archive.sniff`` of each head, or None where a non-ASCII byte leaves it to the
    Python reading of UTF-8 (no magic number or NUL decides it first)."""
