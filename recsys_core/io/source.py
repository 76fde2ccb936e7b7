"""A text input's bytes as the readers see them: gunzipped when the name ends in ``.gz``,
without a UTF-8 byte-order mark, and checked to be UTF-8."""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from recsys_core.errors import InputError

GZIP_SUFFIX = ".gz"
_BOM = b"\xef\xbb\xbf"


def format_suffix(path: Path) -> str:
    """The extension that names the format: ``events.csv.gz`` → ``.csv``."""
    suffixes = [s.lower() for s in path.suffixes]
    if suffixes and suffixes[-1] == GZIP_SUFFIX:
        suffixes.pop()
    return suffixes[-1] if suffixes else ""


def read_input_bytes(path: Path) -> bytes:
    """The whole text input, decompressed, BOM dropped; a truncated gzip names the file."""
    data = path.read_bytes()
    if path.suffix.lower() == GZIP_SUFFIX:
        try:
            data = gzip.decompress(data)
        except (EOFError, OSError, zlib.error) as exc:
            raise InputError(str(path), "a complete gzip file", got=str(exc)) from None
    return data.removeprefix(_BOM)


def require_utf8(path: Path, data: bytes) -> None:
    """An :class:`InputError` naming the first line that is not UTF-8."""
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        got = data[exc.start : exc.start + 4].hex(" ")
        raise InputError(str(path), "UTF-8 text", line=line, got=f"bytes {got}") from None
