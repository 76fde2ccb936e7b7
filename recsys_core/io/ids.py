"""Id typing: text ids become int64 only when that round-trips exactly."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

# No leading zeros, no sign on zero: "00123" stays a string so the snapshot gives it back.
_CANONICAL_INT = r"^(0|-?[1-9][0-9]{0,17})$"


def normalise_ids(ids: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Return integer ids as int64, text ids as int64 if all are canonical integers, else string.

    Examples
    --------
    >>> normalise_ids(pa.array(["12", "7"])).type
    DataType(int64)
    >>> normalise_ids(pa.array(["012", "7"])).to_pylist()
    ['012', '7']
    """
    if pa.types.is_integer(ids.type):
        return pc.cast(ids, pa.int64())
    if pa.types.is_string(ids.type) or pa.types.is_large_string(ids.type):
        ids = pc.cast(ids, pa.string())
        if len(ids) and pc.all(pc.match_substring_regex(ids, _CANONICAL_INT)).as_py():
            return pc.cast(ids, pa.int64())
        return ids
    return ids
