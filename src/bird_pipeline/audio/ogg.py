"""Check that an Ogg file ends with a complete end-of-stream page.

libsndfile 1.2.2 opens an Ogg file cut short without an error, reports the
shorter length and decodes what is left. The last page of an Ogg stream carries
the end-of-stream flag in its `header_type`, so a file whose final page is
incomplete or lacks that flag was cut.
"""

from __future__ import annotations

from pathlib import Path

CAPTURE_PATTERN = b"OggS"
HEADER_BYTES = 27  # fixed part of a page header, before the segment table
VERSION_OFFSET = 4  # stream_structure_version, 0 in every Ogg file
HEADER_TYPE_OFFSET = 5
SEGMENT_COUNT_OFFSET = 26  # number of lacing values in the segment table
END_OF_STREAM = 0x04  # header_type flag of a stream's last page
# The largest page: the fixed header, 255 lacing values and 255 segments of 255 bytes.
MAX_PAGE_BYTES = HEADER_BYTES + 255 + 255 * 255


def _page_end(data: bytes, start: int) -> int | None:
    """Return the offset just after the page starting at `start`, or None when
    its header is not all in `data` or its version is not 0."""
    if start + HEADER_BYTES > len(data) or data[start + VERSION_OFFSET] != 0:
        return None
    segments = data[start + SEGMENT_COUNT_OFFSET]
    table_end = start + HEADER_BYTES + segments
    if table_end > len(data):
        return None
    return table_end + sum(data[start + HEADER_BYTES : table_end])


def ends_with_complete_stream(path: str | Path) -> bool:
    """Return whether the file's last Ogg page is complete and ends the stream."""
    path = Path(path)
    size = path.stat().st_size
    with path.open("rb") as stream:
        stream.seek(max(0, size - MAX_PAGE_BYTES))
        tail = stream.read()
    start = tail.rfind(CAPTURE_PATTERN)
    while start >= 0:
        if _page_end(tail, start) == len(tail):
            return bool(tail[start + HEADER_TYPE_OFFSET] & END_OF_STREAM)
        start = tail.rfind(CAPTURE_PATTERN, 0, start)
    return False
