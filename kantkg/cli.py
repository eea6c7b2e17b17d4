"""The `kantkg` command: crawl, search, show, stats, export, reparse, serve, doctor,
replica, demo.

Every failure a user can cause ends in one line on stderr and a non-zero exit code,
never a traceback.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import click

from kantkg import archive, settings
from kantkg.discovery import BadRange, DateRange
from kantkg.outcome import (
    DEFAULT_MAX_ERROR_RATE,
    EXIT_ARCHIVE,
    EXIT_ERROR_RATE,
    EXIT_FAILED,
    EXIT_INCOMPLETE,
    EXIT_LOCKED,
    EXIT_OK,
    EXIT_UNREACHABLE,
    EXIT_USAGE,
    crawl_counts,
    exit_code,
)
from kantkg.replica.corpus import MARKUPS

EXIT_NOT_ARTICLE = 3
EXIT_UNREADABLE = 4
EXIT_NOT_FOUND = 6
EXIT_MEANINGS = {
    EXIT_FAILED: "crawl did not finish",
    EXIT_ARCHIVE: "archive not writable",
    EXIT_LOCKED: "another crawl holds the lock",
    EXIT_UNREACHABLE: "site unreachable: no request got a response",
    EXIT_ERROR_RATE: "crawl failed: too many requests failed",
    EXIT_INCOMPLETE: "crawl incomplete: part of the site was not seen (the next run retries it)",
}

def fail(message: str, code: int) -> None:
    click.echo(f"kantkg: {message}", err=True)
    sys.exit(code)


def _archive_path(_ctx, _param, value: str) -> str:
    """A file path: an SQLite URI (file:...?mode=ro) would be taken as a relative path
    and the logs and lock beside it created in a directory named `file:`."""
    if value.startswith("file:"):
        fail(f"--db {value}: give the archive's file path, not an SQLite URI", EXIT_USAGE)
    return value


db_option = click.option(
    "--db", default=settings.KANT_DB, show_default=True, envvar="KANT_DB",
    callback=_archive_path, help="Archive file (env KANT_DB).",
)


def open_db(path: str, must_exist: bool = True):
    if must_exist and not Path(path).exists():
        fail(f"no archive at {path} (run `kantkg crawl` first, or pass --db)", EXIT_ARCHIVE)
    try:
        return archive.open_archive(path)
    except archive.ArchiveError as exc:
        fail(str(exc), EXIT_ARCHIVE)


@click.group()
@click.version_option(package_name="kantkg")
def main() -> None:
    """Scrape kant.kg news into a searchable SQLite archive."""


@main.command()
@click.option("--base-url", default=settings.KANT_BASE_URL, show_default=True,
              envvar="KANT_BASE_URL", help="Site to crawl (env KANT_BASE_URL).")
@db_option
@click.option("--since", help="Backfill: articles published on or after YYYY-MM-DD.")
@click.option("--until", help="Backfill: articles published on or before YYYY-MM-DD.")
@click.option("--full", is_flag=True, help="Fetch known articles again too.")
@click.option("--log-file", type=click.Path(dir_okay=False),
              help="Rotating log file [default: logs/kantkg.log beside the archive].")
@click.option("--quiet", is_flag=True, help="Print nothing but errors (for cron).")
@click.option("--max-error-rate", default=DEFAULT_MAX_ERROR_RATE, show_default=True,
              type=click.FloatRange(0, 1), help="Exit 9 when more requests than this fail.")
@click.option("--no-throttle", is_flag=True,
              help="No politeness delays: only for the loopback replica.")
def crawl(base_url: str, db: str, since: str | None, until: str | None, full: bool,
          log_file: str | None, quiet: bool, max_error_rate: float, no_throttle: bool) -> None:
    """Run the kant spider once, incrementally; the exit code says how it went.

    0 ok, 1 crawl did not finish, 2 bad arguments, 5 archive not writable, 7 another
    crawl holds the lock, 8 site unreachable, 9 too many failed requests, 10 part of
    the site not seen (retried by the next run).
    """
    from kantkg.crawl import LOOPBACK_SETTINGS, run_in_process
    from kantkg.lock import CrawlLock, LockHeld
    from kantkg.logs import default_log_file, setup_logging

    _checked_range(since, until)
    database = open_db(db, must_exist=False)
    try:
        archive.check_writable(database)
    except archive.ArchiveError as exc:
        fail(str(exc), EXIT_ARCHIVE)
    finally:
        database.close()
    lock = CrawlLock(db)
    try:
        lock.acquire()
    except LockHeld as exc:
        fail(str(exc), EXIT_LOCKED)
    except OSError as exc:
        fail(f"cannot lock {db}: {exc.strerror or exc}", EXIT_ARCHIVE)
    try:
        log_path = log_file or default_log_file(db)
        setup_logging(log_path, quiet)
        overrides: dict[str, object] = dict(LOOPBACK_SETTINGS) if no_throttle else {}
        overrides["KANT_FULL"] = full
        overrides["KANT_PROGRESS"] = not quiet and sys.stderr.isatty()
        stats = run_in_process(base_url=base_url, db=db, since=since, until=until,
                               settings=overrides)
        code = exit_code(stats, max_error_rate)
        crawl_id = stats.get("kantkg/crawl_id")
        if crawl_id is not None:
            with contextlib.closing(archive.open_archive(db)) as database:
                archive.set_exit_code(database, crawl_id, code)
    finally:
        lock.release()
    counts = crawl_counts(stats)
    summary = (f"crawl #{crawl_id}: {counts['new']} new, {counts['updated']} updated, "
               f"{counts['dropped']} dropped, {counts['requests']} requests "
               f"({counts['article_requests']} articles), {counts['errors']} errors")
    if code != EXIT_OK:
        fail(f"{EXIT_MEANINGS[code]}; {summary} (log: {log_path})", code)
    if not quiet:
        click.echo(summary, err=True)


def _day_option(name: str):
    bound = "on or after" if name == "since" else "on or before"
    return click.option(f"--{name}", help=f"Only articles published {bound} YYYY-MM-DD.")


def _checked_range(since: str | None, until: str | None) -> DateRange:
    try:
        return DateRange.from_args(since, until)
    except BadRange as exc:
        fail(str(exc), EXIT_USAGE)


@main.command()
@click.argument("query")
@db_option
@click.option("--limit", default=10, show_default=True, type=click.IntRange(1, 1000))
@_day_option("since")
@_day_option("until")
@click.option("--section", help="Only this section (rubric), e.g. Политика.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
def search(query: str, db: str, limit: int, since: str | None, until: str | None,
           section: str | None, as_json: bool, as_csv: bool) -> None:
    """Full-text search over titles and bodies, best match first.

    Words match in any grammatical form («Путин» finds «Путина», «Путину»), ё = е.
    "Quoted words" must appear as a phrase; a trailing * searches a prefix.
    """
    rng = _checked_range(since, until)
    hits = archive.search(open_db(db), query, limit=limit, section=section,
                          since=rng.since_iso, until=rng.until_iso)
    if as_json:
        for hit in hits:
            click.echo(json.dumps(hit, ensure_ascii=False))
        return
    if as_csv:
        import csv

        writer = csv.DictWriter(sys.stdout, ["id", "published", "section", "title", "url",
                                             "snippet"], extrasaction="ignore")
        writer.writeheader()
        writer.writerows(hits)
        return
    if not hits:
        click.echo(f"no articles match {query!r}")
        return
    for hit in hits:
        click.echo(f"{hit['published'] or '?':25}  {hit['title']}")
        click.echo(f"{'':25}  {hit['url']}")
        click.echo(f"{'':25}  {hit['snippet']}")


@main.command()
@click.argument("url_or_id")
@db_option
def show(url_or_id: str, db: str) -> None:
    """Print one archived article as a reader wants it."""
    row = archive.get_article(open_db(db), url_or_id)
    if row is None:
        fail(f"no archived article {url_or_id!r}", EXIT_NOT_FOUND)
    click.echo(row["title"])
    meta = [row["published"], row["section"], row["author"]]
    click.echo(" · ".join(str(m) for m in meta if m))
    click.echo(row["url"])
    tags = json.loads(row["tags"] or "[]")
    if tags:
        click.echo("Теги: " + ", ".join(tags))
    click.echo()
    click.echo(row["body"])


@main.command()
@db_option
def stats(db: str) -> None:
    """Articles per year, month and section; pages stored; the last crawl; the size."""
    database = open_db(db)
    size = sum(Path(f"{db}{suffix}").stat().st_size for suffix in ("", "-wal")
               if Path(f"{db}{suffix}").exists())
    click.echo(f"archive: {db} ({size / 1e6:.1f} MB)")
    click.echo(f"articles: {archive.count_articles(database)}")
    click.echo(f"pages stored: {database['pages'].count}, "
               f"revisions: {database['revisions'].count}")
    groups = (("year", "substr(published_date, 1, 4)", "k"),
              ("month (latest 12)", "substr(published_date, 1, 7)", "k DESC LIMIT 12"),
              ("section", "section", "count(*) DESC"))
    for label, column, order in groups:
        click.echo(f"by {label}:")
        for value, count in database.execute(
            f"SELECT {column} AS k, count(*) FROM articles GROUP BY k ORDER BY {order}"
        ):
            click.echo(f"  {value or '?':30} {count}")
    last = archive.last_crawl(database)
    if last:
        click.echo(f"last crawl: #{last['id']} {last['status']} started {last['started']}, "
                   f"{last['new']} new, {last['updated']} updated, {last['dropped']} dropped")


@main.command()
@db_option
@_day_option("since")
@_day_option("until")
@click.option("--section", help="Only this section.")
@click.option("--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl",
              show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True),
              help="Write here instead of standard output.")
def export(db: str, since: str | None, until: str | None, section: str | None, fmt: str,
           output: str | None) -> None:
    """Export articles (oldest first) as JSON lines or CSV."""
    rng = _checked_range(since, until)
    rows = archive.export_rows(open_db(db), since=rng.since_iso, until=rng.until_iso,
                               section=section)
    count = 0
    try:
        with click.open_file(output or "-", "w", encoding="utf-8") as out:
            if fmt == "csv":
                import csv

                writer = csv.DictWriter(out, archive.EXPORT_COLUMNS)
                writer.writeheader()
                for row in rows:
                    writer.writerow({**row, "tags": ", ".join(row["tags"])})
                    count += 1
            else:
                for row in rows:
                    out.write(json.dumps(row, ensure_ascii=False) + "\n")
                    count += 1
    except OSError as exc:
        fail(f"cannot write {output}: {exc.strerror or exc}", EXIT_USAGE)
    if output:
        click.echo(f"exported {count} articles to {output}", err=True)


@main.command()
@db_option
@_day_option("since")
@_day_option("until")
def reparse(db: str, since: str | None, until: str | None) -> None:
    """Re-extract every stored raw page (no network): update changed articles, keeping
    their previous versions in `revisions`."""
    from kantkg.reparse import reparse as run_reparse

    rng = _checked_range(since, until)
    counts = run_reparse(open_db(db), since=rng.since_iso, until=rng.until_iso)
    total = sum(counts.values())
    detail = ", ".join(f"{count} {what}" for what, count in sorted(counts.items()))
    click.echo(f"reparsed {total} pages: {detail or 'nothing stored'}")


@main.command()
@db_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8001, show_default=True, type=click.IntRange(0, 65535))
def serve(db: str, host: str, port: int) -> None:
    """Browse and query the archive in Datasette (needs the `serve` extra)."""
    import importlib.util

    from kantkg.serve import datasette_argv

    if importlib.util.find_spec("datasette") is None:
        fail("Datasette is not installed: pip install 'kantkg[serve]'", EXIT_USAGE)
    open_db(db).close()  # migrate first; Datasette only reads
    argv = datasette_argv(db, host, port)
    os.execv(argv[0], argv)  # same PID: whoever started `kantkg serve` can stop it


@main.command()
@click.argument("target")
@click.option("--url", help="The page's URL when TARGET is a saved file (for URL dates).")
@click.option("--json", "as_json", is_flag=True, help="The diagnosis as one JSON object.")
def doctor(target: str, url: str | None, as_json: bool) -> None:
    """Show what the extractor makes of one page (URL or saved file) and why.

    Exit 0 for an article, 3 when the page is not an article, 4 when it cannot be read.
    """
    from kantkg.doctor import DoctorError, diagnose, read_target, report

    try:
        data, declared, found_url = read_target(target)
    except DoctorError as exc:
        fail(str(exc), EXIT_UNREADABLE)
    diagnosis = diagnose(data, url or found_url, declared)
    if as_json:
        click.echo(json.dumps({"url": diagnosis.url, "encoding": diagnosis.encoding,
                               "not_article": diagnosis.not_article, "item": diagnosis.item,
                               "removed": diagnosis.removed}, ensure_ascii=False, indent=1))
    else:
        click.echo(report(diagnosis))
    if diagnosis.item is None:
        sys.exit(EXIT_NOT_ARTICLE)


@main.command()
@click.option("--port", default=8000, show_default=True, type=click.IntRange(0, 65535),
              help="0 picks a free port.")
@click.option("--articles", default=200, show_default=True, type=click.IntRange(0, 1_000_000))
@click.option("--seed", default=1, show_default=True, type=int)
@click.option("--markup", "markups", multiple=True,
              type=click.Choice(MARKUPS),
              help="Serve only these article markups (repeatable; default: all).")
@click.option("--fault", "faults", multiple=True, metavar="KIND[=ARG][:PATTERN[:TIMES]]",
              help="Inject a fault (repeatable), e.g. status=503:article:3, truncate:article,"
                   " reset:feed. See kantkg/replica/faults.py for the kinds.")
def replica(port: int, articles: int, seed: int, markups: tuple[str, ...],
            faults: tuple[str, ...]) -> None:
    """Serve the loopback kant.kg replica on 127.0.0.1; prints its base URL first."""
    from kantkg.replica import run
    from kantkg.replica.faults import BadFault, parse_fault

    try:
        for spec in faults:
            parse_fault(spec)
    except (BadFault, ValueError) as exc:
        fail(f"bad --fault: {exc}", EXIT_USAGE)
    try:
        run(port=port, articles=articles, seed=seed, markups=markups or MARKUPS,
            faults=faults)
    except OSError as exc:
        fail(f"cannot serve on port {port}: {exc.strerror or exc}", EXIT_USAGE)


@main.command()
@click.option("--articles", default=300, show_default=True, type=click.IntRange(1, 100_000))
@click.option("--db", default="data/demo.db", show_default=True, callback=_archive_path,
              help="Demo archive (recreated on every run).")
def demo(articles: int, db: str) -> None:
    """Serve the replica, crawl it with `scrapy crawl kant`, show the archive and a search."""
    from kantkg.crawl import LOOPBACK_SETTINGS, scrapy_crawl_argv, scrapy_env
    from kantkg.replica import Replica

    db_path = Path(db)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    with Replica(articles=articles) as site:
        click.echo(f"replica: {site.base_url} ({articles} generated articles + the seed)")
        argv = scrapy_crawl_argv(site.base_url, str(db_path),
                                 settings={**LOOPBACK_SETTINGS, "LOG_LEVEL": "WARNING"})
        click.echo("$ scrapy crawl kant " + " ".join(argv[5:]))
        started = time.monotonic()
        result = subprocess.run(argv, env=scrapy_env(), check=False)
        took = time.monotonic() - started
    if result.returncode != 0:
        fail(f"scrapy crawl exited with {result.returncode}", EXIT_FAILED)
    database = open_db(str(db_path))
    count = archive.count_articles(database)
    last = archive.last_crawl(database)
    click.echo(f"archived {count} articles in {took:.1f} s into {db_path.resolve()}")
    if last:
        click.echo(f"crawl #{last['id']}: {last['status']}, {last['requests']} requests, "
                   f"{last['new']} new, {last['dropped']} dropped")
    query = "встреча Жапарова с Путиным"
    click.echo(f'\n$ kantkg search "{query}" --db {db_path}')
    for hit in archive.search(database, query, limit=3):
        click.echo(f"  {hit['published']}  {hit['title']}\n    {hit['url']}\n"
                   f"    {hit['snippet']}")


_DURATION_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*$")


def parse_duration(text: str) -> timedelta:
    """«90m», «2h», «1d», «3600» (seconds) -> timedelta."""
    m = _DURATION_RE.match(text)
    if not m:
        raise click.BadParameter(f"{text!r} is not a duration like 90m, 2h or 1d")
    unit = {"": "seconds", "s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
    return timedelta(**{unit[m.group(2)]: float(m.group(1))})


@main.command()
@db_option
@click.option("--max-age", default="2h", show_default=True,
              help="Unhealthy when the last successful crawl finished longer ago (90m, 2h, 1d).")
def health(db: str, max_age: str) -> None:
    """Exit 0 when the last crawl succeeded recently enough, else 1 and why (for monitors
    and cron MAILTO)."""
    try:
        limit = parse_duration(max_age)
    except click.BadParameter as exc:
        fail(str(exc.message), EXIT_USAGE)
    report = archive.health(open_db(db), limit)
    if report.healthy:
        click.echo(f"ok: {report.message}")
    else:
        fail(f"unhealthy: {report.message}", EXIT_FAILED)
