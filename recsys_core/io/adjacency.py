"""Adjacency lines ``user item item ...`` (seed 000, Gowalla), parsed without a per-line loop.

Ids are non-negative integers that fit int64. A line holding only a user id has no
interactions and is skipped, as in seed 000; so are blank lines. A line with any bad token
(not an integer, negative, or beyond int64) is bad as a whole (a user is never half-read);
its line number, 1-based token column and the reason are reported.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from recsys_core.columns import Columns
from recsys_core.errors import InputError
from recsys_core.io.raw import RawRead, bad_rows
from recsys_core.io.source import read_input_bytes

_INTEGER = r"^[+-]?[0-9]+$"
_INT64_MAX = np.iinfo(np.int64).max
# Why a token is bad, by code (0: fine).
_REASONS = {
    1: "expected an integer id",
    2: "expected a non-negative integer id",
    3: f"expected an integer id that fits int64 (at most {_INT64_MAX})",
}


def _token_problems(flat: pa.Array) -> np.ndarray:
    """Per token: 0 fine, else a :data:`_REASONS` code."""
    problem = np.zeros(len(flat), dtype=np.int8)
    is_integer = pc.match_substring_regex(flat, _INTEGER).to_numpy(zero_copy_only=False)
    problem[~is_integer] = 1
    negative = pc.starts_with(flat, "-").to_numpy(zero_copy_only=False)
    problem[is_integer & negative] = 2
    digits = pc.utf8_length(pc.utf8_ltrim(pc.utf8_ltrim(flat, "+"), "0")).to_numpy(False)
    for index in np.flatnonzero(is_integer & ~negative & (digits >= 19)):  # rare: long ids only
        if int(flat[int(index)].as_py()) > _INT64_MAX:
            problem[index] = 3
    return problem


def _split_lines(buffer: bytes) -> pa.LargeStringArray:
    """Zero-copy view of ``buffer`` as one string per physical line (newline included)."""
    raw = np.frombuffer(buffer, dtype=np.uint8)
    ends = np.flatnonzero(raw == ord("\n")) + 1
    if len(raw) and raw[-1] != ord("\n"):
        ends = np.append(ends, len(raw))
    offsets = np.concatenate([[0], ends]).astype(np.int64)
    return pa.LargeStringArray.from_buffers(len(ends), pa.py_buffer(offsets), pa.py_buffer(buffer))


def read_adjacency(path: str | Path) -> RawRead:
    """Read adjacency lines into one row per (user, item) token, in file order.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "a.txt")
    >>> _ = open(p, "w").write("7 3 1\\n\\n9 1\\n")
    >>> read_adjacency(p).rows.to_pydict()["item_id"]
    [3, 1, 1]
    """
    path = Path(path)
    buffer = read_input_bytes(path)
    non_ascii = np.flatnonzero(np.frombuffer(buffer, dtype=np.uint8) >= 128)
    if len(non_ascii):
        line = int(np.count_nonzero(np.frombuffer(buffer[: non_ascii[0]], np.uint8) == 10)) + 1
        raise InputError(str(path), "ASCII integer ids separated by whitespace", line=line)
    lines = _split_lines(buffer)
    tokens = pc.ascii_split_whitespace(pc.ascii_trim_whitespace(lines))
    flat = pc.list_flatten(tokens)
    # After trimming, an empty token only stands alone on a blank line: drop it.
    nonempty = pc.not_equal(flat, "")
    flat = pc.filter(flat, nonempty)
    per_line = pc.list_value_length(tokens).to_numpy(zero_copy_only=False).astype(np.int64)
    per_line -= pc.equal(pc.list_element(tokens, 0), "").to_numpy(zero_copy_only=False)
    line_of_token = np.repeat(np.arange(len(per_line), dtype=np.int64), per_line)
    token_starts = np.concatenate([[0], np.cumsum(per_line)[:-1]])
    column_of_token = np.arange(len(flat), dtype=np.int64) - token_starts[line_of_token]

    problem = _token_problems(flat)
    is_integer = problem == 0
    bad_token = np.flatnonzero(~is_integer)
    # First bad token of each bad line (tokens are in line order, so unique keeps the first).
    bad_line_idx, first = np.unique(line_of_token[bad_token], return_index=True)
    first_bad = bad_token[first]
    bad = bad_rows(
        bad_line_idx + 1,
        [str(c + 1) for c in column_of_token[first_bad]],
        [_REASONS[code] for code in problem[first_bad]],
        pc.take(flat, pa.array(first_bad)).to_pylist(),
    )

    line_ok = np.ones(len(per_line), dtype=bool)
    line_ok[bad_line_idx] = False
    keep = line_ok[line_of_token]
    values = np.zeros(len(flat), dtype=np.int64)
    if is_integer.any():
        values[is_integer] = pc.cast(pc.filter(flat, pa.array(is_integer)), pa.int64()).to_numpy()
    is_user_token = column_of_token == 0
    users_per_token = values[token_starts[line_of_token]]
    item_mask = keep & ~is_user_token
    rows = pa.table(
        {
            Columns.USER_ID: pa.array(users_per_token[item_mask]),
            Columns.ITEM_ID: pa.array(values[item_mask]),
            Columns.WEIGHT: pa.array(np.ones(int(item_mask.sum()), dtype=np.float32)),
            Columns.POSITION: pa.array(np.arange(int(item_mask.sum()), dtype=np.int64)),
        }
    )
    nonblank_lines = int(np.count_nonzero(per_line))
    return RawRead(rows=rows, bad=bad, units=nonblank_lines)
