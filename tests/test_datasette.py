"""The archive in Datasette: plain `datasette` and sqlite-utils find it, and `kantkg serve`
(Datasette 1.x, its configuration, the kantkg plugin and templates) serves it read-only,
on 127.0.0.1, with an article page, a search page with highlighted snippets and charts.

Servers are subprocesses on ephemeral 127.0.0.1 ports, stopped by their PID."""

from __future__ import annotations

import contextlib
import hashlib
import html.parser
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from kantkg.archive.sqlite import sqlite3
from tests.conftest import ROOT, run_scrapy_crawl

pytest.importorskip("datasette", reason="Datasette is the serve extra: pip install -e '.[serve]'")

PUTIN = "Путин"  # the seed article's «Путиным» in its base form
SEED_TITLE = "Состоялась встреча Президента Садыра Жапарова с Президентом России Владимиром Путиным"


# ---------------------------------------------------------------- servers, stopped by PID


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, data: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    """(status, body) of one request; an HTTP error status is returned, not raised."""
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def fetch_json(url: str):
    status, body = fetch(url)
    assert status == 200, (url, status, body[:500])
    return json.loads(body)


@contextlib.contextmanager
def serving(argv: list[str], port: int, timeout: float = 60) -> Iterator[str]:
    """Run a server command until the block ends; yields its base URL once it answers.
    Its log goes to a file (a pipe nobody reads would stall it); it is stopped by PID."""
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=log, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + timeout
            while True:
                try:
                    with urllib.request.urlopen(f"{base}/-/versions.json", timeout=5):
                        break
                except OSError:
                    if proc.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        pytest.fail(f"{argv[:5]} did not start: {log.read()[-3000:]!r}")
                    time.sleep(0.2)
            yield base
        finally:
            os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)


def kantkg_serve(db: Path | str, port: int, *args: str) -> list[str]:
    return [sys.executable, "-m", "kantkg", "serve", "--db", str(db), "--port", str(port), *args]


def crawled_archive(replica, folder: Path) -> Path:
    path = folder / "kant.db"
    result = run_scrapy_crawl(replica.base_url, path)
    assert result.returncode == 0, result.stderr[-2000:]
    return path


@pytest.fixture(scope="module")
def archive_db(replica, tmp_path_factory) -> Path:
    return crawled_archive(replica, tmp_path_factory.mktemp("datasette"))


@pytest.fixture(scope="module")
def served(archive_db) -> Iterator[str]:
    """`kantkg serve` on the archive (no --host: the default); its URL with the database."""
    port = free_port()
    with serving(kantkg_serve(archive_db, port), port) as base:
        yield f"{base}/{archive_db.stem}"


def seed_id(db: Path, replica) -> int:
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT id FROM articles WHERE url = ?", [replica.seed_article.url])
        return row.fetchone()[0]


def q(text: str) -> str:
    return urllib.parse.quote(text)


# ---------------------------------------------------------------- the archive in other tools


def test_plain_datasette_searches_the_archive(archive_db, replica):
    """No kantkg plugin, no configuration: articles_fts is the articles' FTS index, so
    Datasette's own ?_search= finds a word's base form in its other forms."""
    port = free_port()
    argv = [sys.executable, "-m", "datasette", "serve", str(archive_db), "--port", str(port)]
    with serving(argv, port) as base:
        rows = fetch_json(f"{base}/kant/articles.json?_search={q(PUTIN)}&_shape=array")
    assert replica.seed_article.url in [row["url"] for row in rows]


def test_sqlite_utils_cli_searches_the_archive(archive_db, replica):
    result = subprocess.run(
        [sys.executable, "-m", "sqlite_utils", "search", str(archive_db), "articles", PUTIN],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert replica.seed_article.url in [row["url"] for row in json.loads(result.stdout)]


def test_the_installed_datasette_is_in_the_serve_extras_range():
    """The tests run on a Datasette the `serve` extra allows (what `make install` gets)."""
    import tomllib
    from importlib.metadata import version

    from packaging.requirements import Requirement

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    extras = pyproject["project"]["optional-dependencies"]
    for extra in ("serve", "dev"):
        for line in extras[extra]:
            requirement = Requirement(line)
            if requirement.name.startswith("datasette"):
                installed = version(requirement.name)
                assert requirement.specifier.contains(installed, prereleases=True), (
                    extra,
                    line,
                    installed,
                )


# ---------------------------------------------------------------- kantkg serve


def test_serve_searches_as_datasette_and_as_kantkg(served, replica):
    rows = fetch_json(f"{served}/articles.json?_search={q(PUTIN)}&_shape=array")
    assert replica.seed_article.url in [row["url"] for row in rows]
    hits = fetch_json(f"{served}/search.json?q={q('встреча Жапарова с Путиным')}&_shape=array")
    assert hits[0]["url"] == replica.seed_article.url
    assert "<mark>" in hits[0]["snippet"]
    index = fetch(served.rsplit("/", 1)[0] + "/")[1].decode()
    assert "<h1>kant.kg archive</h1>" in index


def test_serve_search_page_highlights_each_hit_and_links_its_article(served, archive_db, replica):
    status, body = fetch(f"{served}/search?q={q('Жапаровым')}")
    assert status == 200
    page = body.decode()
    assert "<mark>Жапаров</mark>" in page  # any form of the word, marked
    href = f'href="/{archive_db.stem}/articles/{seed_id(archive_db, replica)}"'
    assert f"<a {href}>{SEED_TITLE}</a>" in page


def test_the_readmes_sql_runs_under_serve(served):
    import re

    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index("## Datasette") :]
    sql = re.search(r"```sql\n(.*?)```", section, re.DOTALL).group(1)
    rows = fetch_json(f"{served}/-/query.json?sql={q(sql)}&_shape=array")
    assert SEED_TITLE in [row["title"] for row in rows]
    assert all("<mark>" in row["snippet"] for row in rows)


class _Article(html.parser.HTMLParser):
    """The article element of a page: its heading, meta line, body paragraphs, links."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, str]] = []
        self.paragraphs: list[str] = []
        self.heading = self.meta = ""
        self.links: list[str] = []

    def _inside(self, tag: str, cls: str = "") -> bool:
        return (
            any(t == tag and cls in c.split() for t, c in self.stack)
            if cls
            else any(t == tag for t, _ in self.stack)
        )

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag not in ("br", "img", "meta", "link", "input"):
            self.stack.append((tag, attrs.get("class") or ""))
        if tag == "a" and self._inside("article"):
            self.links.append(attrs.get("href") or "")
        if tag == "p" and self._inside("div", "body") and self._inside("article"):
            self.paragraphs.append("")

    def handle_endtag(self, tag):
        while self.stack:
            if self.stack.pop()[0] == tag:
                break

    def handle_data(self, data):
        if not self._inside("article"):
            return
        if self._inside("h1"):
            self.heading += data
        elif self._inside("p", "meta"):
            self.meta += data
        elif self._inside("div", "body") and self._inside("p"):
            self.paragraphs[-1] += data


def test_serve_shows_an_article_as_an_article(served, archive_db, replica):
    status, body = fetch(f"{served}/articles/{seed_id(archive_db, replica)}")
    assert status == 200
    page = _Article()
    page.feed(body.decode())
    assert page.heading == SEED_TITLE
    assert "2021-05-25 10:41" in page.meta and "Политика" in page.meta
    assert len(page.paragraphs) == 12
    assert page.paragraphs[0].startswith("Президент Кыргызской Республики Садыр Жапаров 24 мая")
    assert replica.seed_article.url in page.links
    assert f"<title>{SEED_TITLE}</title>" in body.decode()
    # Another table's row page stays Datasette's own.
    status, body = fetch(f"{served}/crawls/1")
    assert status == 200 and "kantkg-article" not in body.decode()


def test_serve_charts_count_articles_per_month_section_and_word(served, archive_db):
    with sqlite3.connect(archive_db) as conn:
        total, dated = conn.execute(
            "SELECT count(*), count(published_date) FROM articles"
        ).fetchone()
        sections = conn.execute("SELECT count(DISTINCT coalesce(section, '')) FROM articles")
        sections = sections.fetchone()[0]
    months = fetch_json(f"{served}/articles_by_month.json?_shape=array")
    assert sum(row["articles"] for row in months) == dated
    dates = [row["date"] for row in months]
    assert dates == sorted(dates) and len(set(dates)) == len(dates)
    index = [int(date[:4]) * 12 + int(date[5:7]) for date in dates]
    gaps = {later - earlier for earlier, later in zip(index, index[1:], strict=False)}
    assert gaps == {1}  # every month from the first to the last, none left out
    by_section = fetch_json(f"{served}/articles_by_section.json?_shape=array")
    assert sum(row["articles"] for row in by_section) == total and len(by_section) == sections
    mentions = fetch_json(f"{served}/mentions_by_month.json?q={q('Жапаровым')}&_shape=array")
    assert [row["date"] for row in mentions] == dates
    assert {"date": "2021-05-01", "articles": 1} in mentions  # «Жапаровым» finds the seed
    assert {
        row["articles"]
        for row in fetch_json(f"{served}/mentions_by_month.json?q=zzzzqqq&_shape=array")
    } == {0}
    # Each opens as a datasette-plot chart (its script is served from the package).
    for query in ("articles_by_month", "articles_by_section", "mentions_by_month"):
        page = fetch(f"{served}/{query}")[1].decode()
        assert "datasette-plot/main.min.js" in page and "_plot-mark" in page
    base = served.rsplit("/", 1)[0]
    status, script = fetch(f"{base}/-/static-plugins/datasette-plot/main.min.js")
    assert status == 200 and len(script) > 100_000


def test_serve_refuses_every_write_and_leaves_the_archive_as_it_was(served, archive_db):
    def state():
        with sqlite3.connect(f"file:{archive_db}?mode=ro", uri=True) as conn:
            counts = conn.execute(
                "SELECT (SELECT count(*) FROM articles), (SELECT count(*) FROM crawls)"
            )
            counts = counts.fetchone()
        return hashlib.sha256(archive_db.read_bytes()).hexdigest(), counts

    before = state()
    insert = "insert into crawls (status) values ('written by datasette')"
    status, body = fetch(f"{served}/-/query.json?sql={q(insert)}")
    assert status == 400 and b"must be a SELECT" in body
    row = {"url": "https://kant.kg/x/", "title": "x", "body": "x"}
    json_post = {"Content-Type": "application/json"}
    status, _ = fetch(f"{served}/articles/-/insert", json.dumps({"row": row}).encode(), json_post)
    assert status in (401, 403, 404, 405)
    status, _ = fetch(f"{served}/-/execute-write", json.dumps({"sql": insert}).encode(), json_post)
    assert status in (401, 403, 404, 405)
    status, _ = fetch(
        f"{served}/-/create", json.dumps({"table": "t", "row": {"a": 1}}).encode(), json_post
    )
    assert status in (401, 403, 404, 405)
    assert state() == before


def test_the_plugin_makes_every_archive_connection_query_only(tmp_path):
    """Underneath Datasette's permissions: a connection to a served file that the plugin
    prepared (the write connection too) refuses writes; Datasette's own databases (its
    internal one, in memory or a temporary file) are left alone."""
    from types import SimpleNamespace

    from kantkg.cli.datasette_plugins import kantkg_search

    datasette = SimpleNamespace(databases={"kant": SimpleNamespace(path=str(tmp_path / "k.db"))})
    archive_conn = sqlite3.connect(tmp_path / "k.db")
    archive_conn.execute("CREATE TABLE t (a)")
    kantkg_search.prepare_connection(archive_conn, "kant", datasette)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        archive_conn.execute("INSERT INTO t VALUES (1)")
    internal = sqlite3.connect(":memory:")
    kantkg_search.prepare_connection(internal, "__INTERNAL__", datasette)
    internal.execute("CREATE TABLE t (a)")


def test_serve_leaves_no_temporary_files(served):
    """Its metadata and configuration, written for Datasette to read, are gone once it
    has started (the plugin's startup hook)."""
    base = served.rsplit("/", 1)[0]
    read_once = fetch_json(f"{base}/-/config.json")["plugins"]["kantkg"]["read_once"]
    assert len(read_once) == 2
    assert not any(Path(path).exists() for path in read_once)


def test_serve_refuses_datasette_0x_in_one_line(monkeypatch):
    import importlib.metadata

    import click

    from kantkg.cli import serve

    monkeypatch.setattr(importlib.metadata, "version", lambda name: "0.65.5")
    with pytest.raises(
        click.UsageError, match=r"Datasette 0\.65\.5 is installed; serve needs 1\.x"
    ):
        serve.datasette_argv("kant.db", "127.0.0.1", 8001)


def test_serve_binds_to_loopback_unless_told_otherwise(served):
    """No --host: 127.0.0.1 only, so another address of this machine (127.0.0.2 stands
    for one: all of 127/8 is local) is refused."""
    port = urllib.parse.urlsplit(served).port
    with socket.socket() as s, pytest.raises(ConnectionRefusedError):
        s.settimeout(5)
        s.connect(("127.0.0.2", port))


def test_serve_sees_what_a_crawl_writes_while_it_serves(tmp_path, archive_db):
    """Served mutable (not -i): a crawl that writes the archive meanwhile is seen at once."""
    from kantkg.replica import Replica

    db = tmp_path / "kant.db"
    db.write_bytes(archive_db.read_bytes())
    port = free_port()
    with serving(kantkg_serve(db, port), port) as base:
        count = (
            f"{base}/kant/-/query.json?sql={q('select count(*) as n from articles')}&_shape=array"
        )
        before = fetch_json(count)[0]["n"]
        with Replica(articles=3, seed=11) as other:  # other URLs (another port): new rows
            assert run_scrapy_crawl(other.base_url, db).returncode == 0
        assert fetch_json(count)[0]["n"] > before
        hits = fetch_json(f"{base}/kant/search.json?q={q(PUTIN)}&_shape=array")
        assert len(hits) >= 2  # the seed, archived twice under two replicas' URLs


# ---------------------------------------------------------------- the plugin's pieces


def test_snippets_escape_the_text_and_mark_the_hits():
    from kantkg.cli.datasette_plugins.kantkg_search import kantkg_snippet, marked_html

    text = 'Встреча <b>с</b> "Путиным" & другими.\n\nПутин <script>alert(1)</script>'
    html_snippet = kantkg_snippet(text, PUTIN)
    assert "<script>" not in html_snippet and "&lt;script&gt;" in html_snippet
    assert html_snippet.count("<mark>") == 2 and "&amp;" in html_snippet
    assert marked_html(html_snippet) == html_snippet  # rendered as written, not escaped twice
    # Whatever else a cell called snippet holds is text: only <mark> passes.
    hostile = '<mark>x</mark><img src=x onerror="alert(1)"><script>y</script>'
    assert marked_html(hostile) == (
        "<mark>x</mark>&lt;img src=x onerror=&#34;alert(1)&#34;&gt;&lt;script&gt;y&lt;/script&gt;"
    )
    only_excludes = kantkg_snippet(text, "-Путин")  # nothing asked for: the text, escaped
    assert "<mark>" not in only_excludes and "&lt;script&gt;" in only_excludes
    assert kantkg_snippet(None, PUTIN) == ""


def test_paragraphs_are_the_bodys_blank_line_blocks():
    from kantkg.cli.datasette_plugins.kantkg_search import paragraphs

    assert paragraphs("Один.\n\nДва.\n\n\n\nТри.") == ["Один.", "Два.", "Три."]
    assert paragraphs(None) == [] and paragraphs("") == []
