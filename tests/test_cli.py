"""The kantkg command on an archive made by a real replica crawl."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from functools import partial

import pytest

from kantkg.archive import captures
from kantkg.extract.encoding import charset_from_content_type
from tests.conftest import ROOT, run_kantkg, run_scrapy_crawl

kantkg = partial(run_kantkg, timeout=120)


@pytest.fixture(scope="module")
def db(replica, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "kant.db"
    result = run_scrapy_crawl(replica.base_url, path)
    assert result.returncode == 0, result.stderr[-2000:]
    return str(path)


def test_search_finds_the_seed(db, replica):
    result = kantkg("search", "встреча Жапарова с Путиным", "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    hits = json.loads(result.stdout)
    assert hits[0]["url"] == replica.seed_article.url
    assert "match 'встреча Жапарова с Путиным'" in result.stderr


def test_search_with_fts_syntax_is_not_a_traceback(db):
    for query in ['"unbalanced', "NEAR(", "a AND OR", "*"]:
        result = kantkg("search", query, "--db", db)
        assert result.returncode == 0, result.stderr
        assert "Traceback" not in result.stderr


def test_show_by_url_and_unknown(db, replica):
    result = kantkg("show", replica.seed_article.url, "--db", db)
    assert result.returncode == 0
    assert result.stdout.startswith(replica.seed_article.title)
    assert replica.seed_article.paragraphs[-1] in result.stdout
    missing = kantkg("show", "https://kant.kg/2000-01-01/nope/", "--db", db)
    assert missing.returncode == 6
    assert missing.stderr.startswith("kantkg: no archived article")


def test_stats(db, replica):
    result = kantkg("stats", "--db", db, "--json")
    assert result.returncode == 0
    rows = {(r["group"], r["key"]): r["value"] for r in json.loads(result.stdout)}
    assert rows["archive", "articles"] == len(list(replica.truth()))
    assert (rows["last crawl", "id"], rows["last crawl", "status"]) == (1, "ok")


def test_missing_or_bad_archive_is_one_line(tmp_path):
    result = kantkg("search", "x", "--db", str(tmp_path / "none.db"))
    assert result.returncode == 5
    assert result.stderr.count("\n") == 1
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not sqlite" * 200)
    result = kantkg("stats", "--db", str(junk))
    assert result.returncode == 5 and "Traceback" not in result.stderr
    assert junk.read_bytes() == b"not sqlite" * 200  # nothing overwritten


def test_crawl_command_rejects_bad_dates(tmp_path):
    result = kantkg("crawl", "--since", "yesterday", "--db", str(tmp_path / "k.db"))
    assert result.returncode == 2
    assert "since='yesterday' is not a date" in result.stderr


def test_crawl_command_exit_code_on_unreachable_site(tmp_path):
    result = kantkg(
        "crawl", "--base-url", "http://127.0.0.1:9", "--db", str(tmp_path / "k.db"), "--no-throttle"
    )
    assert result.returncode == 8
    assert result.stderr.startswith("kantkg: site unreachable")
    assert result.stderr.count("\n") == 1


def test_doctor_on_a_replica_url_shows_fields_layers_and_removals(replica):
    seed = replica.seed_article
    result = kantkg("doctor", seed.url)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"title          {seed.title}  [jsonld]" in out
    assert "published      2021-05-25T10:41:23+06:00  [jsonld]" in out
    assert "paragraphs kept (12)  [site]:" in out
    assert "paragraphs removed (3):" in out
    assert "  - source-link: Ссылка на новость:" in out
    assert out.count("  - duplicate: ") == 2


def test_doctor_on_a_saved_file(replica, tmp_path):
    import urllib.request

    legacy = next(a for a in replica.truth() if a.markup == "legacy_cp1251")
    page = tmp_path / "page.html"
    page.write_bytes(urllib.request.urlopen(legacy.url, timeout=10).read())
    result = kantkg("doctor", str(page), "--url", legacy.url, "--json")
    assert result.returncode == 0, result.stderr
    diagnosis = json.loads(result.stdout)
    assert diagnosis["encoding"] == "cp1251"
    assert diagnosis["item"]["title"] == legacy.title
    assert diagnosis["item"]["method"]["paragraphs"] == "generic/ours"  # (vote confirmed ours)
    assert diagnosis["item"]["paragraphs"] == list(legacy.paragraphs)


def test_doctor_on_non_articles_and_unreadable_input(replica, tmp_path):
    listing = kantkg("doctor", replica.base_url + "/category/politika/")
    assert listing.returncode == 3
    assert "not an article: listing page" in listing.stdout
    missing = kantkg("doctor", str(tmp_path / "nope.html"))
    assert missing.returncode == 4
    assert missing.stderr.startswith("kantkg: cannot read") and missing.stderr.count("\n") == 1
    junk = tmp_path / "junk.html"
    junk.write_bytes(bytes(range(256)) * 50)
    result = kantkg("doctor", str(junk))
    assert result.returncode == 3 and "Traceback" not in result.stderr
    gone = kantkg("doctor", replica.base_url + "/2000-01-01/no-such-article/")
    assert gone.returncode == 4 and "404" in gone.stderr


def test_search_filters_and_csv(db, replica):
    result = kantkg(
        "search",
        "Путину",
        "--db",
        db,
        "--since",
        "2021-05-25",
        "--until",
        "2021-05-25",
        "--section",
        "Политика",
        "--csv",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "id,published,section,title,url,snippet"
    assert replica.seed_article.url in lines[1] and len(lines) == 2
    bad = kantkg("search", "x", "--db", db, "--since", "25.05.2021")
    assert bad.returncode == 2 and "since='25.05.2021' is not a date" in bad.stderr


def test_export_by_date_range(db, replica, tmp_path):
    expected = {t.url for t in replica.truth() if "2015-01-01" <= t.published[:10] <= "2019-12-31"}
    result = kantkg("export", "--db", db, "--since", "2015-01-01", "--until", "2019-12-31")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert {r["url"] for r in rows} == expected
    assert [r["published_utc"] for r in rows] == sorted(r["published_utc"] for r in rows)
    assert all(isinstance(r["tags"], list) and r["body"] for r in rows)
    out = tmp_path / "all.csv"
    result = kantkg("export", "--db", db, "-o", str(out))  # CSV: the suffix says so
    assert result.returncode == 0
    import csv

    with out.open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == len(replica.truth())


def test_stats_counts_pages_and_months(db, replica):
    result = kantkg("stats", "--db", db, "--tsv")
    lines = result.stdout.splitlines()
    assert lines[0] == "group\tkey\tvalue"
    assert f"archive\tcaptures\t{len(replica.truth())}" in lines
    assert any(line.startswith("articles by month\t") for line in lines)


def test_reparse_needs_no_network_and_records_revisions(tmp_path):

    from kantkg.archive.sqlite import sqlite3
    from kantkg.replica import Replica

    path = tmp_path / "reparse.db"
    with Replica(articles=8, seed=3) as site:
        assert run_scrapy_crawl(site.base_url, path).returncode == 0
        seed_url = site.seed_article.url
    # The replica is gone: whatever reparse does, it does from the stored pages.
    same = kantkg("reparse", "--db", str(path))
    assert same.returncode == 0, same.stderr
    assert same.stdout.strip() == "reparsed 9 pages: 9 unchanged"
    with sqlite3.connect(path) as conn:  # the page as the site sent it, edited in place
        (blob, captured, content_type) = conn.execute(
            "SELECT body, id, content_type FROM captures WHERE url = ?", [seed_url]
        ).fetchone()
        charset = charset_from_content_type(content_type) or "utf-8"
        page = captures.decode_body(blob)
        edited = page.replace("Путиным".encode(charset), "Путиным и Токаевым".encode(charset))
        conn.execute(
            "UPDATE captures SET body = ? WHERE id = ?", [captures.encode_body(edited), captured]
        )
    changed = kantkg("reparse", "--db", str(path))
    assert changed.stdout.strip() == "reparsed 9 pages: 8 unchanged, 1 updated"
    with sqlite3.connect(path) as conn:
        (title,) = conn.execute("SELECT title FROM articles WHERE url = ?", [seed_url]).fetchone()
        revisions = conn.execute("SELECT title FROM revisions").fetchall()
    assert title.endswith("Путиным и Токаевым")
    assert revisions == [
        ("Состоялась встреча Президента Садыра Жапарова с Президентом России Владимиром Путиным",)
    ]
    assert "токаев" in kantkg("search", "Токаеву", "--db", str(path)).stdout.lower()


def test_the_readmes_exit_codes_are_the_crawls():
    """One table of exit codes (kantkg.crawl.outcome): what the README promises cron is what
    `kantkg crawl` can exit with, and every failure code has its one-line meaning."""
    import re

    from kantkg.crawl import outcome

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| exit | meaning |") :]
    table = table[: table.index("\n\n")]
    documented = {int(code) for code in re.findall(r"^\| (\d+) \|", table, re.MULTILINE)}
    crawl_codes = {outcome.EXIT_OK, outcome.EXIT_USAGE, *outcome.CRAWL_EXIT_MEANINGS}
    assert documented == crawl_codes


def test_every_kant_setting_is_read_from_the_environment_under_its_own_name():
    """The README's promise: any KANT_* setting as an environment variable or `-s`."""
    from kantkg import settings

    names = [name for name in dir(settings) if name.startswith("KANT_")]
    env = {**os.environ, **{name: f"env-{name}" for name in names}}
    code = (
        "from kantkg import settings; "
        f"print(all(getattr(settings, n) == 'env-' + n for n in {names!r}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert out.stdout.strip() == "True", out.stderr
    # ... and the README's settings table names exactly these.
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme[readme.index("| name | default | meaning |") :]
    table = table[: table.index("\n\n")]
    assert sorted(re.findall(r"^\| `(KANT_[A-Z_]+)`", table, re.MULTILINE)) == sorted(names)
