"""Parallel ranking (kantkg.searchpool): exactly the single statement's hits, in order.

The archive here is small, so the partitioned path is forced by lowering
PARALLEL_MIN_ROWID; PARTITIONS = 3 makes an inner range (bounded on both sides) too.
"""

from __future__ import annotations

import sqlite3 as stdlib_sqlite3

import pytest
import sqlite_utils

from kantkg import archive, searchpool
from kantkg.db import sqlite3
from kantkg.replica import Corpus

QUERIES = ["Бишкек", "министр", "Жапаров", "ремонт дорог", '"ремонт дорог"', "Иссык-Куль",
           "таможенная служба", "Путин", "встреча Жапарова с Путиным", "Бишк*",
           "нет такого слова", "близнец"]
FILTERS = [{}, {"section": "Политика"}, {"since": "2020-01-01"}, {"until": "2016-12-31"},
           {"since": "2015-01-01", "until": "2022-12-31", "section": "Экономика"},
           {"since": "2999-01-01"}]


def twin(n: int) -> dict:
    """Identical text, different URL: exactly equal scores, ordered by id alone."""
    url = f"https://kant.kg/2020-02-0{1 + n % 9}/twin-{n}/"
    return {"url": url, "canonical_url": url, "title": "Близнецы", "section": "Политика",
            "paragraphs": ["Один и тот же близнец в Бишкеке."], "published_date": "2020-02-01",
            "published": "2020-02-01T10:00:00+06:00", "published_utc": "2020-02-01T04:00:00"}


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    database = archive.open_archive(tmp_path_factory.mktemp("parallel") / "kant.db")
    corpus = Corpus(240, seed=11, base_url="https://kant.kg")
    with archive.transaction(database):
        for n, path in enumerate(corpus.paths):
            archive.upsert_article(database, corpus.get(path).as_item())
            if n % 20 == 0 and n < 240:  # 12 twins spread over all ranges
                archive.upsert_article(database, twin(n))
    yield database
    database.close()
    searchpool.close_pools()


@pytest.fixture
def parallel(monkeypatch):
    """Force the partitioned path; yields a list of parallel_top's answers (None: fell back)."""
    monkeypatch.setattr(searchpool, "PARALLEL_MIN_ROWID", 0)
    monkeypatch.setattr(searchpool, "PARTITIONS", 3)
    answers = []
    real = searchpool.parallel_top

    def spy(*args, **kwargs):
        answer = real(*args, **kwargs)
        if searchpool.PARTITIONS > 1:  # not a call from single()
            answers.append(answer)
        return answer

    monkeypatch.setattr(searchpool, "parallel_top", spy)
    return answers


def single(db, query, **kwargs):
    saved = searchpool.PARTITIONS
    searchpool.PARTITIONS = 1
    try:
        return archive.search(db, query, **kwargs)
    finally:
        searchpool.PARTITIONS = saved


def test_the_archive_exercises_what_it_should(db):
    assert db["articles"].count > 240
    assert len(single(db, "Бишкек", limit=1000)) > 60  # a common word: many per range
    assert len(single(db, "близнец", limit=1000)) == 12  # exact ties


@pytest.mark.parametrize("filters", FILTERS, ids=lambda f: "-".join(f.values()) or "none")
def test_same_hits_in_the_same_order(db, parallel, filters):
    for query in QUERIES:
        for limit in (1, 10, 1000):
            expected = single(db, query, limit=limit, **filters)
            assert archive.search(db, query, limit=limit, **filters) == expected, (query, limit)
    assert parallel and all(answer is not None for answer in parallel)  # never fell back


def test_limit_beyond_every_range_returns_all_matches(db, parallel):
    everything = single(db, "министр", limit=-1)
    ids = [hit["id"] for hit in everything]
    assert archive.search(db, "министр", limit=len(ids) + 5) == everything
    assert max(ids) > 2 * (db.execute("SELECT max(id) FROM articles").fetchone()[0] // 3)
    assert parallel[-1] is not None and len(parallel[-1]) == len(ids)


def test_ties_are_ordered_by_id(db, parallel):
    twins = [hit["id"] for hit in archive.search(db, "близнецы", limit=100)]
    assert len(twins) == 12 and twins == sorted(twins)
    assert [hit["id"] for hit in archive.search(db, "близнецы", limit=5)] == twins[:5]


def test_a_row_scores_the_same_in_a_range_as_in_the_whole_table(db):
    sql = ("SELECT rowid, bm25(articles_fts, 5.0, 1.0) FROM articles_fts "
           "WHERE articles_fts MATCH ?")
    top = db.execute("SELECT max(id) FROM articles").fetchone()[0]
    for match in ('"бишкек"', '"ремонт" "дорог"', '"ремонт дорог"', '"иссык" "кул"'):
        whole = dict(db.execute(sql, [match]).fetchall())
        ranged = {}
        for lo, hi in searchpool.bounds(top, 3):
            ranged.update(db.execute(f"{sql} AND rowid >= ? AND rowid < ?",
                                     [match, lo or -1, hi or top + 1]).fetchall())
        assert whole and ranged == whole


def test_bounds_cover_every_rowid_once():
    assert searchpool.bounds(100, 2) == [(None, 51), (51, None)]
    assert searchpool.bounds(10, 3) == [(None, 4), (4, 7), (7, None)]


def test_a_failing_worker_falls_back_to_one_statement(db, parallel, monkeypatch):
    expected = single(db, "Бишкек", section="Политика")

    def broken(self):
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(searchpool.ReaderPool, "acquire", broken)
    assert archive.search(db, "Бишкек", section="Политика") == expected
    assert parallel == [None]


def test_no_parallel_path_for_memory_or_an_open_write_transaction(db, parallel):
    memory = sqlite_utils.Database(memory=True)
    assert searchpool.database_path(memory.conn) is None
    assert searchpool.parallel_top(memory.conn, "SELECT 1 AS rowid, 0 AS score WHERE 1", [],
                                   10, max_rowid=10**6) is None
    db.execute("BEGIN")
    try:  # rows written in it are visible to this connection only
        assert archive.search(db, "Бишкек") == single(db, "Бишкек")
    finally:
        db.execute("ROLLBACK")
    assert parallel[-1] is None


def test_pooled_connections_are_read_only_and_reused(db, parallel):
    archive.search(db, "Бишкек")
    pool = searchpool._pool_for(searchpool.database_path(db.conn), sqlite3.Connection)
    conn = pool.acquire()
    try:
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            conn.execute("CREATE TABLE nope (x)")
    finally:
        pool.release(conn)
    idle = list(pool._idle)
    archive.search(db, "министр")
    assert idle and set(map(id, pool._idle)) == set(map(id, idle))


def test_pooled_readers_are_opened_by_the_archives_sqlite_and_no_other(db, parallel, tmp_path):
    """Two SQLite copies with one file open in a process break each other's POSIX locks:
    readers come from kantkg.db's module, as the archive's own connection does."""
    archive.search(db, "Бишкек")
    pool = searchpool._pool_for(searchpool.database_path(db.conn), type(db.conn))
    conn = pool.acquire()
    try:
        assert type(conn) is type(db.conn) and isinstance(conn, sqlite3.Connection)
    finally:
        pool.release(conn)
    if sqlite3 is stdlib_sqlite3:
        pytest.skip("no pysqlite3 here: the archive runs on the stdlib sqlite3 itself")
    with pytest.raises(TypeError):
        searchpool.ReaderPool(str(tmp_path / "x.db"), 1, factory=stdlib_sqlite3.Connection)
    foreign = stdlib_sqlite3.connect(tmp_path / "foreign.db")  # a file of its own
    foreign.execute("CREATE TABLE t (x)")
    foreign.commit()
    try:
        assert searchpool.parallel_top(foreign, "SELECT rowid, 0 AS score FROM t WHERE 1", [],
                                       10, max_rowid=10**6) is None
    finally:
        foreign.close()
    assert not [key for key in searchpool._pools if key[1].endswith("foreign.db")]
