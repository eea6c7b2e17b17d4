"""`kantkg serve`: the archive in Datasette 1.x, read-only, with an article page, a search
page with highlighted snippets and charts.

Datasette is an optional extra (`pip install 'kantkg[serve]'`): a web UI is not needed
to crawl or search. What Datasette gets, in the form 1.x reads:

- metadata (`--metadata`): titles, descriptions, source only;
- configuration (`-c`): settings, table options, the canned queries, plugin settings;
- a plugin (kantkg/cli/datasette_plugins) with the search rule inside SQL
  (`kantkg_match(q)`, `kantkg_snippet(text, q)`), the snippets' <mark>, the charts'
  default marks, and no writes on the archive's connections;
- templates (kantkg/cli/datasette/templates): the article page (`row.html`).

Charts are datasette-plot's (Observable Plot, bundled with the package: nothing is
loaded from the internet): CHARTS names the canned queries that open as a chart.

The archive is served mutable (Datasette's default: read-only connections, `mode=ro`),
not immutable (`-i`): a crawl may write it while it is served, and an immutable file is
read without locks or its WAL, so a page could show stale or torn data. Writes are
refused by Datasette's permissions and, underneath, by `PRAGMA query_only` on every
connection to the archive (the plugin).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

import click

from kantkg.archive import RANK

# The search, ranked as `kantkg search` ranks (tests/test_search.py compares them); the
# canned query adds each hit's snippet to the same statement.
_SEARCH_FROM = f"""
from articles_fts join articles a on a.id = articles_fts.rowid
where articles_fts match kantkg_match(:q)
order by {RANK}
limit 100
"""
_SEARCH = "select a.id, a.published, a.section, a.title, a.url" + _SEARCH_FROM
_SEARCH_WITH_SNIPPETS = (
    "select a.id, a.published, a.section, a.title, kantkg_snippet(a.body, :q) as snippet, a.url"
    + _SEARCH_FROM
)


def _per_month(counted: str) -> str:
    """Every month from the archive's first to its last (none left out, so a line over
    time is honest), `articles` counted by `counted` (a select of month, n)."""
    return f"""
with recursive months(month) as (
  select substr(min(published_date), 1, 7) from articles
  union all
  select strftime('%Y-%m', month || '-01', '+1 month') from months
  where month < (select substr(max(published_date), 1, 7) from articles)
),
counted(month, n) as ({counted})
select months.month || '-01' as date, coalesce(counted.n, 0) as articles
from months left join counted on counted.month = months.month
where months.month is not null
order by date
"""


_BY_MONTH = _per_month(
    "select substr(published_date, 1, 7), count(*) from articles group by 1",
)
_MENTIONS_BY_MONTH = _per_month(
    "select substr(a.published_date, 1, 7), count(*) "
    "from articles_fts join articles a on a.id = articles_fts.rowid "
    "where articles_fts match kantkg_match(:q) group by 1",
)
_BY_SECTION = """
select coalesce(section, '') as section, count(*) as articles
from articles group by 1 order by articles desc, section
"""
_BY_SECTION_YEAR = """
select substr(published_date, 1, 4) as year, section, count(*) as articles
from articles group by year, section order by year desc, articles desc
"""
_LAST_CRAWLS = """
select id, started, finished, status, requests, new, updated, dropped, errors, warnings
from crawls order by id desc limit 50
"""

# Canned queries that open as a chart: datasette-plot's marks (its `_plot-mark` URL
# parameter). A column called `date` is read as a date (a time axis).
CHARTS: dict[str, dict] = {
    "articles_by_month": {"mark": "line-y", "options": {"x": "date", "y": "articles"}},
    "articles_by_section": {"mark": "bar-y", "options": {"x": "section", "y": "articles"}},
    "mentions_by_month": {"mark": "line-y", "options": {"x": "date", "y": "articles"}},
}


def metadata(db_name: str) -> dict:
    """Datasette metadata for an archive file called `db_name` (without .db): titles,
    descriptions and the source, which is all Datasette 1.x reads from metadata."""
    links = " · ".join(
        f'<a href="/{db_name}/{query}">{title}</a>'
        for query, title in [
            ("search", "Search"),
            ("articles_by_month", "Articles per month"),
            ("articles_by_section", "Articles per section"),
            ("mentions_by_month?q=%D0%9F%D1%83%D1%82%D0%B8%D0%BD", "Mentions of a word"),
        ]
    )
    return {
        "title": "kant.kg archive",
        "description_html": "Articles of kant.kg (Информационное агентство «Кант»), archived "
        "by kantkg. Search matches any grammatical form of a word (ё = е).<br>" + links,
        "source": "kant.kg",
        "source_url": "https://kant.kg",
        "databases": {
            db_name: {
                "tables": {
                    "articles": {
                        "description": "One row per article, keyed by canonical URL. published "
                        "is ISO 8601 with the page's offset (Asia/Bishkek when none), "
                        "published_date the local day; body holds the paragraphs joined by "
                        "blank lines; method says which extraction layer produced each field. "
                        "?_search= finds a word's base form in any of its forms.",
                    },
                    "captures": {
                        "description": "Every fetched article response as received: "
                        "status, headers, body (zlib; NULL for a revisit: a 304 or the same "
                        "payload as the capture revisit_of), WARC payload digest. "
                        "`kantkg reparse` reads them; `kantkg export --warc` writes them out.",
                    },
                    "revisions": {"description": "Earlier title/body of articles that changed."},
                    "crawls": {"description": "One row per crawl: counts, status, warnings."},
                },
            }
        },
    }


def config(db_name: str) -> dict:
    """Datasette 1.x configuration (`datasette.yaml`, given as JSON) for the archive
    `db_name`: settings, table options and the canned queries."""
    return {
        "settings": {"sql_time_limit_ms": 5000},
        "databases": {
            db_name: {
                "tables": {
                    "articles": {"sort_desc": "published_utc", "label_column": "title"},
                    "articles_fts": {"hidden": True},
                    "captures": {"hidden": False, "sort_desc": "fetched_at"},
                },
                "queries": {
                    "search": {
                        "title": "Search articles",
                        "description": 'Words in any form; "quoted phrase"; prefix*; '
                        "OR between words; -word excludes.",
                        "sql": _SEARCH_WITH_SNIPPETS,
                        "hide_sql": True,
                    },
                    "articles_by_month": {
                        "title": "Articles per month",
                        "sql": _BY_MONTH,
                        "hide_sql": True,
                    },
                    "articles_by_section": {
                        "title": "Articles per section",
                        "sql": _BY_SECTION,
                        "hide_sql": True,
                    },
                    "mentions_by_month": {
                        "title": "Articles mentioning a word, per month",
                        "description": "The word in any of its forms, as search finds it.",
                        "sql": _MENTIONS_BY_MONTH,
                        "hide_sql": True,
                    },
                    "articles_by_year_and_section": {
                        "title": "Articles by year and section",
                        "sql": _BY_SECTION_YEAR,
                    },
                    "last_crawls": {"title": "Last crawls", "sql": _LAST_CRAWLS},
                },
            }
        },
    }


def datasette_problem() -> str | None:
    """Why the installed Datasette cannot serve the archive, if it cannot: 0.x reads
    another configuration (`-c` there is a setting, canned queries live in metadata)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        installed = version("datasette")
    except PackageNotFoundError:
        return "Datasette is not installed: pip install 'kantkg[serve]'"
    if installed.split(".")[0] == "0":
        return f"Datasette {installed} is installed; serve needs 1.x: pip install 'kantkg[serve]'"
    return None


def _private_file(prefix: str) -> tuple[int, str]:
    """A new file of an unguessable name (mkstemp: O_EXCL, mode 0600): a fixed name in the
    shared temporary directory let anyone plant a symlink there and have `kantkg serve`
    overwrite whatever it pointed to."""
    return tempfile.mkstemp(prefix=prefix, suffix=".json")


def _write(fd: int, content: dict) -> None:
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(json.dumps(content, ensure_ascii=False, indent=1))


def datasette_argv(db: str, host: str, port: int) -> list[str]:
    """The `datasette serve` command line for an archive, its metadata and configuration
    written to temporary files (Datasette reads them after this process has become
    Datasette; the plugin removes them once Datasette has started: `read_once`)."""
    problem = datasette_problem()
    if problem:
        raise click.UsageError(problem)
    name = Path(db).stem
    meta_fd, meta_path = _private_file("kantkg-datasette-")
    config_fd, config_path = _private_file("kantkg-datasette-config-")
    _write(meta_fd, metadata(name))
    settings = config(name)
    settings["plugins"] = {"kantkg": {"read_once": [meta_path, config_path]}}
    _write(config_fd, settings)
    cli = resources.files("kantkg.cli")
    return [
        sys.executable,
        "-m",
        "datasette",
        "serve",
        str(db),
        "--host",
        host,
        "--port",
        str(port),
        "--metadata",
        meta_path,
        "--config",
        config_path,
        "--plugins-dir",
        str(cli / "datasette_plugins"),
        "--template-dir",
        str(cli / "datasette" / "templates"),
    ]
