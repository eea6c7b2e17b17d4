"""`kantkg serve`: the archive in Datasette, with titles, descriptions and canned queries.

Datasette is an optional extra (`pip install 'kantkg[serve]'`): a web UI is not needed
to crawl or search. The search rule reaches Datasette's SQL through a small plugin
(kantkg/cli/datasette_plugins) that registers `kantkg_match()`.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from importlib import resources
from pathlib import Path

from kantkg.archive import RANK

_SEARCH = f"""
select a.id, a.published, a.section, a.title, a.url
from articles_fts join articles a on a.id = articles_fts.rowid
where articles_fts match kantkg_match(:q)
order by {RANK}
limit 100
"""
_BY_MONTH = """
select substr(a.published_date, 1, 7) as month, count(*) as articles
from articles_fts join articles a on a.id = articles_fts.rowid
where articles_fts match kantkg_match(:q)
group by month order by month
"""
_BY_SECTION_YEAR = """
select substr(published_date, 1, 4) as year, section, count(*) as articles
from articles group by year, section order by year desc, articles desc
"""
_LAST_CRAWLS = """
select id, started, finished, status, requests, new, updated, dropped, errors, warnings
from crawls order by id desc limit 50
"""


def metadata(db_name: str) -> dict:
    """Datasette metadata for an archive file called `db_name` (without .db)."""
    return {
        "title": "kant.kg archive",
        "description": "Articles of kant.kg (Информационное агентство «Кант»), archived by "
        "kantkg. Search matches any grammatical form of a word (ё = е).",
        "source": "kant.kg",
        "source_url": "https://kant.kg",
        "databases": {
            db_name: {
                "tables": {
                    "articles": {
                        "description": "One row per article, keyed by canonical URL. published "
                        "is ISO 8601 with the page's offset (Asia/Bishkek when "
                        "none), published_date the local day; body holds the "
                        "paragraphs joined by blank lines; method says which "
                        "extraction layer produced each field.",
                        "sort_desc": "published_utc",
                    },
                    "articles_fts": {"hidden": True},
                    "pages": {
                        "description": "Raw page of every archived article (zlib), "
                        "for `kantkg reparse`."
                    },
                    "revisions": {"description": "Earlier title/body of articles that changed."},
                    "crawls": {"description": "One row per crawl: counts, status, warnings."},
                },
                "queries": {
                    "search": {
                        "title": "Search articles",
                        "description": 'Words in any form; "quoted phrase"; prefix*.',
                        "sql": _SEARCH,
                    },
                    "mentions_by_month": {
                        "title": "Articles mentioning X, by month",
                        "sql": _BY_MONTH,
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


def datasette_argv(db: str, host: str, port: int) -> list[str]:
    """The `datasette serve` command line for an archive, metadata written to a temp file.

    The file has a new, unguessable name each time (mkstemp: O_EXCL, mode 0600): a fixed
    name in the shared temporary directory let anyone plant a symlink there and have
    `kantkg serve` overwrite whatever it pointed to. It stays behind when Datasette
    exits (Datasette reads it after this process has become Datasette)."""
    name = Path(db).stem
    fd, meta_path = tempfile.mkstemp(prefix="kantkg-datasette-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as meta:
        meta.write(json.dumps(metadata(name), ensure_ascii=False, indent=1))
    plugins = resources.files("kantkg.cli") / "datasette_plugins"
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
        "--plugins-dir",
        str(plugins),
        "--setting",
        "sql_time_limit_ms",
        "5000",
    ]
