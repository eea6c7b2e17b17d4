"""One output grammar for every command that prints rows (sqlite-utils style).

    --table   aligned columns for people (the default on a terminal)
    --json    one JSON array
    --nl      newline-delimited JSON, one object per line (the default elsewhere)
    --csv     CSV with a header row
    --tsv     tab-separated, with a header row

At most one of them; `-o FILE` (export) takes the format from the file's suffix when no
flag names one. Rows are written as they come (a table, which needs every width, keeps
them first), so an export of the whole archive streams.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

import click

T = TypeVar("T")
FORMATS = ("table", "json", "nl", "csv", "tsv")
SUFFIXES = {".json": "json", ".jsonl": "nl", ".ndjson": "nl", ".csv": "csv", ".tsv": "tsv"}
# A table is for reading: long values (an article's body) are cut to this many characters.
TABLE_CELL_CHARS = 80


def output_options(command: Callable) -> Callable:
    """The five format flags, as one `fmt` argument: the flag given, or None."""
    helps = {
        "table": "Aligned columns (the default on a terminal).",
        "json": "One JSON array.",
        "nl": "JSON, one object per line (the default when not on a terminal).",
        "csv": "CSV with a header row.",
        "tsv": "Tab-separated values with a header row.",
    }
    for name in reversed(FORMATS):
        command = click.option(f"--{name}", f"fmt_{name}", is_flag=True, help=helps[name])(command)
    return command


def chosen_format(options: dict[str, Any], output: str | None = None) -> str | None:
    """The format the flags in `options` (fmt_table ... fmt_tsv) name, else the one
    `output`'s suffix names, else None (the command's default). Pops the flags."""
    picked = [name for name in FORMATS if options.pop(f"fmt_{name}", False)]
    if len(picked) > 1:
        given = " and ".join(f"--{name}" for name in picked)
        raise click.UsageError(f"{given}: choose one output format")
    if picked:
        return picked[0]
    if output:
        suffix = Path(output).suffix.lower()
        if suffix not in SUFFIXES:
            known = ", ".join(sorted(SUFFIXES))
            raise click.UsageError(
                f"-o {output}: cannot tell the format from its suffix (known: {known}); "
                "add --json, --nl, --csv or --tsv"
            )
        return SUFFIXES[suffix]
    return None


def default_format(out: TextIO) -> str:
    return "table" if out.isatty() else "nl"


def write_rows(
    rows: Iterable[dict[str, Any]], columns: Sequence[str], fmt: str, out: TextIO
) -> int:
    """Write `rows` (only `columns`, in that order) in `fmt`; -> how many."""
    if fmt == "table":
        return _table(rows, columns, out)
    if fmt in ("csv", "tsv"):
        writer = csv.writer(out, dialect="excel-tab" if fmt == "tsv" else "excel")
        writer.writerow(columns)
        count = 0
        for row in rows:
            writer.writerow([_flat(row.get(column)) for column in columns])
            count += 1
        return count
    count = 0
    if fmt == "json":
        out.write("[")
    for row in rows:
        text = json.dumps({c: row.get(c) for c in columns}, ensure_ascii=False)
        if fmt == "json":
            out.write(("\n " if count == 0 else ",\n ") + text)
        else:
            out.write(text + "\n")
        count += 1
    if fmt == "json":
        out.write("\n]\n" if count else "]\n")
    return count


def _flat(value: Any) -> Any:
    """A cell of CSV/TSV: lists (tags) as one comma-separated text, None as empty."""
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value)
    return "" if value is None else value


def _table(rows: Iterable[dict[str, Any]], columns: Sequence[str], out: TextIO) -> int:
    from tabulate import tabulate  # (sqlite-utils' own dependency)

    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    out.write(tabulate(cells, headers=list(columns), tablefmt="simple") + "\n")
    return len(cells)


def _cell(value: Any) -> str:
    text = " ".join(str(_flat(value)).split())
    return text if len(text) <= TABLE_CELL_CHARS else text[: TABLE_CELL_CHARS - 1] + "…"


def progress(items: Iterable[T], total: int, what: str) -> Iterable[T]:
    """`items`, with a progress bar on stderr (count, total, rate, time left) when stderr
    is a terminal; as they are otherwise (cron, pipes, tests)."""
    if not sys.stderr.isatty():
        return items
    from tqdm import tqdm

    return tqdm(items, total=total, desc=f"kantkg: {what}", unit=f" {what}")


def note(message: str) -> None:
    """A line for the person at the terminal (counts, filters), kept out of the data."""
    click.echo(message, err=True)
