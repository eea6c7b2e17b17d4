"""Russian-aware search: morphology, ё/е, surnames, phrases, filters, safety."""

from __future__ import annotations

import pytest

from kantkg import archive
from kantkg.archive.sqlite import sqlite3
from kantkg.archive.textsearch import index_text, parse_query, snippet, stem
from tests.conftest import assert_index_exact


def article(n, title, body, date="2021-05-25", section="Политика"):
    url = f"https://kant.kg/{date}/a{n}/"
    return {
        "url": url,
        "canonical_url": url,
        "title": title,
        "paragraphs": body.split("\n"),
        "published": f"{date}T10:00:00+06:00",
        "published_date": date,
        "published_utc": f"{date}T04:00:00+00:00",
        "section": section,
    }


@pytest.fixture
def db(tmp_path):
    database = archive.open_archive(tmp_path / "kant.db")
    for n, (title, body, date, section) in enumerate(
        [
            (
                "Встреча Жапарова с Путиным",
                "Садыр Жапаров встретился с Владимиром Путиным.",
                "2021-05-25",
                "Политика",
            ),
            (
                "Жапарову вручили орден",
                "Президенту Жапарову вручили награду.",
                "2022-03-01",
                "Политика",
            ),
            (
                "Ёлка в Бишкеке",
                "На площади Ала-Тоо установили новогоднюю ёлку.",
                "2023-12-20",
                "Общество",
            ),
            (
                "Погода",
                "Завтра в Бишкеке дождь, сообщает Кыргызгидромет.",
                "2024-04-02",
                "Общество",
            ),
            ("Путь домой", "Путь из Оша в Бишкек занял сутки.", "2024-05-02", "Общество"),
        ]
    ):
        archive.upsert_article(database, article(n, title, body, date, section))
    yield database
    database.close()


def titles(hits):
    return sorted(h["title"] for h in hits)


@pytest.mark.parametrize("query", ["Жапаров", "Жапарова", "жапаровым", "ЖАПАРОВУ"])
def test_surname_in_any_case_finds_every_form(db, query):
    assert titles(archive.search(db, query)) == [
        "Встреча Жапарова с Путиным",
        "Жапарову вручили орден",
    ]


@pytest.mark.parametrize("query", ["Путин", "Путина", "Путину", "путиным"])
def test_putin_in_any_case_and_not_put(db, query):
    assert titles(archive.search(db, query)) == ["Встреча Жапарова с Путиным"]


def test_yo_and_ye_are_one_letter(db):
    assert titles(archive.search(db, "елка")) == ["Ёлка в Бишкеке"]
    assert titles(archive.search(db, "ёлку")) == ["Ёлка в Бишкеке"]


def test_seed_query_and_stopwords(db):
    hits = archive.search(db, "встреча с Путиным")
    assert titles(hits) == ["Встреча Жапарова с Путиным"]
    assert "[Путиным.]" in hits[0]["snippet"]


def test_phrase_and_prefix(db):
    assert titles(archive.search(db, '"Жапарову вручили"')) == ["Жапарову вручили орден"]
    assert archive.search(db, '"вручили Жапарову"') == []
    assert titles(archive.search(db, "Кыргызгидро*")) == ["Погода"]


def test_filters(db):
    assert titles(archive.search(db, "Бишкек", section="Общество", since="2024-01-01")) == [
        "Погода",
        "Путь домой",
    ]
    assert titles(archive.search(db, "Бишкек", until="2023-12-31")) == ["Ёлка в Бишкеке"]
    assert archive.search(db, "Бишкек", limit=1)[0]["title"] in {
        "Погода",
        "Путь домой",
        "Ёлка в Бишкеке",
    }


@pytest.mark.parametrize(
    "nasty",
    [
        '"',
        '"unbalanced',
        "AND OR NOT",
        "NEAR(",
        "*",
        "title:x",
        "'; DROP TABLE articles; --",
        "^",
        "x" * 5000,
        "",
    ],
)
def test_any_user_text_is_a_valid_query(db, nasty):
    archive.search(db, nasty)  # never raises
    assert db["articles"].count == 5


def test_index_and_query_share_one_rule():
    # stems first (what queries match), then dictionary and written forms unlike the stem
    assert index_text("Жапарова встретили") == "жапар встрет жапаров жапарова встретить встретили"
    assert index_text("Путин в Бишкеке") == "путин в бишкек бишкеке"
    assert index_text("ёлку") == "елк ёлка елка ёлку елку"
    assert parse_query("Жапарова встретили").match == '"жапар" "встрет"'
    assert stem("жапаров") == stem("жапар") == "жапар"
    assert snippet("раз два Путину три", parse_query("путин")) == "раз два [Путину] три"


def test_snippet_shows_the_first_window_with_most_query_words():
    filler = [f"слово{n}" for n in range(60)]
    words = filler[:10] + ["Путин"] + filler[10:30] + ["Путина", "и", "Путину"] + filler[30:]
    shown = snippet(" ".join(words), parse_query("путин"), width=8)
    assert shown == "… слово25 слово26 слово27 слово28 слово29 [Путина] и [Путину] …"
    tie = snippet("а Путин б в г Путин д е", parse_query("путин"), width=3)
    assert tie == "а [Путин] б …"  # two windows hold one match each: the first wins
    assert snippet("Путин сказал", parse_query("путин"), width=8) == "[Путин] сказал"


def test_old_schema_is_migrated(tmp_path):
    path = tmp_path / "v1.db"
    conn = sqlite3.connect(path)
    conn.executescript("""
        CREATE TABLE articles (id INTEGER PRIMARY KEY, url TEXT NOT NULL, title TEXT NOT NULL,
            published TEXT, published_utc TEXT, published_date TEXT, modified TEXT,
            modified_utc TEXT, author TEXT, section TEXT, tags TEXT, body TEXT NOT NULL,
            paragraph_count INTEGER, duplicates_removed INTEGER, boilerplate_removed INTEGER,
            method TEXT, date_warnings TEXT, content_hash TEXT, fetched_url TEXT,
            first_seen TEXT, last_seen TEXT);
        CREATE UNIQUE INDEX idx_articles_url ON articles (url);
        CREATE VIRTUAL TABLE articles_fts USING fts5 (title, body, content=[articles],
            content_rowid=[id]);
        CREATE TRIGGER articles_ai AFTER INSERT ON articles BEGIN
          INSERT INTO articles_fts (rowid, title, body) VALUES (new.id, new.title, new.body);
        END;
        CREATE TABLE pages (url TEXT PRIMARY KEY, fetched_at TEXT, status INTEGER,
            content_type TEXT, etag TEXT, last_modified TEXT, html_zlib BLOB);
        CREATE TABLE revisions (id INTEGER PRIMARY KEY, article_id INTEGER, url TEXT,
            title TEXT, body TEXT, content_hash TEXT, valid_from TEXT, replaced_at TEXT);
        CREATE TABLE crawls (id INTEGER PRIMARY KEY, started TEXT, finished TEXT,
            base_url TEXT, status TEXT, finish_reason TEXT, requests INTEGER,
            responses INTEGER, articles_seen INTEGER, new INTEGER, updated INTEGER,
            unchanged INTEGER, dropped INTEGER, errors INTEGER, stats TEXT);
        INSERT INTO articles (url, title, body) VALUES
            ('https://kant.kg/2021-05-25/a/', 'Встреча с Путиным', 'Жапаров и ёлка.');
        PRAGMA user_version = 1;
    """)
    conn.close()
    db = archive.open_archive(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == archive.SCHEMA_VERSION
    assert [h["title"] for h in archive.search(db, "жапарова елка")] == ["Встреча с Путиным"]
    assert "warnings" in db["crawls"].columns_dict
    assert db["articles"].count == 1


@pytest.mark.parametrize("query", ["Жапаров", "Бишкек", "Путин"])
def test_datasettes_canned_search_ranks_as_kantkg_search(db, query):
    """One ranking (archive.RANK): the canned query `kantkg serve` gives Datasette lists
    the hits in the order `kantkg search` does."""
    from kantkg.cli.serve import _SEARCH

    db.conn.create_function("kantkg_match", 1, lambda text: parse_query(text).match)
    canned = [row[0] for row in db.execute(_SEARCH, {"q": query})]
    assert canned == [hit["id"] for hit in archive.search(db, query, limit=100)]
    assert canned


# ------------------------------------------------- the index as other tools see it


def test_sqlite_utils_finds_the_index_and_base_forms_find_every_form(db):
    """`sqlite-utils search` and Datasette's ?_search= find articles_fts by its
    content="articles" and query it with the words as typed (no stemming of theirs): a
    word's dictionary form finds its other forms, an inflected form finds itself."""
    import sqlite_utils

    plain = sqlite_utils.Database(db.conn)
    assert plain["articles"].detect_fts() == "articles_fts"

    def found(query):
        return sorted(row["title"] for row in plain["articles"].search(query))

    both = ["Встреча Жапарова с Путиным", "Жапарову вручили орден"]
    assert found("Жапаров") == both  # (the texts say Жапарова, Жапаров, Жапарову)
    assert found("Жапарову") == ["Жапарову вручили орден"]  # an inflected form: itself
    assert found("встреча") == found("Встреча") == ["Встреча Жапарова с Путиным"]
    assert found("Путин") == ["Встреча Жапарова с Путиным"]
    assert found("Бишкек") == ["Ёлка в Бишкеке", "Погода", "Путь домой"]
    assert found("ёлка") == found("елка") == found("ёлку") == ["Ёлка в Бишкеке"]
    assert found("награда") == ["Жапарову вручили орден"]  # (the text says «награду»)


def test_edits_keep_the_index_exact(db):
    """An external-content index forgets a row only by the terms it was written with:
    after updates (one by one and twice in one batch) it matches exactly the articles'
    text, and FTS5's own integrity check passes."""
    first = article(0, "Встреча Жапарова с Токаевым", "Садыр Жапаров встретился с Токаевым.")
    archive.upsert_article(db, first)
    batch = archive.Batch(db, max_items=100, max_seconds=3600)
    again = {"date": "2022-03-01"}  # (the URL of article 1)
    batch.upsert(article(1, "Жапарову вручили медаль", "Президенту вручили медаль.", **again))
    batch.upsert(article(1, "Жапарову вручили грамоту", "Президенту вручили грамоту.", **again))
    batch.upsert(article(9, "Новость", "Совсем новая новость о Токаеве."))
    batch.upsert(article(9, "Новость дня", "Совсем новая новость о Токаеве."))
    batch.commit()
    assert titles(archive.search(db, "Путин")) == []
    assert titles(archive.search(db, "Токаев")) == ["Встреча Жапарова с Токаевым", "Новость дня"]
    assert titles(archive.search(db, "орден")) == titles(archive.search(db, "медаль")) == []
    assert titles(archive.search(db, "грамота")) == ["Жапарову вручили грамоту"]
    assert_index_exact(db)


def test_an_archive_of_schema_3_is_reindexed_on_open(tmp_path):
    """v3 indexed stems only, in a table of its own: opening migrates it to v4, whose
    index plain FTS5 readers find."""
    path = tmp_path / "old.db"
    db = archive.open_archive(path)
    archive.upsert_article(db, article(1, "Встреча с Путиным", "Путину сказали."))
    db.execute("DROP TABLE articles_fts")
    db.execute("CREATE VIRTUAL TABLE articles_fts USING fts5(title, body, tokenize='unicode61')")
    db.execute(
        "INSERT INTO articles_fts (rowid, title, body) VALUES (1, 'встреч с путин', 'путин сказа')"
    )
    db.execute("PRAGMA user_version = 3")
    db.conn.commit()
    db.close()
    db = archive.open_archive(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == archive.SCHEMA_VERSION
    assert db["articles"].detect_fts() == "articles_fts"
    assert titles(archive.search(db, "путиным")) == ["Встреча с Путиным"]
    assert [r["id"] for r in db["articles"].search("Путин")] == [1]


def test_many_excluded_words_are_one_exclusion_not_a_deep_query(db):
    """`Путин -w1 ... -w300` made a chain of 300 NOTs: deeper than FTS5's 256 (an
    OperationalError and a traceback); all exclusions are one NOT of their OR."""
    query = "Путин " + " ".join(f"-слово{n}" for n in range(300))
    assert titles(archive.search(db, query)) == ["Встреча Жапарова с Путиным"]
    assert titles(archive.search(db, query + " -Жапаров")) == []
    assert parse_query("Путин -Жапаров -Жапарова").match == '("путин") NOT "жапар"'
