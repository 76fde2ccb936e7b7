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
        hint: str | None = None,
    ) -> None:
        self.path, self.line, self.row, self.column = path, line, row, column
        self.expected, self.got, self.hint = expected, got, hint
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
        if hint:
            message += f" ({hint})"
        super().__init__(message)

    def with_hint(self, hint: str) -> InputError:
        """The same error with a hint on what to change appended."""
        hints = "; ".join(h for h in (self.hint, hint) if h)
        return type(self)(
            self.path,
            self.expected,
            line=self.line,
            row=self.row,
            column=self.column,
            got=self.got,
            hint=hints,
        )


class TooManyBadRows(InputError):
    """Quarantine mode: the share of bad rows exceeded ``max_bad_fraction``."""
