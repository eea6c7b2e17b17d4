"""The `kantkg` command: crawl, search, show, stats, export, reparse, serve, doctor,
replica, demo, health.

Every failure a user can cause ends in one line on stderr and a non-zero exit code,
never a traceback: Click's own usage errors too (one line, exit 2), text that is not
UTF-8, numbers too large for SQLite or a timedelta, special files and a full stdout.
"""

from __future__ import annotations

import contextlib
import errno
import json
import math
import os
import re
import socket
import stat
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import NoReturn

import click

from kantkg import archive, clock, settings, urls
from kantkg.archive.sqlite import sqlite3
from kantkg.cli.output import (
    chosen_format,
    default_format,
    note,
    output_options,
    progress,
    write_rows,
)
from kantkg.crawl.discovery import BadRange, DateRange
from kantkg.crawl.outcome import (
    CRAWL_EXIT_MEANINGS,
    EXIT_ARCHIVE,
    EXIT_FAILED,
    EXIT_LOCKED,
    EXIT_NOT_ARTICLE,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_UNREADABLE,
    EXIT_USAGE,
    crawl_counts,
    exit_code,
    status_of,
)
from kantkg.crawl.stats import CRAWL_ID, EXIT_CODE
from kantkg.replica.corpus import MARKUPS, SEED_PATH
from kantkg.site import DEFAULT_BASE_URL


def fail(message: str, code: int) -> NoReturn:
    click.echo(f"kantkg: {message}", err=True)
    sys.exit(code)


class OneLineError(click.ClickException):
    """A Click error shown as one `kantkg: ...` line, like every other failure."""

    def show(self, file=None) -> None:
        click.echo(f"kantkg: {self.message}", err=True)


class OneLineUsageError(OneLineError):
    exit_code = EXIT_USAGE


def _one_line(exc: click.ClickException) -> OneLineError:
    message = " ".join(exc.format_message().splitlines())
    ctx = getattr(exc, "ctx", None)
    if isinstance(exc, click.UsageError) and ctx is not None:
        message += f" (see `{ctx.command_path} --help`)"
    return (OneLineUsageError if exc.exit_code == EXIT_USAGE else OneLineError)(message)


class KantkgGroup(click.Group):
    """Click's usage errors (three lines: usage, hint, error) become one line; an
    output that cannot be written (stdout on a full disk) becomes one line too."""

    def make_context(self, *args, **kwargs) -> click.Context:
        try:
            return super().make_context(*args, **kwargs)
        except click.exceptions.NoArgsIsHelpError:
            raise  # plain `kantkg`: the help is what was asked for
        except click.ClickException as exc:
            raise _one_line(exc) from None

    def invoke(self, ctx: click.Context):
        try:
            return super().invoke(ctx)
        except click.exceptions.NoArgsIsHelpError:
            raise
        except click.ClickException as exc:
            raise _one_line(exc) from None
        except BrokenPipeError:  # `kantkg export | head`: the reader has what it wanted
            with contextlib.suppress(OSError, ValueError, AttributeError):
                _silence_stdout()  # (Python's flush at exit would raise again)
            ctx.exit(EXIT_OK)

    def main(self, *args, **kwargs):
        try:
            return super().main(*args, **kwargs)
        except OSError as exc:  # Click already ends a broken pipe quietly
            if not _output_error(exc):
                raise
            with contextlib.suppress(OSError, ValueError, AttributeError):
                _silence_stdout()  # Python's own flush at exit must not add a second error
            fail(f"cannot write to standard output: {exc.strerror or exc}", EXIT_FAILED)


# What a write to a full disk, a broken terminal or a closed descriptor raises. Every
# file kantkg opens itself is handled where it is opened (and such errors name the file).
_OUTPUT_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO, errno.EBADF, errno.EAGAIN}


def _output_error(exc: OSError) -> bool:
    """Is this the standard output failing? (a write error names no file)"""
    return exc.filename is None and exc.errno in _OUTPUT_ERRNOS


def _silence_stdout() -> None:
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)


def _utf8(_ctx, param: click.Parameter, value: str | None) -> str | None:
    """Text that reaches SQLite or the output must be UTF-8: a non-UTF-8 argument arrives
    as a str with surrogate escapes, which SQLite and stdout refuse with a traceback."""
    if value is not None and not _is_utf8(value):
        raise click.BadParameter(f"{value!r} is not valid UTF-8 text", param=param)
    return value


def _is_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _base_url(_ctx, _param, value: str) -> str:
    problem = urls.base_url_problem(value)
    if problem:
        fail(f"--base-url {value!r}: {problem}", EXIT_USAGE)
    return value


def _finite(_ctx, param: click.Parameter, value: float | None) -> float | None:
    """click.FloatRange lets nan through (every comparison with it is false)."""
    if value is not None and not math.isfinite(value):
        raise click.BadParameter(f"{value} is not a number", param=param)
    return value


def _archive_path(_ctx, _param, value: str) -> str:
    """A file path: an SQLite URI (file:...?mode=ro) would be taken as a relative path
    and the logs and lock beside it created in a directory named `file:`."""
    if value.startswith("file:"):
        fail(f"--db {value}: give the archive's file path, not an SQLite URI", EXIT_USAGE)
    return value


def base_url_option(help_text: str):
    """--base-url, as every command that reads the site takes it."""
    return click.option(
        "--base-url",
        default=settings.KANT_BASE_URL,
        show_default=True,
        envvar="KANT_BASE_URL",
        callback=_base_url,
        help=help_text,
    )


db_option = click.option(
    "--db",
    default=settings.KANT_DB,
    show_default=True,
    envvar="KANT_DB",
    callback=_archive_path,
    help="Archive file (env KANT_DB).",
)


def _check_archive_file(path: str, must_exist: bool) -> None:
    """One line, exit 5, for an archive path that is missing (when it must exist) or not
    a regular file (SQLite would put /dev/null-journal beside it)."""
    if must_exist and not Path(path).exists():
        fail(f"no archive at {path} (run `kantkg crawl` first, or pass --db)", EXIT_ARCHIVE)
    with contextlib.suppress(OSError):
        if not stat.S_ISREG(os.stat(path).st_mode):
            fail(f"cannot open archive {path}: not a regular file", EXIT_ARCHIVE)


def open_db(path: str, must_exist: bool = True):
    """The archive, or one line: exit 5 for the file, exit 2 for a bad setting
    (KANT_DB_MAX_MB, which archive.open_archive refuses with a ValueError)."""
    _check_archive_file(path, must_exist)
    try:
        return archive.open_archive(path, settings.KANT_DB_MAX_MB)
    except archive.ArchiveError as exc:
        fail(str(exc), EXIT_ARCHIVE)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)


def read_db(path: str):
    """The archive for a command that only reads it: opened read-only (never created,
    migrated or written), and refused in one line, exit 5, when it is missing or not a
    kantkg archive."""
    try:  # a bad setting is a bad setting whoever reads it (exit 2)
        archive.max_megabytes(settings.KANT_DB_MAX_MB)
    except ValueError as exc:
        fail(str(exc), EXIT_USAGE)
    _check_archive_file(path, must_exist=True)
    try:
        return archive.open_readonly(path)
    except archive.ArchiveError as exc:
        fail(str(exc), EXIT_ARCHIVE)


@click.group(cls=KantkgGroup)
@click.version_option(package_name="kantkg")
def main() -> None:
    """Scrape kant.kg news into a searchable SQLite archive."""


@main.command()
@base_url_option("Site to crawl (env KANT_BASE_URL).")
@db_option
@click.option("--since", help="Backfill: articles published on or after YYYY-MM-DD.")
@click.option("--until", help="Backfill: articles published on or before YYYY-MM-DD.")
@click.option("--full", is_flag=True, help="Fetch known articles again too.")
@click.option(
    "--log-file",
    type=click.Path(dir_okay=False),
    help="Rotating log file [default: logs/kantkg.log beside the archive].",
)
@click.option("--quiet", is_flag=True, help="Print nothing but errors (for cron).")
@click.option(
    "--max-error-rate",
    default=None,
    type=click.FloatRange(0, 1),
    callback=_finite,
    help="Exit 9 when a larger share of requests fails [default: KANT_MAX_ERROR_RATE, 0.2].",
)
@click.option(
    "--no-throttle", is_flag=True, help="No politeness delays: only for the loopback replica."
)
def crawl(
    base_url: str,
    db: str,
    since: str | None,
    until: str | None,
    full: bool,
    log_file: str | None,
    quiet: bool,
    max_error_rate: float | None,
    no_throttle: bool,
) -> None:
    """Run the kant spider once, incrementally; the exit code says how it went.

    0 ok, 1 crawl did not finish, 2 bad arguments, 5 archive (or its log) not writable,
    7 another crawl holds the lock, 8 site unreachable, 9 too many failed requests,
    10 part of the site not seen (retried by the next run).
    """
    from kantkg.crawl.lock import CrawlLock, LockHeld
    from kantkg.crawl.logs import default_log_file, log_failure
    from kantkg.crawl.process import LOOPBACK_SETTINGS, run_in_process

    _checked_range(since, until)
    _check_settings(base_url=base_url, db=db, max_error_rate=max_error_rate)
    log_path = Path(log_file) if log_file else default_log_file(db)
    if log_file:  # a bad --log-file is a bad argument, found before the archive is touched
        log_handler = _start_logging(log_path, quiet, EXIT_USAGE)
    database = open_db(db, must_exist=False)
    try:
        archive.check_writable(database)
    except archive.ArchiveError as exc:
        fail(str(exc), EXIT_ARCHIVE)
    finally:
        database.close()
    if not log_file:  # the default log lives beside the archive: its trouble is exit 5
        log_handler = _start_logging(log_path, quiet, EXIT_ARCHIVE)
    # The crawl takes the lock itself (spiders.extensions.CrawlLog, as for `scrapy crawl
    # kant`); asked here first so that a second crawl fails at once, in one line.
    try:
        CrawlLock(db).acquire().release()
    except LockHeld as exc:
        fail(str(exc), EXIT_LOCKED)
    except OSError as exc:
        fail(f"cannot lock {db}: {exc.strerror or exc}", EXIT_ARCHIVE)
    overrides: dict[str, object] = dict(LOOPBACK_SETTINGS) if no_throttle else {}
    if full:  # else KANT_FULL from -s or the environment stands
        overrides["KANT_FULL"] = True
    overrides["KANT_PROGRESS"] = not quiet and sys.stderr.isatty()
    if max_error_rate is not None:  # else KANT_MAX_ERROR_RATE (-s, environment, 0.2)
        overrides["KANT_MAX_ERROR_RATE"] = max_error_rate
    stats = run_in_process(base_url=base_url, db=db, since=since, until=until, settings=overrides)
    code = stats.get(EXIT_CODE)  # the crawl's own verdict (spiders.extensions.CrawlLog)
    if code is None:  # it never got as far as closing
        code = exit_code(stats)
    lost_log = log_failure(log_handler)  # records lost (a full disk): not a clean run
    final_code = EXIT_ARCHIVE if lost_log and code == EXIT_OK else code
    crawl_id = stats.get(CRAWL_ID)
    if crawl_id is not None:
        try:
            with contextlib.closing(archive.open_archive(db, settings.KANT_DB_MAX_MB)) as database:
                archive.set_exit_code(database, crawl_id, final_code, status_of(final_code))
        except (archive.ArchiveError, sqlite3.DatabaseError):  # (the line below says so)
            final_code = code = EXIT_ARCHIVE
    counts = crawl_counts(stats)
    summary = (
        f"crawl #{crawl_id}: {counts['new']} new, {counts['updated']} updated, "
        f"{counts['dropped']} dropped, {counts['requests']} requests "
        f"({counts['article_requests']} articles), {counts['errors']} errors"
    )
    log_note = f", not fully written: {lost_log}" if lost_log else ""
    if code != EXIT_OK:
        fail(f"{CRAWL_EXIT_MEANINGS[code]}; {summary} (log: {log_path}{log_note})", code)
    if lost_log:
        fail(f"log not writable; {summary} (log: {log_path}{log_note})", final_code)
    if not quiet:
        click.echo(summary, err=True)


def _check_settings(**given: object) -> None:
    """Every KANT_* setting (environment or default, and the options given) must be one
    it can be (kantkg.settings.setting_problem): else one line, exit 2, before anything.
    A KANT_CONTACT that is not one line of UTF-8 failed every request (it goes into the
    User-Agent) and was reported as "site unreachable"."""
    values = settings.kant_settings()
    values.update(
        {f"KANT_{name.upper()}": value for name, value in given.items() if value is not None}
    )
    problems = settings.setting_problems(values)
    if problems:
        fail(problems[0], EXIT_USAGE)


def _start_logging(path: Path, quiet: bool, code: int):
    """The crawl's log handlers, or one line and `code` when the file cannot be written."""
    from kantkg.crawl.logs import LogFileError, setup_logging

    try:
        return setup_logging(path, quiet)
    except LogFileError as exc:
        fail(str(exc), code)


def _day_option(name: str):
    bound = "on or after" if name == "since" else "on or before"
    return click.option(f"--{name}", help=f"Only articles published {bound} YYYY-MM-DD.")


def _checked_range(since: str | None, until: str | None) -> DateRange:
    try:
        return DateRange.from_args(since, until)
    except BadRange as exc:
        fail(str(exc), EXIT_USAGE)


SEARCH_COLUMNS = ("id", "published", "section", "title", "url", "snippet")


def _words(ctx, param: click.Parameter, value: tuple[str, ...]) -> str:
    """The query's words, given as one argument or several (`search Путин OR Жапаров`).
    -word excludes a word; what looks like an option (--limt, -o) is refused, not
    searched for."""
    for word in value:
        if word.startswith("--") or re.fullmatch(r"-[A-Za-z]", word):
            raise click.BadParameter(f"no such option: {word}", param=param)
    return " ".join(_utf8(ctx, param, word) or "" for word in value)


# (-word excludes a word: not an option)
@main.command(context_settings={"ignore_unknown_options": True})
@click.argument("query", nargs=-1, required=True, callback=_words)
@db_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@_day_option("since")
@_day_option("until")
@click.option(
    "--section", callback=_utf8, help="Only this section (rubric), any letter case: политика."
)
@output_options
def search(
    query: str,
    db: str,
    limit: int,
    since: str | None,
    until: str | None,
    section: str | None,
    **formats: bool,
) -> None:
    """Full-text search over titles and bodies, best match first.

    Words match in any grammatical form («Путин» finds «Путина», «Путину»), ё = е.
    All words are required; OR between words offers alternatives; -word excludes;
    "quoted words" must appear as a phrase; a trailing * searches a prefix.
    """
    fmt = chosen_format(formats) or default_format(sys.stdout)
    rng = _checked_range(since, until)
    database = read_db(db)
    names = _sections(database, section)
    since_iso, until_iso = rng.since_iso, rng.until_iso
    database.execute("BEGIN")  # one snapshot for the hits and their count (a crawl writes)
    try:
        hits = archive.search(
            database, query, limit=limit, section=names, since=since_iso, until=until_iso
        )
        total = archive.count_matches(
            database, query, section=names, since=since_iso, until=until_iso
        )
    except archive.QueryError as exc:
        fail(str(exc), EXIT_USAGE)
    finally:
        database.execute("COMMIT")
    filters = _filters_said(", ".join(names) if names else None, since, until)
    if not hits:
        note(f"no articles match {query!r}{filters}")
        if fmt not in ("table",):
            write_rows([], SEARCH_COLUMNS, fmt, sys.stdout)
        return
    shown = f", the best {len(hits)} shown" if total > len(hits) else ""
    note(f"{total} article{'s' if total != 1 else ''} match {query!r}{filters}{shown}")
    write_rows(hits, SEARCH_COLUMNS, fmt, sys.stdout)


def _sections(database, section: str | None) -> tuple[str, ...] | None:
    """The archive's sections `--section` names (any letter case), or one line listing
    the sections there are."""
    if section is None:
        return None
    names = archive.sections_named(database, section)
    if not names:
        known = archive.sections(database)
        listed = ", ".join(f"{name} ({count})" for name, count in known.items()) or "none yet"
        fail(f"no section {section!r} in this archive; sections: {listed}", EXIT_USAGE)
    return names


def _filters_said(section: str | None, since: str | None, until: str | None) -> str:
    """(section Политика, since 2021-01-01) -- the filters a result was limited by."""
    said = [
        f"{name} {value}"
        for name, value in (("section", section), ("since", since), ("until", until))
        if value
    ]
    return f" ({', '.join(said)})" if said else ""


@main.command()
@click.argument("url_or_id", callback=_utf8)
@db_option
@output_options
def show(url_or_id: str, db: str, **formats: bool) -> None:
    """Print one archived article as a reader wants it (any form of its URL, its path,
    or its id); with a format flag, its archive row. Exit 6 when there is none."""
    fmt = chosen_format(formats)
    row = archive.get_article(read_db(db), url_or_id)
    if row is None:
        fail(f"no archived article {url_or_id!r}", EXIT_NOT_FOUND)
    row["tags"] = json.loads(row["tags"] or "[]")
    if fmt == "table":
        fields = [{"field": key, "value": value} for key, value in row.items()]
        write_rows(fields, ("field", "value"), fmt, sys.stdout)
        return
    if fmt is not None:
        write_rows([row], list(row), fmt, sys.stdout)
        return
    click.echo(row["title"])
    meta = [row["published"], row["section"], row["author"]]
    click.echo(" · ".join(str(m) for m in meta if m))
    click.echo(row["url"])
    if row["tags"]:
        click.echo("Теги: " + ", ".join(row["tags"]))
    click.echo()
    click.echo(row["body"])


STATS_COLUMNS = ("group", "key", "value")


@main.command()
@db_option
@output_options
def stats(db: str, **formats: bool) -> None:
    """The archive in numbers: its size, articles per year, month and section, and the
    last crawl, as rows of (group, key, value)."""
    fmt = chosen_format(formats) or default_format(sys.stdout)
    write_rows(_stats_rows(read_db(db), db), STATS_COLUMNS, fmt, sys.stdout)


def _stats_rows(database, db: str) -> Iterator[dict]:
    size = sum(
        Path(f"{db}{suffix}").stat().st_size
        for suffix in ("", "-wal")
        if Path(f"{db}{suffix}").exists()
    )
    for key, value in (
        ("file", click.format_filename(db)),
        ("megabytes", round(size / 1e6, 1)),
        ("articles", archive.count_articles(database)),
        ("captures", database["captures"].count),
        ("revisions", database["revisions"].count),
    ):
        yield {"group": "archive", "key": key, "value": value}
    groups = (
        ("year", "substr(published_date, 1, 4)", "k"),
        ("month", "substr(published_date, 1, 7)", "k DESC LIMIT 12"),
        ("section", "section", "count(*) DESC, k"),
    )
    for group, column, order in groups:
        for value, count in database.execute(
            f"SELECT {column} AS k, count(*) FROM articles GROUP BY k ORDER BY {order}"
        ):
            yield {"group": f"articles by {group}", "key": value or "?", "value": count}
    last = archive.last_crawl(database)
    if last:
        for key in (
            "id",
            "status",
            "exit_code",
            "started",
            "finished",
            "new",
            "updated",
            "dropped",
            "errors",
        ):
            yield {"group": "last crawl", "key": key, "value": last[key]}


@main.command()
@db_option
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 100_000))
@output_options
def crawls(db: str, limit: int, **formats: bool) -> None:
    """The last crawls, newest first: status, exit code, counts, why incomplete."""
    fmt = chosen_format(formats) or default_format(sys.stdout)
    rows = archive.crawl_history(read_db(db), limit)
    if not rows:
        note("no crawl recorded in this archive yet")
    write_rows(rows, archive.HISTORY_COLUMNS, fmt, sys.stdout)


@main.command()
@db_option
@_day_option("since")
@_day_option("until")
@click.option("--section", callback=_utf8, help="Only this section (any letter case).")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, writable=True),
    help="Write here instead of standard output; the suffix names the format "
    "(.json, .jsonl, .ndjson, .csv, .tsv) unless a flag does.",
)
@click.option(
    "--warc",
    "warc_path",
    type=click.Path(dir_okay=False, writable=True),
    help="Write the captures (as received) of the articles to this WARC/1.1 file "
    "(.warc.gz: gzip per record): warcinfo, request, response and revisit records.",
)
@output_options
def export(
    db: str,
    since: str | None,
    until: str | None,
    section: str | None,
    output: str | None,
    warc_path: str | None,
    **formats: bool,
) -> None:
    """Export articles, oldest first (JSON lines unless told otherwise), or their
    captures as a WARC file (--warc)."""
    if warc_path is not None:
        _export_warc(db, warc_path, since, until, section, output, formats)
        return
    if output == "-":  # the usual name of standard output
        output = None
    fmt = chosen_format(formats, output) or ("nl" if output else default_format(sys.stdout))
    rng = _checked_range(since, until)
    if output and _same_file(output, db):
        fail(f"-o {output} is the archive itself: it would be overwritten", EXIT_USAGE)
    database = read_db(db)
    since_iso, until_iso, names = rng.since_iso, rng.until_iso, _sections(database, section)
    rows = archive.export_rows(database, since=since_iso, until=until_iso, section=names)
    if not output:
        write_rows(rows, archive.EXPORT_COLUMNS, fmt, sys.stdout)
        return
    total = archive.count_articles(database, since=since_iso, until=until_iso, section=names)
    try:
        with open(output, "w", encoding="utf-8", newline="") as out:
            count = write_rows(progress(rows, total, "articles"), archive.EXPORT_COLUMNS, fmt, out)
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", EXIT_USAGE)
    note(f"exported {count} articles to {output}")


def _export_warc(
    db: str,
    path: str,
    since: str | None,
    until: str | None,
    section: str | None,
    output: str | None,
    formats: dict[str, bool],
) -> None:
    from kantkg.crawl.warc_export import export_warc

    if output or any(formats.values()):
        fail("--warc writes a WARC file: without -o or a format flag", EXIT_USAGE)
    rng = _checked_range(since, until)
    if _same_file(path, db):
        fail(f"--warc {path} is the archive itself: it would be overwritten", EXIT_USAGE)
    database = read_db(db)
    names = _sections(database, section)
    partial = Path(f"{path}.partial")
    try:
        with open(partial, "wb") as out:
            counts = export_warc(
                database,
                out,
                since=rng.since_iso,
                until=rng.until_iso,
                section=names,
                track=lambda captures, total: progress(captures, total, "captures"),
                gzip=not path.lower().endswith(".warc"),  # FILE.warc: uncompressed records
            )
        partial.replace(path)  # a file that is there is whole
    except OSError as exc:
        with contextlib.suppress(OSError):
            partial.unlink()
        fail(f"cannot write {path}: {exc.strerror or exc}", EXIT_USAGE)
    said = ", ".join(f"{n} {kind}" for kind, n in sorted(counts.items())) or "no records"
    note(f"wrote {path}: {said}")


def _same_file(path: str, db: str) -> bool:
    """Is `path` the archive or one of its WAL/shm/lock files?"""
    for suffix in ("", "-wal", "-shm", ".lock"):
        with contextlib.suppress(OSError):
            if os.path.samefile(path, f"{db}{suffix}"):
                return True
    return False


@main.command()
@db_option
@_day_option("since")
@_day_option("until")
def reparse(db: str, since: str | None, until: str | None) -> None:
    """Re-extract every stored raw page (no network): update changed articles, keeping
    their previous versions in `revisions`."""
    from kantkg.crawl.reparse import reparse as run_reparse

    rng = _checked_range(since, until)
    counts = run_reparse(
        open_db(db),
        since=rng.since_iso,
        until=rng.until_iso,
        track=lambda urls: progress(urls, len(urls), "pages"),
    )
    total = sum(counts.values())
    detail = ", ".join(f"{count} {what}" for what, count in sorted(counts.items()))
    click.echo(f"reparsed {total} pages: {detail or 'nothing stored'}")


def _http_url(_ctx, param: click.Parameter, value: str | None) -> str | None:
    problem = value and urls.base_url_problem(value)
    if problem:
        fail(f"--{(param.name or '').replace('_', '-')} {value!r}: {problem}", EXIT_USAGE)
    return value


@main.command("import")
@click.option(
    "--warc",
    "warc_files",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False),
    help="A WARC file to import (.warc or .warc.gz; repeatable).",
)
@click.option(
    "--cdx",
    "cdx",
    callback=_http_url,
    help="A CDX server to backfill from, e.g. https://index.commoncrawl.org/CC-MAIN-2024-10-index.",
)
@click.option(
    "--warc-prefix",
    callback=_http_url,
    help="Where the CDX server's WARC files are [default: beside the CDX endpoint; "
    "https://data.commoncrawl.org/ for index.commoncrawl.org].",
)
@click.option("--since", help="--cdx: only captures made on or after YYYY-MM-DD (capture date).")
@click.option("--until", help="--cdx: only captures made on or before YYYY-MM-DD (capture date).")
@click.option(
    "--delay",
    default=None,
    type=click.FloatRange(0, 3600),
    callback=_finite,
    help="--cdx: seconds between requests [default: the crawl's DOWNLOAD_DELAY, 0.25].",
)
@base_url_option("The site whose articles are imported (env KANT_BASE_URL).")
@db_option
def import_(
    warc_files: tuple[str, ...],
    cdx: str | None,
    warc_prefix: str | None,
    since: str | None,
    until: str | None,
    delay: float | None,
    base_url: str,
    db: str,
) -> None:
    """Import the site's articles from WARC files (--warc) or a web archive's CDX server
    (--cdx), through the crawl's chain, each kept as a capture with its date and source.
    Older captures than the archive's text become revisions; run again, it adds nothing.

    Exit 0 (bad records are counted and skipped), 2 bad arguments or files, 5 archive
    not writable, 8 CDX server unreachable, 10 --cdx records not fetched (run it again).
    """
    if bool(warc_files) == bool(cdx):
        fail("give --warc FILE... or --cdx URL (one of them)", EXIT_USAGE)
    if warc_files and (since or until or warc_prefix or delay is not None):
        fail("--since, --until, --warc-prefix and --delay go with --cdx", EXIT_USAGE)
    rng = _checked_range(since, until)
    _check_settings(base_url=base_url, db=db)
    for path in warc_files:
        if problem := _warc_problem(path):
            fail(f"--warc {path}: {problem}", EXIT_USAGE)
    database = open_db(db, must_exist=False)
    try:
        archive.check_writable(database)
        if cdx:
            _import_cdx(database, cdx, warc_prefix, rng, delay, base_url)
        else:
            _import_warc(database, warc_files, base_url)
    except archive.ArchiveError as exc:
        fail(str(exc), EXIT_ARCHIVE)
    except sqlite3.DatabaseError as exc:  # (a full disk: what was written before stays)
        fail(f"archive write failed: {exc}", EXIT_ARCHIVE)
    finally:
        database.close()


def _warc_problem(path: str) -> str | None:
    from kantkg.crawl.warc_import import warc_problem

    return warc_problem(path)


def _import_warc(database, paths: tuple[str, ...], base_url: str) -> None:
    from kantkg.crawl.warc_import import import_warc

    counts = import_warc(
        database,
        paths,
        base_url=base_url,
        track=lambda files: progress(files, len(files), "files"),
    )
    note(f"imported {len(paths)} WARC file{'s' if len(paths) != 1 else ''}: {_said(counts)}")


def _import_cdx(
    database, cdx_url: str, prefix: str | None, rng: DateRange, delay: float | None, base: str
) -> None:
    from kantkg.crawl.cdx import CdxError, Fetcher, import_cdx
    from kantkg.crawl.outcome import EXIT_INCOMPLETE, EXIT_UNREACHABLE

    fetcher = Fetcher() if delay is None else Fetcher(delay=delay)
    try:
        result = import_cdx(
            database,
            cdx_url,
            base_url=base,
            warc_prefix=prefix,
            since=rng.since_iso,
            until=rng.until_iso,
            fetcher=fetcher,
            track=lambda rows: progress(rows, len(rows), "captures"),
        )
    except CdxError as exc:
        fail(str(exc), EXIT_UNREACHABLE)
    summary = f"{result.fetched} WARC records fetched: {_said(result.counts)}"
    if result.failed:
        failed = ", ".join(f"{n} {why}" for why, n in result.failed.most_common())
        fail(
            f"import incomplete: {result.failed.total()} not fetched ({failed}); {summary} "
            "(run it again: what is archived is not fetched again)",
            EXIT_INCOMPLETE,
        )
    note(f"imported from {cdx_url}: {summary}")


def _said(counts) -> str:
    """`3 new, 1 revision; skipped: 2 not-200, 1 other-site` (or `nothing`)."""
    done = [f"{n} {k}" for k, n in sorted(counts.items()) if not k.startswith("skipped/")]
    skipped = [f"{n} {k[8:]}" for k, n in sorted(counts.items()) if k.startswith("skipped/")]
    said = ", ".join(done) or "nothing imported"
    return said + (f"; skipped: {', '.join(skipped)}" if skipped else "")


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True, callback=_utf8)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
def serve(db: str, host: str, port: int) -> None:
    """Browse and query the archive in Datasette (needs the `serve` extra)."""
    import importlib.util

    from kantkg.cli.serve import datasette_argv

    if importlib.util.find_spec("datasette") is None:
        fail("Datasette is not installed: pip install 'kantkg[serve]'", EXIT_USAGE)
    if not _is_utf8(db):  # Datasette names the database after the file
        fail(f"--db {db!r}: serve needs an archive path that is valid UTF-8", EXIT_USAGE)
    read_db(db).close()  # a kantkg archive of this version, or one line; Datasette only reads
    _check_listen(host, port)
    argv = datasette_argv(db, host, port)
    os.execv(argv[0], argv)  # same PID: whoever started `kantkg serve` can stop it


def _page_url(_ctx, _param, value: str | None) -> str | None:
    problem = value and urls.base_url_problem(value)
    if problem:
        fail(f"--url {value!r}: {problem}", EXIT_USAGE)
    return value


def _where(exc: BaseException) -> str:
    """'OverflowError: ... (kantkg/dates.py:123)': one line that still says where."""
    import traceback

    frames = traceback.extract_tb(exc.__traceback__)
    place = f" ({Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(exc).split())[:300]
    return f"{type(exc).__name__}: {message}{place}"


def _check_listen(host: str, port: int) -> None:
    """Fail in one line now if Datasette could not listen there: after exec, uvicorn says
    so in six lines of its own log."""
    try:
        family, kind, proto, _, address = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        with socket.socket(family, kind, proto) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as uvicorn does
            probe.bind(address)
    except (OSError, UnicodeError) as exc:
        fail(f"cannot serve on {host}:{port}: {getattr(exc, 'strerror', None) or exc}", EXIT_USAGE)


@main.command()
@click.argument("target")
@click.option(
    "--url", callback=_page_url, help="The page's URL when TARGET is a saved file (for URL dates)."
)
@click.option("--json", "as_json", is_flag=True, help="The diagnosis as one JSON object.")
@click.option(
    "--timeout",
    default=30.0,
    show_default=True,
    callback=_finite,
    type=click.FloatRange(0, 3600, min_open=True),
    help="Give up on TARGET after this many seconds in all (fetch or read).",
)
def doctor(target: str, url: str | None, as_json: bool, timeout: float) -> None:
    """Show what the extractor makes of one page (URL or saved file) and why.

    Exit 0 for an article, 3 when the page is not an article, 4 when it cannot be read
    (or the extractor fails on it).
    """
    from kantkg.cli.doctor import DoctorError, diagnose, read_target, report

    try:
        data, declared, found_url = read_target(target, timeout)
    except DoctorError as exc:
        fail(str(exc), EXIT_UNREADABLE)
    try:
        diagnosis = diagnose(data, url or found_url, declared)
    except Exception as exc:  # noqa: BLE001 -- a page the extractor chokes on, in one line
        fail(f"cannot extract {target}: {_where(exc)}", EXIT_UNREADABLE)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "url": diagnosis.url,
                    "encoding": diagnosis.encoding,
                    "not_article": diagnosis.not_article,
                    "item": diagnosis.item,
                    "removed": diagnosis.removed,
                },
                ensure_ascii=False,
                indent=1,
            )
        )
    else:
        click.echo(report(diagnosis))
    if diagnosis.item is None:
        sys.exit(EXIT_NOT_ARTICLE)


@main.command()
@click.option(
    "--port",
    default=8000,
    show_default=True,
    type=click.IntRange(0, 65535),
    help="0 picks a free port.",
)
@click.option("--articles", default=200, show_default=True, type=click.IntRange(0, 1_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option(
    "--markup",
    "markups",
    multiple=True,
    type=click.Choice(MARKUPS),
    help="Serve only these article markups (repeatable; default: all).",
)
@click.option(
    "--fault",
    "faults",
    multiple=True,
    metavar="KIND[=ARG][:PATTERN[:TIMES]]",
    help="Inject a fault (repeatable), e.g. status=503:article:3, truncate:article,"
    " reset:feed. See kantkg/replica/faults.py for the kinds.",
)
@click.option(
    "--removed",
    default=0,
    show_default=True,
    type=click.IntRange(0, None),
    help="Articles the live site no longer serves (404) that its web archive still holds"
    " (for `kantkg import --cdx`).",
)
def replica(
    port: int,
    articles: int,
    seed: int,
    markups: tuple[str, ...],
    faults: tuple[str, ...],
    removed: int,
) -> None:
    """Serve the loopback kant.kg replica on 127.0.0.1; prints its base URL first."""
    from kantkg.replica import run
    from kantkg.replica.faults import BadFault, parse_fault

    try:
        for spec in faults:
            parse_fault(spec)
    except (BadFault, ValueError) as exc:
        fail(f"bad --fault: {exc}", EXIT_USAGE)
    if removed > articles // 2:
        fail(f"--removed {removed}: at most half the articles ({articles // 2})", EXIT_USAGE)
    try:
        run(
            port=port,
            articles=articles,
            seed=seed,
            markups=markups or MARKUPS,
            faults=faults,
            removed=removed,
        )
    except OSError as exc:
        fail(f"cannot serve on port {port}: {exc.strerror or exc}", EXIT_USAGE)


@main.command()
@click.option("--articles", default=300, show_default=True, type=click.IntRange(1, 100_000))
@click.option(
    "--db",
    default="data/demo.db",
    show_default=True,
    callback=_archive_path,
    help="Demo archive (recreated on every run; never a file demo did not make).",
)
def demo(articles: int, db: str) -> None:
    """Serve the replica, crawl it with `scrapy crawl kant`, show the archive and a search."""
    from kantkg.crawl.process import LOOPBACK_SETTINGS, scrapy_crawl_argv, scrapy_env
    from kantkg.replica import Replica

    db_path = Path(db)
    _recreate_demo_archive(db_path)
    with Replica(articles=articles) as site:
        click.echo(f"replica: {site.base_url} ({articles} generated articles + the seed)")
        argv = scrapy_crawl_argv(
            site.base_url, str(db_path), settings={**LOOPBACK_SETTINGS, "LOG_LEVEL": "WARNING"}
        )
        click.echo("$ scrapy crawl kant " + " ".join(argv[5:]))
        started = time.monotonic()
        result = subprocess.run(argv, env=scrapy_env(), check=False)
        took = time.monotonic() - started
    if result.returncode != 0:
        fail(f"scrapy crawl exited with {result.returncode}", EXIT_FAILED)
    database = open_db(str(db_path))
    count = archive.count_articles(database)
    last = archive.last_crawl(database)
    click.echo(
        f"archived {count} articles in {took:.1f} s into {click.format_filename(db_path.resolve())}"
    )
    if last:
        click.echo(
            f"crawl #{last['id']}: {last['status']}, {last['requests']} requests, "
            f"{last['new']} new, {last['dropped']} dropped"
        )
    query = "встреча Жапарова с Путиным"
    where = click.format_filename(db_path)
    click.echo(f'\n$ kantkg search "{query}" --db {where}')
    for hit in archive.search(database, query, limit=3):
        click.echo(f"  {hit['published']}  {hit['title']}\n    {hit['url']}\n    {hit['snippet']}")
    click.echo(
        f"\nThe demo's archive is {where}; its articles keep the replica's URLs, and `show`"
        " takes a kant.kg URL or a path for them too. Next (README: After make demo):\n"
        f'  .venv/bin/kantkg search "Путин OR Жапаров" --db {where}\n'
        f"  .venv/bin/kantkg show {SEED_URL} --db {where}\n"
        f"  .venv/bin/kantkg stats --db {where}\n"
        f"  .venv/bin/kantkg serve --db {where}     # Datasette on http://127.0.0.1:8001"
    )


# The one real article, at its real address (the replica serves it at the same path).
SEED_URL = f"{DEFAULT_BASE_URL}{SEED_PATH}"


DEMO_MARKER = "demo"  # a table only `kantkg demo` creates: "this archive may be replaced"


def _recreate_demo_archive(path: Path) -> None:
    """Delete the previous demo archive and create an empty, marked one -- or fail in one
    line (exit 2) when `path` holds anything else: a real archive given as --db by
    mistake must survive. The mark goes in before the crawl, so that an interrupted demo
    can still be run again."""
    refusal = _not_a_demo_archive(path)
    if refusal:
        fail(
            f"--db {click.format_filename(path)}: {refusal}; not replaced (pass another "
            "--db, or delete it yourself)",
            EXIT_USAGE,
        )
    try:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    except OSError as exc:
        fail(f"cannot replace {click.format_filename(path)}: {exc.strerror or exc}", EXIT_ARCHIVE)
    try:  # the mark first, then the schema: a file left by a failure here is marked
        path.parent.mkdir(parents=True, exist_ok=True)
        with contextlib.closing(sqlite3.connect(path)) as conn, conn:
            conn.execute(f"CREATE TABLE {DEMO_MARKER} (created TEXT NOT NULL)")
            conn.execute(f"INSERT INTO {DEMO_MARKER} VALUES (?)", [clock.now_iso()])
    except (OSError, sqlite3.Error) as exc:
        fail(f"cannot create {click.format_filename(path)}: {exc}", EXIT_ARCHIVE)
    open_db(str(path), must_exist=False).close()


def _not_a_demo_archive(path: Path) -> str | None:
    """Why the file at `path` is not a demo archive that may be replaced, or None."""
    if not path.exists():
        leftover = [f"{path}{s}" for s in ("-wal", "-shm") if Path(f"{path}{s}").exists()]
        return f"{leftover[0]} exists without its archive" if leftover else None
    if not path.is_file():
        return "not a regular file"
    try:  # read-only, as a URI: nothing is created, migrated or rolled back
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", [DEMO_MARKER]
            ).fetchone()
    except sqlite3.Error as exc:
        return f"not a demo archive ({exc})"
    return None if found else "an archive (or file) that `kantkg demo` did not create"


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> timedelta:
    """«90m», «2h», «1d», «3600» (seconds) -> timedelta."""
    m = _DURATION_RE.match(text)
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration like 90m, 2h or 1d")
    unit = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    try:
        return timedelta(**{unit[m.group(2)]: float(m.group(1))})
    except OverflowError:  # beyond timedelta's 999,999,999 days
        raise click.BadParameter(f"{text!r} is longer than {timedelta.max.days} days") from None


@main.command()
@db_option
@click.option(
    "--max-age",
    default="2h",
    show_default=True,
    help="Unhealthy when the last successful crawl finished longer ago (90m, 2h, 1d).",
)
@click.option("-v", "--verbose", is_flag=True, help="Say so when healthy too.")
def health(db: str, max_age: str, verbose: bool) -> None:
    """Nothing and exit 0 when the last crawl succeeded recently enough; else one line
    saying why and exit 1 (cron mails only then; monitors read the exit code)."""
    try:
        limit = parse_duration(max_age)
    except click.BadParameter as exc:
        fail(str(exc.message), EXIT_USAGE)
    report = archive.health(read_db(db), limit)
    if not report.healthy:
        fail(f"unhealthy: {report.message}", EXIT_FAILED)
    if verbose:  # else nothing: cron mails only when something is wrong
        click.echo(f"ok: {report.message}")
