"""The items a run must never recommend (``exclude_items_path``): read the file, match it
against the catalogue.

Three forms, by file name: ``.parquet`` (an ``item_id`` column), ``.csv`` / ``.tsv``
(a header with an ``item_id`` column; ``.gz`` allowed), anything else text with one id per
line (blank lines and surrounding spaces ignored). An empty file excludes nothing; ids the
catalogue does not hold are counted, not an error (yesterday's withdrawn item may be gone
from today's log).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from recsys_core.columns import Columns
from recsys_core.errors import InputError
from recsys_core.io.boundary import reading

EXPECTED = (
    "an item exclusion file: one item id per line, or a CSV / Parquet file with an "
    f"{Columns.ITEM_ID!r} column"
)


@dataclass(frozen=True, slots=True)
class Exclusions:
    """Catalogue codes never to recommend, and what the file held."""

    items: np.ndarray  # dense item codes, sorted, unique
    ids_in_file: int
    matched: int

    def record(self, path: str, sha256: str) -> dict:
        """What the manifest says about the exclusions."""
        return {"path": path, "sha256": sha256, "ids": self.ids_in_file, "matched": self.matched}


NO_EXCLUSIONS = Exclusions(np.empty(0, dtype=np.int64), 0, 0)


def _suffixes(path: Path) -> list[str]:
    return [s.lower() for s in path.suffixes if s.lower() != ".gz"]


def read_excluded_ids(path: str | Path) -> pa.Array:
    """Every id the file lists, as strings or integers as written (an :class:`InputError`
    naming the file, line and column for anything else)."""
    path = Path(path)
    if not path.is_file():
        raise InputError(str(path), EXPECTED, got="no such file", hint="exclude_items_path")
    with reading(path, EXPECTED):  # the checks too: a non-UTF-8 header fails in them
        return _read_ids(path, _suffixes(path)[-1:])


def _read_ids(path: Path, suffix: list[str]) -> pa.Array:
    if suffix == [".parquet"]:
        table = pq.read_table(path)
    elif suffix in ([".csv"], [".tsv"]):
        if path.stat().st_size == 0:
            return pa.array([], pa.string())
        delimiter = "\t" if suffix == [".tsv"] else ","
        table = pacsv.read_csv(path, parse_options=pacsv.ParseOptions(delimiter=delimiter))
    else:
        return _text_ids(path)
    if Columns.ITEM_ID not in table.column_names:
        raise InputError(
            str(path), EXPECTED, column=Columns.ITEM_ID, got=f"columns {table.column_names}"
        )
    if table.column_names.count(Columns.ITEM_ID) > 1:
        raise InputError(str(path), EXPECTED, column=Columns.ITEM_ID, got="the column twice")
    column = table.column(Columns.ITEM_ID).combine_chunks()
    if column.null_count:
        row = int(pc.index(pc.is_null(column), True).as_py())
        line = row + 2 if suffix != [".parquet"] else None  # a CSV's header is line 1
        raise InputError(
            str(path),
            "an item id in every row",
            line=line,
            row=None if line else row,
            column=Columns.ITEM_ID,
            got="an empty value",
        )
    return column


def _text_ids(path: Path) -> pa.Array:
    with pa.input_stream(str(path), "detect") as stream:
        text = stream.read().decode("utf-8")
    return pa.array([line.strip() for line in text.splitlines() if line.strip()], pa.string())


def match_items(path: str, ids: pa.Array, catalogue: pa.Array) -> Exclusions:
    """The catalogue codes of ``ids`` (read from ``path``, named in errors); text ids are
    compared with integer item ids as integers."""
    if len(ids) == 0:
        return NO_EXCLUSIONS
    wanted = ids
    if pa.types.is_integer(catalogue.type) and not pa.types.is_integer(ids.type):
        parsed = pc.cast(ids, pa.int64(), safe=False) if _all_integers(ids) else None
        if parsed is None:
            bad = next(i for i, text in enumerate(ids.to_pylist()) if not _is_integer(text))
            raise InputError(path, "integer item ids, as the catalogue's are", got=ids[bad].as_py())
        wanted = parsed
    elif not pa.types.is_integer(catalogue.type):
        wanted = pc.cast(ids, pa.string())
    wanted = pc.cast(wanted, catalogue.type)
    codes = pc.drop_null(pc.index_in(wanted, value_set=catalogue))
    found = np.unique(codes.to_numpy().astype(np.int64))
    return Exclusions(found, len(ids), len(found))


def _all_integers(ids: pa.Array) -> bool:
    return bool(pc.all(pc.match_substring_regex(pc.cast(ids, pa.string()), r"^-?\d+$")).as_py())


def _is_integer(text: object) -> bool:
    return isinstance(text, str) and text.lstrip("-").isdigit()
