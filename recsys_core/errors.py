"""Errors raised at the input boundary, naming where and what was expected."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input: names the file, the line (or row) and column, and what was expected."""

    def __init__(
        self,
        path: str,
        expected: str,
        *,
        line: int | None = None,
        row: int | None = None,
        column: str | int | None = None,
        got: str | None = None,
    ) -> None:
        self.path, self.line, self.row, self.column = path, line, row, column
        self.expected, self.got = expected, got
        where = [str(path)]
        if line is not None:
            where.append(f"line {line}")
        if row is not None:
            where.append(f"row {row}")
        if column is not None:
            where.append(f"column {column!r}" if isinstance(column, str) else f"column {column}")
        message = f"{', '.join(where)}: expected {expected}"
        if got is not None:
            message += f", got {got!r}"
        super().__init__(message)


class TooManyBadRows(InputError):
    """Quarantine mode: the share of bad rows exceeded ``max_bad_fraction``."""
