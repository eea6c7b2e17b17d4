"""The archive: upsert by canonical URL, revisions, crawls, search, bad files."""

import ast
import json
import random
import subprocess
import sys
from collections import Counter

import pytest
import sqlite_utils
from scrapy.exceptions import DropItem
from scrapy.utils.test import get_crawler

import kantkg.archive.sqlite
from kantkg import archive
from kantkg.archive import captures, textsearch
from kantkg.archive.sqlite import sqlite3
from kantkg.crawl import outcome
from kantkg.crawl import stats as keys
from kantkg.items import Capture
from pipelines.archive import ArchivePipeline
from spiders.extensions import CrawlLog
from tests.conftest import ROOT, assert_index_exact, indexed_articles


def item(
    url="https://kant.kg/2021-05-25/vstrecha/",
    title="Встреча Жапарова с Путиным",
    paragraphs=("Садыр Жапаров встретился с Владимиром Путиным.", "Второй абзац."),
    **extra,
):
    return {
        "url": url,
        "canonical_url": url,
        "title": title,
        "paragraphs": list(paragraphs),
        "published": "2021-05-25T10:41:23+06:00",
        "published_utc": "2021-05-25T04:41:23+00:00",
        "published_date": "2021-05-25",
        "tags": ["Россия"],
        "method": {"title": "jsonld"},
        "duplicates_removed": 1,
        **extra,
    }


@pytest.fixture
def db(tmp_path):
    database = archive.open_archive(tmp_path / "sub" / "kant.db")
    yield database
    database.close()


def test_new_then_unchanged_then_updated_with_revision(db):
    assert archive.upsert_article(db, item(), now="2026-01-01T00:00:00+00:00") == "new"
    assert archive.upsert_article(db, item(), now="2026-01-02T00:00:00+00:00") == "unchanged"
    edited = item(paragraphs=["Садыр Жапаров встретился с Владимиром Путиным в Сочи."])
    assert archive.upsert_article(db, edited, now="2026-01-03T00:00:00+00:00") == "updated"
    rows = list(db["articles"].rows)
    assert len(rows) == 1
    row = rows[0]
    assert row["first_seen"] == "2026-01-01T00:00:00+00:00"
    assert row["last_seen"] == "2026-01-03T00:00:00+00:00"
    assert row["body"].endswith("в Сочи.")
    assert row["paragraph_count"] == 1
    assert json.loads(row["tags"]) == ["Россия"]
    (revision,) = db["revisions"].rows
    assert revision["body"] == "Садыр Жапаров встретился с Владимиром Путиным.\n\nВторой абзац."


def test_spellings_of_one_article_url_are_one_row(db):
    for url in (
        "https://kant.kg/2021-05-25/vstrecha/?utm_campaign=z",
        "https://kant.kg/2021-05-25/vstrecha/?a=1",
        "https://kant.kg/2021-05-25/vstrecha",
        "HTTPS://KANT.KG/2021-05-25/vstrecha/#comments",
    ):
        archive.upsert_article(db, item(url=url, canonical_url=url))
    assert [r["url"] for r in db["articles"].rows] == ["https://kant.kg/2021-05-25/vstrecha/"]


def test_a_canonical_naming_another_article_does_not_overwrite_it(db):
    archive.upsert_article(db, item())
    hijack = item(
        url="https://kant.kg/2021-05-26/drugoe/",
        title="Другое",
        canonical_url="https://kant.kg/2021-05-25/vstrecha/",
    )
    archive.upsert_article(db, hijack)
    assert (
        archive.get_article(db, "https://kant.kg/2021-05-25/vstrecha/")["title"] == item()["title"]
    )
    assert archive.get_article(db, "https://kant.kg/2021-05-26/drugoe/")["title"] == "Другое"


def test_unarchivable_reasons():
    assert archive.unarchivable_reason(item(title="  ")) == "no-title"
    assert archive.unarchivable_reason(item(paragraphs=[])) == "no-body"
    assert archive.unarchivable_reason(item()) is None


def test_search_ranks_and_is_safe_with_fts_syntax(db):
    archive.upsert_article(db, item())
    archive.upsert_article(
        db,
        item(
            url="https://kant.kg/2021-05-26/drugoe/",
            title="Погода в Бишкеке",
            paragraphs=["Дождь и ветер."],
        ),
    )
    hits = archive.search(db, "Путин")
    assert [h["url"] for h in hits] == ["https://kant.kg/2021-05-25/vstrecha/"]
    assert "[" in hits[0]["snippet"]
    for nasty in ['"', "AND OR NOT", "путин*)", "'; DROP TABLE articles; --", "NEAR(", ""]:
        archive.search(db, nasty)  # never raises
    assert db["articles"].count == 2


def test_wal_mode_and_schema_version(db):
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == archive.SCHEMA_VERSION


def test_crawl_rows(db):
    crawl_id = archive.start_crawl(db, "https://kant.kg")
    assert archive.last_crawl(db)["status"] == "running"
    stats = {
        keys.RESPONSES: 9,
        keys.REQUESTS: 9,
        keys.articles("new"): 3,
        keys.DROPPED: 2,
        keys.dropped("no-body"): 2,
        keys.EXTRACTED: 5,
        keys.layer("title", "generic"): 5,
        keys.SITEMAPS_URLSET: 1,
    }
    archive.finish_crawl(db, crawl_id, outcome.crawl_record(stats, "finished"))
    last = archive.last_crawl(db)
    assert (last["status"], last["new"], last["requests"]) == ("ok", 3, 9)
    assert json.loads(last["dropped_reasons"]) == {"no-body": 2}
    assert json.loads(last["failures"]) == {"dropped: no-body": 2}
    assert json.loads(last["warnings"]) == [
        "title: 5 of 5 articles (100%) fell back to the generic layer or found nothing: "
        "has kant.kg changed its theme?"
    ]
    assert json.loads(last["stats"]) == stats


def test_not_sqlite_and_newer_schema_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(archive.ArchiveError, match="cannot open archive"):
        archive.open_archive(junk)
    newer = tmp_path / "newer.db"
    archive.open_archive(newer).execute("PRAGMA user_version = 99")
    with pytest.raises(archive.ArchiveError, match="newer"):
        archive.open_archive(newer)


def test_a_batch_commits_together_and_a_failed_article_leaves_the_rest(db, tmp_path, monkeypatch):
    batch = archive.Batch(db, max_items=3, max_seconds=3600)
    batch.upsert(item(url="https://kant.kg/2021-05-25/a/"))
    batch.upsert(item(url="https://kant.kg/2021-05-25/b/"))
    assert not batch.due
    other = sqlite3.connect(tmp_path / "sub" / "kant.db")
    assert other.execute("SELECT count(*) FROM articles").fetchone()[0] == 0  # not yet

    def disk_full(*_args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(kantkg.archive.writes, "add_capture", disk_full)
    page = Capture("https://kant.kg/2021-05-25/c/", "2026-07-01T00:00:00+00:00", 200, [], b"<p>")
    with pytest.raises(sqlite3.OperationalError):  # after its row: the savepoint undoes it
        batch.upsert(item(url="https://kant.kg/2021-05-25/c/", capture=page))
    monkeypatch.undo()
    batch.upsert(item(url="https://kant.kg/2021-05-25/a/"))
    assert batch.due
    assert batch.commit() == {"new": 2, "unchanged": 1}
    assert sorted(u for (u,) in other.execute("SELECT url FROM articles")) == [
        "https://kant.kg/2021-05-25/a/",
        "https://kant.kg/2021-05-25/b/",
    ]
    assert indexed_articles(other) == 2
    assert_index_exact(db)
    assert batch.commit() == {}
    other.close()


def test_a_batch_indexes_an_article_changed_within_it_by_its_last_text(db):
    batch = archive.Batch(db, max_items=10, max_seconds=3600)
    batch.upsert(item(paragraphs=["Первый текст про Бишкек."]))
    batch.upsert(item(paragraphs=["Исправленный текст про Ош."]))
    assert batch.commit() == {"new": 1, "updated": 1}
    assert [hit["snippet"] for hit in archive.search(db, "Ош")] == ["Исправленный текст про [Ош.]"]
    assert archive.search(db, "Бишкек") == []  # the first text left the index
    assert_index_exact(db)


def _unique_text(seed: int, words: int = 1500) -> str:
    """Text whose words are in no other article: each costs its own index entries."""
    rng = random.Random(seed)
    return " ".join("".join(rng.choices("абвгдежзиклмнопрстуфхцчшэюя", k=8)) for _ in range(words))


def _size_cap(db, extra_pages: int = 0) -> None:
    """A full disk: the archive may not grow past its size now (+ extra pages)."""
    pages = db.execute("PRAGMA page_count").fetchone()[0]
    db.execute(f"PRAGMA max_page_count = {pages + extra_pages}")


def _urls_and_index_rows(path) -> tuple[list[str], int]:
    """What another connection sees: the archived URLs in order, and the index's rows."""
    other = sqlite3.connect(path)
    urls = [url for (url,) in other.execute("SELECT url FROM articles ORDER BY id")]
    assert other.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    indexed = indexed_articles(other)
    other.close()
    return urls, indexed


def test_a_batch_whose_index_rows_do_not_fit_keeps_the_articles_that_do(db, tmp_path):
    """The group's index rows are written at commit. When the disk is full there, the
    group is written again article by article, and the articles that fit are kept, each
    whole (row and index row) and counted."""
    batch = archive.Batch(db, max_items=1000, max_seconds=3600)
    urls = [f"https://kant.kg/2021-05-25/a{n}/" for n in range(6)]
    for n, url in enumerate(urls):
        batch.upsert(item(url=url, paragraphs=[_unique_text(n)]))
    _size_cap(db)  # the rows are in; their index rows find no room
    with pytest.raises(archive.CommitError, match="full") as failed:
        batch.commit()
    assert not db.conn.in_transaction
    kept, indexed = _urls_and_index_rows(tmp_path / "sub" / "kant.db")
    assert 0 < failed.value.committed["new"] == len(kept) == indexed < len(urls)
    assert kept == urls[: len(kept)]  # in order, up to the first that did not fit
    assert [len(archive.search(db, _unique_text(n).split()[7])) for n in range(6)] == [1] * len(
        kept
    ) + [0] * (6 - len(kept))
    db.execute("PRAGMA max_page_count = 1000000")  # room again: the batch goes on
    batch.upsert(item(url="https://kant.kg/2021-05-25/b/"))
    assert batch.commit() == {"new": 1}
    assert _urls_and_index_rows(tmp_path / "sub" / "kant.db")[1] == len(kept) + 1


def test_a_batch_filling_the_disk_counts_exactly_what_it_kept(db, tmp_path):
    """Writing until the disk is full, however SQLite fails (the article's statement, or
    the whole open group rolled back), every article counted is archived and indexed."""
    _size_cap(db, extra_pages=40)
    batch = archive.Batch(db, max_items=1000, max_seconds=3600)
    counted: Counter[str] = Counter()
    for n in range(60):
        try:
            batch.upsert(
                item(url=f"https://kant.kg/2021-05-25/a{n}/", paragraphs=[_unique_text(n)])
            )
        except archive.CommitError as exc:
            counted += exc.committed
            break
        except sqlite3.DatabaseError:
            break
    else:
        pytest.fail("the disk never filled")
    try:
        counted += batch.commit()
    except archive.CommitError as exc:
        counted += exc.committed
    kept, indexed = _urls_and_index_rows(tmp_path / "sub" / "kant.db")
    assert 0 < counted["new"] == len(kept) == indexed
    assert kept == [f"https://kant.kg/2021-05-25/a{n}/" for n in range(len(kept))]


def test_the_archive_runs_on_kantkg_db_and_its_real_errors_are_caught(db, tmp_path):
    """pysqlite3's errors are no subclasses of the stdlib's: an `except sqlite3.X` on the
    stdlib module would let these through wherever pysqlite3 is installed."""
    assert kantkg.archive.sqlite.sqlite3 is sqlite_utils.utils.sqlite3  # one rule for both
    assert isinstance(db.conn, kantkg.archive.sqlite.sqlite3.Connection)
    db.execute("PRAGMA query_only = 1")  # every write now fails inside SQLite itself
    with pytest.raises(archive.ArchiveError, match="not writable: attempt to write a readonly"):
        archive.check_writable(db)
    assert not db.conn.in_transaction

    crawler = get_crawler(settings_dict={"KANT_DB": str(tmp_path / "sub" / "kant.db")})
    crawler.stats.open_spider()
    log = CrawlLog(crawler, str(tmp_path / "sub" / "kant.db"), "https://kant.kg")
    log.db, log.batch = db, archive.Batch(db)
    with pytest.raises(DropItem, match="archive error"):
        ArchivePipeline(log).process_item(item())
    assert crawler.stats.get_stats() == {keys.ARCHIVE_ERRORS: 1}
    assert not db.conn.in_transaction
    db.execute("PRAGMA query_only = 0")
    assert db["articles"].count == 0


def test_production_code_takes_sqlite_from_kantkg_db():
    """Never the stdlib module directly: its exceptions miss pysqlite3's, and a second
    SQLite copy with the archive open in the same process breaks its POSIX locks."""
    offenders = []
    for folder in ("kantkg", "pipelines", "spiders", "bench"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "kantkg" / "archive" / "sqlite.py":
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                names = (
                    [alias.name for alias in node.names]
                    if isinstance(node, ast.Import)
                    else [node.module]
                    if isinstance(node, ast.ImportFrom)
                    else []
                )
                if any(name and name.split(".")[0] in ("sqlite3", "pysqlite3") for name in names):
                    offenders.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert offenders == []


_STDLIB_READER = """
import json, sqlite3, sys
conn = sqlite3.connect(sys.argv[1])
conn.execute("INSERT INTO articles_fts (articles_fts) VALUES ('integrity-check')")  # or raises
print(json.dumps({
    "integrity": conn.execute("PRAGMA integrity_check").fetchall(),
    "hits": conn.execute(
        "SELECT a.url FROM articles_fts JOIN articles a ON a.id = articles_fts.rowid"
        " WHERE articles_fts MATCH ? ORDER BY bm25(articles_fts, 5.0, 1.0), a.id",
        [sys.argv[2]]).fetchall(),
}))
"""


def test_an_archive_stays_readable_by_the_stdlib_sqlite(db, tmp_path):
    """The archive is written by kantkg.archive.sqlite's SQLite (3.5x with pysqlite3); Datasette and
    the sqlite3 CLI of users may run the system's older one. Read in another process:
    two SQLite copies must not have one file open in one process."""
    archive.upsert_article(db, item())
    archive.upsert_article(
        db,
        item(
            url="https://kant.kg/2021-05-26/drugoe/",
            title="Погода в Бишкеке",
            paragraphs=["Дождь и ветер."],
        ),
    )
    archive.upsert_article(
        db,
        item(
            url="https://kant.kg/2021-05-27/tretye/",
            title="Путин о погоде",
            paragraphs=["Путину сказали."],
        ),
    )
    expected = [hit["url"] for hit in archive.search(db, "Путиным")]
    match = textsearch.parse_query("Путиным").match
    db.close()
    read = subprocess.run(
        [sys.executable, "-I", "-c", _STDLIB_READER, str(tmp_path / "sub" / "kant.db"), match],
        capture_output=True,
        text=True,
        check=False,
    )
    assert read.returncode == 0, read.stderr
    got = json.loads(read.stdout)
    assert got["integrity"] == [["ok"]]
    assert [url for (url,) in got["hits"]] == expected and len(expected) == 2


def test_get_article_by_any_spelling_and_by_impossible_ids(db):
    archive.upsert_article(db, item())
    assert archive.get_article(db, "https://kant.kg/2021-05-25/vstrecha?utm=1")["id"] == 1
    assert archive.get_article(db, "1")["id"] == 1
    for nonsense in ("99999999999999999999", "²", "１", "-1", ""):
        assert archive.get_article(db, nonsense) is None


def test_a_schema_2_archive_takes_one_spelling_per_article_url(tmp_path):
    """Schema 2 keyed rows by the canonical link or the URL fetched, query and all: the
    same article under ?utm_campaign=z was a row of its own."""
    path = tmp_path / "kant.db"
    db = archive.open_archive(path)
    one = "https://kant.kg/2021-05-25/vstrecha/"
    archive.upsert_article(db, item())
    archive.upsert_article(db, item(url="https://kant.kg/2021-05-26/drugoe/", title="Другое"))
    variants = {
        one + "?utm_campaign=z": "Старый заголовок",
        one[:-1]: item()["title"],
        "https://kant.kg/2021-05-26/drugoe?a=1": "Другое",
    }
    for n, (url, title) in enumerate(variants.items(), start=10):
        db.execute(
            "INSERT INTO articles (id, url, title, body, content_hash, first_seen,"
            " last_seen) VALUES (?, ?, ?, 'Текст.', ?, '2021', '2022')",
            [n, url, title, f"hash-{title}"],
        )
    db.execute(
        "UPDATE articles SET url = ? WHERE title = 'Другое' AND id < 10",
        ["https://kant.kg/2021-05-26/drugoe"],
    )  # no row under the one spelling yet
    db.execute("DROP TABLE unseen")
    db.execute("ALTER TABLE crawls DROP COLUMN incomplete")
    db.execute("PRAGMA user_version = 2")
    db.conn.commit()
    db.close()
    db = archive.open_archive(path)
    urls_now = sorted(r["url"] for r in db["articles"].rows)
    assert urls_now == [one, "https://kant.kg/2021-05-26/drugoe/"]
    kept = archive.get_article(db, one)
    assert kept["title"] == item()["title"]
    assert "Старый заголовок" in [r["title"] for r in db["revisions"].rows]
    assert_index_exact(db)
    assert "incomplete" in db["crawls"].columns_dict and db["unseen"].exists()


def test_the_stored_body_format_is_one_encode_decode_pair():
    """Captures' bodies are compressed in kantkg.archive.captures only: no other module
    of the archive writes or reads them (a second home would drift)."""
    page = "<html><body>Жапаров встретился с Путиным</body></html>".encode("cp1251")
    assert captures.decode_body(captures.encode_body(page)) == page
    with pytest.raises(ValueError, match="unknown capture codec"):
        captures.decode_body(captures.encode_body(page), "zstd")
    for path in (ROOT / "kantkg").rglob("*.py"):
        if path.name != "captures.py" and "replica" not in path.parts:
            code = path.read_text(encoding="utf-8")
            assert "zlib.compress(" not in code and "zlib.decompress(" not in code, path
