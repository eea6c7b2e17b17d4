"""The archive: upsert by canonical URL, revisions, crawls, search, bad files."""

import json
import sqlite3

import pytest

from kantkg import archive


def item(url="https://kant.kg/2021-05-25/vstrecha/", title="Встреча Жапарова с Путиным",
         paragraphs=("Садыр Жапаров встретился с Владимиром Путиным.", "Второй абзац."),
         **extra):
    return {"url": url, "canonical_url": url, "title": title, "paragraphs": list(paragraphs),
            "published": "2021-05-25T10:41:23+06:00", "published_utc": "2021-05-25T04:41:23+00:00",
            "published_date": "2021-05-25", "tags": ["Россия"], "method": {"title": "jsonld"},
            "duplicates_removed": 1, **extra}


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


def test_canonical_url_is_the_key_when_it_is_an_article_of_the_same_site(db):
    archive.upsert_article(db, item(url="https://kant.kg/2021-05-25/vstrecha/?utm=x",
                                    canonical_url="https://kant.kg/2021-05-25/vstrecha/"))
    archive.upsert_article(db, item())
    assert db["articles"].count == 1
    offsite = item(url="https://kant.kg/2021-05-25/drugoe/",
                   canonical_url="https://evil.example/2021-05-25/vstrecha/")
    archive.upsert_article(db, offsite)
    assert archive.get_article(db, "https://kant.kg/2021-05-25/drugoe/") is not None


def test_unarchivable_reasons():
    assert archive.unarchivable_reason(item(title="  ")) == "no-title"
    assert archive.unarchivable_reason(item(paragraphs=[])) == "no-body"
    assert archive.unarchivable_reason(item()) is None


def test_search_ranks_and_is_safe_with_fts_syntax(db):
    archive.upsert_article(db, item())
    archive.upsert_article(db, item(url="https://kant.kg/2021-05-26/drugoe/",
                                    title="Погода в Бишкеке", paragraphs=["Дождь и ветер."]))
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
    archive.finish_crawl(db, crawl_id, "ok", "finished", {"new": 3, "requests": 9},
                         {"a": 1, "kantkg/dropped/no-body": 2}, ["drift!"])
    last = archive.last_crawl(db)
    assert (last["status"], last["new"], last["requests"]) == ("ok", 3, 9)
    assert json.loads(last["dropped_reasons"]) == {"no-body": 2}
    assert json.loads(last["warnings"]) == ["drift!"]


def test_not_sqlite_and_newer_schema_are_clear_errors(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database" * 100)
    with pytest.raises(archive.ArchiveError, match="cannot open archive"):
        archive.open_archive(junk)
    newer = tmp_path / "newer.db"
    archive.open_archive(newer).execute("PRAGMA user_version = 99")
    with pytest.raises(archive.ArchiveError, match="newer"):
        archive.open_archive(newer)


def test_a_batch_commits_together_and_a_failed_article_leaves_the_rest(db, tmp_path,
                                                                        monkeypatch):
    batch = archive.Batch(db, max_items=3, max_seconds=3600)
    batch.upsert(item(url="https://kant.kg/2021-05-25/a/"))
    batch.upsert(item(url="https://kant.kg/2021-05-25/b/"))
    assert not batch.due
    other = sqlite3.connect(tmp_path / "sub" / "kant.db")
    assert other.execute("SELECT count(*) FROM articles").fetchone()[0] == 0  # not yet
    def disk_full(*_args):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(archive, "_store_page", disk_full)
    with pytest.raises(sqlite3.OperationalError):  # after its row: the savepoint undoes it
        batch.upsert(item(url="https://kant.kg/2021-05-25/c/", html=b"<html></html>"))
    monkeypatch.undo()
    batch.upsert(item(url="https://kant.kg/2021-05-25/a/"))
    assert batch.due
    assert batch.commit() == {"new": 2, "unchanged": 1}
    assert sorted(u for (u,) in other.execute("SELECT url FROM articles")) == [
        "https://kant.kg/2021-05-25/a/", "https://kant.kg/2021-05-25/b/"]
    assert other.execute("SELECT count(*) FROM articles_fts").fetchone()[0] == 2
    assert batch.commit() == {}
    other.close()
