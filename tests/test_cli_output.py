"""One output grammar (--table --json --nl --csv --tsv) on every command that prints rows,
searches that say what they matched, and read commands that never write."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import sqlite3
import subprocess
import sys
from functools import partial

import pytest

from kantkg.replica import Replica
from tests.conftest import ROOT, run_kantkg, run_scrapy_crawl

kantkg = partial(run_kantkg, timeout=120)


@pytest.fixture(scope="module")
def site():
    with Replica(articles=40, seed=7) as replica:
        yield replica


@pytest.fixture(scope="module")
def db(site, tmp_path_factory):
    path = tmp_path_factory.mktemp("grammar") / "kant.db"
    result = run_scrapy_crawl(site.base_url, path)
    assert result.returncode == 0, result.stderr[-2000:]
    return str(path)


def parse(fmt: str, text: str) -> list[dict]:
    """Rows back from the text a format wrote (every value as that format gives it)."""
    if fmt == "json":
        return json.loads(text)
    if fmt == "nl":
        return [json.loads(line) for line in text.splitlines()]
    dialect = "excel-tab" if fmt == "tsv" else "excel"
    return list(csv.DictReader(io.StringIO(text), dialect=dialect))


COMMANDS = [
    ("search", "Путин"),
    ("stats",),
    ("export",),
    ("crawls",),
]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: c[0])
@pytest.mark.parametrize("fmt", ["json", "nl", "csv", "tsv"])
def test_every_row_command_speaks_every_format_with_the_same_rows(db, command, fmt):
    as_json = kantkg(*command, "--db", db, "--json")
    assert as_json.returncode == 0, as_json.stderr
    expected = json.loads(as_json.stdout)
    assert expected  # (something to compare)
    result = kantkg(*command, "--db", db, f"--{fmt}")
    assert result.returncode == 0, result.stderr
    rows = parse(fmt, result.stdout)
    assert len(rows) == len(expected)
    assert list(rows[0]) == list(expected[0])  # the same columns, in the same order
    if fmt in ("csv", "tsv"):  # text: values compared as text
        assert [r["id" if "id" in r else "key"] for r in rows] == [
            str(r["id" if "id" in r else "key"]) for r in expected
        ]
    else:
        assert rows == expected


@pytest.mark.parametrize("command", [*COMMANDS, ("show", "1")], ids=lambda c: c[0])
def test_table_is_aligned_columns_and_two_formats_are_refused(db, command):
    table = kantkg(*command, "--db", db, "--table")
    assert table.returncode == 0, table.stderr
    header, rule = table.stdout.splitlines()[:2]
    assert set(rule.replace(" ", "")) == {"-"} and header.split()[0] in ("id", "group", "field")
    both = kantkg(*command, "--db", db, "--csv", "--json")
    assert both.returncode == 2 and both.stderr.count("\n") == 1
    assert both.stderr.startswith("kantkg: --json and --csv: choose one output format")


def test_not_on_a_terminal_the_default_is_json_lines(db):
    result = kantkg("export", "--db", db)
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(rows) == len(json.loads(kantkg("export", "--db", db, "--json").stdout))


@pytest.mark.parametrize(
    ("name", "fmt"),
    [("a.json", "json"), ("a.jsonl", "nl"), ("a.ndjson", "nl"), ("a.csv", "csv"), ("a.TSV", "tsv")],
)
def test_export_takes_the_format_from_the_suffix(db, tmp_path, name, fmt):
    out = tmp_path / name
    result = kantkg("export", "--db", db, "-o", str(out))
    assert result.returncode == 0, result.stderr
    rows = parse(fmt, out.read_text(encoding="utf-8"))
    assert len(rows) == len(json.loads(kantkg("export", "--db", db, "--json").stdout))
    assert result.stderr.startswith(f"exported {len(rows)} articles to ")


def test_export_refuses_a_suffix_it_cannot_read_and_a_flag_wins(db, tmp_path):
    unknown = kantkg("export", "--db", db, "-o", str(tmp_path / "a.dat"))
    assert unknown.returncode == 2 and "cannot tell the format" in unknown.stderr
    assert not (tmp_path / "a.dat").exists()
    told = kantkg("export", "--db", db, "-o", str(tmp_path / "a.dat"), "--tsv")
    assert told.returncode == 0
    assert (tmp_path / "a.dat").read_text(encoding="utf-8").startswith("id\turl\t")


def test_a_closed_pipe_ends_quietly_with_exit_0(db):
    """`kantkg export | head -1`: the reader leaves; no error, no traceback, exit 0."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "kantkg", "export", "--db", db, "--nl"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stdout.readline()
    proc.stdout.close()
    _, err = proc.communicate(timeout=60)
    assert (proc.returncode, err) == (0, b"")


def test_search_says_how_many_matched_and_which_filters_applied(db, site):
    section = site.seed_article.section
    result = kantkg(
        "search",
        "Путин",
        "--db",
        db,
        "--section",
        section.lower(),
        "--since",
        "2000-01-01",
        "--limit",
        "1",
        "--nl",
    )
    assert result.returncode == 0, result.stderr
    hits = [json.loads(line) for line in result.stdout.splitlines()]
    assert len(hits) == 1 and hits[0]["section"] == section  # «политика» is «Политика»
    total = int(result.stderr.split()[0])
    assert result.stderr.rstrip("\n").endswith(
        f"match 'Путин' (section {section}, since 2000-01-01)"
        + (", the best 1 shown" if total > 1 else "")
    )
    none = kantkg("search", "Путин", "--db", db, "--until", "1990-01-02", "--nl")
    assert (none.returncode, none.stdout) == (0, "")
    assert none.stderr == "no articles match 'Путин' (until 1990-01-02)\n"


def test_an_unknown_section_lists_the_sections_there_are(db):
    result = kantkg("search", "Путин", "--db", db, "--section", "Спорт и шахматы")
    assert result.returncode == 2
    assert "no section 'Спорт и шахматы' in this archive; sections: " in result.stderr
    assert "Политика (" in result.stderr


def _urls(db: str, *query: str) -> set[str]:
    result = kantkg("search", *query, "--db", db, "--limit", "1000", "--nl")
    assert result.returncode == 0, result.stderr
    return {json.loads(line)["url"] for line in result.stdout.splitlines()}


def test_or_and_not_are_searched_not_dropped(db):
    putin, japarov = _urls(db, "Путин"), _urls(db, "Жапаров")
    assert putin and japarov and putin != japarov
    assert _urls(db, "Путин", "OR", "Жапаров") == putin | japarov
    assert _urls(db, "Путин -Жапаров") == putin - japarov
    assert _urls(db, "Путин", "-Жапаров") == putin - japarov  # (not an option)
    assert _urls(db, "Путин Жапаров") == putin & japarov
    only_not = kantkg("search", "-Жапаров", "--db", db)
    assert only_not.returncode == 2
    assert "only excludes words" in only_not.stderr


def test_show_takes_any_form_of_an_article_url(db, site):
    seed = site.seed_article
    path = seed.url.removeprefix(site.base_url)
    for form in (
        seed.url,
        seed.url.rstrip("/"),
        seed.url + "?utm_source=x",
        path,
        "https://kant.kg" + path,
    ):
        result = kantkg("show", form, "--db", db)
        assert result.returncode == 0, (form, result.stderr)
        assert result.stdout.startswith(seed.title)
    row = json.loads(kantkg("show", "https://kant.kg" + path, "--db", db, "--json").stdout)
    assert row[0]["url"] == seed.url and isinstance(row[0]["tags"], list)


def test_crawls_lists_the_runs_newest_first(db):
    rows = json.loads(kantkg("crawls", "--db", db, "--json").stdout)
    assert [r["id"] for r in rows] == sorted((r["id"] for r in rows), reverse=True)
    assert rows[0]["status"] == "ok" and rows[0]["incomplete"] == []


def _digest(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "command",
    [("search", "x"), ("show", "1"), ("stats",), ("export",), ("crawls",), ("health",)],
    ids=lambda c: c[0],
)
def test_read_commands_refuse_another_sqlite_file_and_leave_it_as_it_was(tmp_path, command):
    other = tmp_path / "notes.db"
    with sqlite3.connect(other) as conn:
        conn.execute("CREATE TABLE notes (text)")
        conn.execute("INSERT INTO notes VALUES ('mine')")
    conn.close()
    before = _digest(other)
    result = kantkg(*command, "--db", str(other))
    assert result.returncode == 5
    assert result.stderr == f"kantkg: {other} is not a kantkg archive (no articles, crawls table)\n"
    assert _digest(other) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["notes.db"]


def test_read_commands_do_not_write_the_archive(db, tmp_path):
    import shutil

    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    before = _digest(copy)
    for command in (("search", "Путин"), ("stats",), ("export",), ("crawls",), ("show", "1")):
        assert kantkg(*command, "--db", str(copy)).returncode == 0
    assert _digest(copy) == before


def _stderr_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run kantkg with stderr on a pseudo-terminal (as a person at one sees it)."""
    import fcntl
    import os
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 100, 0, 0))  # 24x100
    proc = subprocess.Popen(
        [sys.executable, "-m", "kantkg", *args],
        cwd=ROOT,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=slave,
    )
    os.close(slave)
    seen = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        seen += chunk
    os.close(master)
    return proc.wait(timeout=60), seen.decode("utf-8", "replace")


def test_export_to_a_file_shows_progress_with_a_total_only_at_a_terminal(db, tmp_path):
    total = len(json.loads(kantkg("export", "--db", db, "--json").stdout))
    code, seen = _stderr_on_a_terminal("export", "--db", db, "-o", str(tmp_path / "a.csv"))
    assert code == 0
    assert "kantkg: articles: 100%" in seen and f"{total}/{total} [" in seen
    quiet = kantkg("export", "--db", db, "-o", str(tmp_path / "b.csv"))
    assert quiet.stderr == f"exported {total} articles to {tmp_path / 'b.csv'}\n"


def test_reparse_shows_progress_with_a_total_only_at_a_terminal(db, tmp_path):
    import shutil

    copy = tmp_path / "copy.db"
    shutil.copy(db, copy)
    pages = len(json.loads(kantkg("export", "--db", db, "--json").stdout))
    code, seen = _stderr_on_a_terminal("reparse", "--db", str(copy))
    assert code == 0
    assert "kantkg: pages: 100%" in seen and f"{pages}/{pages} [" in seen
    quiet = kantkg("reparse", "--db", str(copy))
    assert quiet.stderr == "" and quiet.stdout.startswith(f"reparsed {pages} pages")


def test_a_mistyped_option_is_refused_not_searched_for(db):
    for typo in (["--limt", "3"], ["-o", "x.csv"]):
        result = kantkg("search", "Путин", *typo, "--db", db)
        assert result.returncode == 2, typo
        assert f"no such option: {typo[0]}" in result.stderr


def test_export_to_dash_is_standard_output(db, tmp_path):
    result = subprocess.run(
        [sys.executable, "-m", "kantkg", "export", "--db", db, "-o", "-", "--nl"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.count("\n") > 1
    assert not (tmp_path / "-").exists()


def test_snippets_mark_what_is_searched_not_the_dropped_little_words(db):
    hits = json.loads(kantkg("search", "встреча с Путиным", "--db", db, "--json").stdout)
    assert hits and all("[с]" not in hit["snippet"] for hit in hits)
