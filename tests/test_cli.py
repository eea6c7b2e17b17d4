"""The kantkg command on an archive made by a real replica crawl."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_scrapy_crawl


def kantkg(*args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kantkg", *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout, check=False)


@pytest.fixture(scope="module")
def db(replica, tmp_path_factory):
    path = tmp_path_factory.mktemp("cli") / "kant.db"
    result = run_scrapy_crawl(replica.base_url, path)
    assert result.returncode == 0, result.stderr[-2000:]
    return str(path)


def test_search_finds_the_seed(db, replica):
    result = kantkg("search", "встреча Жапарова с Путиным", "--db", db, "--json")
    assert result.returncode == 0, result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert hits[0]["url"] == replica.seed_article.url


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
    result = kantkg("stats", "--db", db)
    assert result.returncode == 0
    assert f"articles: {len(list(replica.truth()))}" in result.stdout
    assert "last crawl: #1 ok" in result.stdout


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
    result = kantkg("crawl", "--base-url", "http://127.0.0.1:9", "--db", str(tmp_path / "k.db"),
                    "--no-throttle")
    assert result.returncode == 1
    assert "crawl failed" in result.stderr


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
    assert diagnosis["item"]["method"]["paragraphs"] == "generic"
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
