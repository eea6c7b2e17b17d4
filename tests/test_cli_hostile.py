"""Every `kantkg` command against hostile arguments and environment: one `kantkg: ...`
line on stderr, the documented exit code, never a traceback -- and nothing that exists
is destroyed (issue 20).

No case reaches the network: `crawl` cases fail at argument, log or archive checks,
before Scrapy starts; `doctor`'s slow page is a trickling server on 127.0.0.1.
"""

from __future__ import annotations

import contextlib
import http.server
import logging
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import pytest

from kantkg import archive
from tests.conftest import ROOT, run_kantkg

NOT_UTF8 = os.fsdecode(b"\xff")  # how Python hands a non-UTF-8 argv byte to the CLI


@pytest.fixture(scope="module")
def places(tmp_path_factory) -> dict[str, str]:
    """An archive with one article, a directory, a non-SQLite file, a FIFO, a page."""
    root = tmp_path_factory.mktemp("hostile")
    db = root / "kant.db"
    with contextlib.closing(archive.open_archive(db)) as database:
        url = "https://kant.kg/2021-05-25/vstrecha/"
        archive.upsert_article(
            database,
            {
                "url": url,
                "canonical_url": url,
                "title": "Встреча Жапарова с Путиным",
                "paragraphs": ["Садыр Жапаров встретился с Владимиром Путиным."],
                "published": "2021-05-25T10:41:23+06:00",
                "published_utc": "2021-05-25T04:41:23+00:00",
                "published_date": "2021-05-25",
                "tags": [],
                "method": {},
            },
        )
    (root / "dir").mkdir()
    (root / "junk.db").write_bytes(b"not sqlite" * 200)
    os.mkfifo(root / "fifo")
    (root / "page.html").write_text("<html><body><p>Текст.</p></body></html>")
    return {
        "db": str(db),
        "dir": str(root / "dir"),
        "junk": str(root / "junk.db"),
        "fifo": str(root / "fifo"),
        "page": str(root / "page.html"),
        "new": str(root / "new" / "k.db"),
    }


def one_line(result: subprocess.CompletedProcess, code: int) -> str:
    """The single `kantkg: ...` line of a failed command (asserting all of it)."""
    assert "Traceback" not in result.stderr, result.stderr[-3000:]
    assert result.returncode == code, result.stderr
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("kantkg: "), result.stderr
    return lines[0]


BAD_SIZES = ["abc", "nan", "inf", "-1"]

# (command line, extra environment, exit code); {name} is one of `places`.
CASES = [
    # search: non-UTF-8 text reached SQLite (UnicodeEncodeError)
    ("search x --db {db} --section " + NOT_UTF8, {}, 2),
    ("search " + NOT_UTF8 + "x --db {db}", {}, 2),
    ("search x --db {db} --limit 99999999999999999999", {}, 2),  # Click's 3 lines
    ("search x --db /dev/zero", {}, 5),
    # show: surrogates and integers beyond SQLite's 64 bits (OverflowError), ² (ValueError)
    ("show " + NOT_UTF8 + " --db {db}", {}, 2),
    ("show 99999999999999999999 --db {db}", {}, 6),
    ("show \u00b2 --db {db}", {}, 6),
    ("show " + "9" * 5000 + " --db {db}", {}, 6),
    ("show http://[::1 --db {db}", {}, 6),  # no URL at all (ValueError in urlsplit)
    # stats and friends on special files: SQLite put /dev/null-journal in /dev
    ("stats --db /dev/null", {}, 5),
    ("stats --db {fifo}", {}, 5),
    ("stats", {"KANT_DB": "{dir}"}, 5),
    ("stats", {"KANT_DB": "{dir}/" + NOT_UTF8}, 5),
    # KANT_DB_MAX_MB that is not a size (ValueError in every command opening the archive)
    *[
        (f"{command} --db {{db}}", {"KANT_DB_MAX_MB": BAD_SIZES[n % len(BAD_SIZES)]}, 2)
        for n, command in enumerate(("stats", "search x", "show 1", "export", "reparse", "health"))
    ],
    ("crawl --base-url http://127.0.0.1:9 --db {db}", {"KANT_DB_MAX_MB": "nan"}, 2),
    # export
    ("export --db {db} -o /dev/full", {}, 2),
    ("export --db {db} -o {dir}", {}, 2),
    ("export --db {db} --section " + NOT_UTF8, {}, 2),
    # health: timedelta overflow
    ("health --db {db} --max-age 99999999999d", {}, 2),
    ("health --db {db} --max-age " + "9" * 400 + "d", {}, 2),
    # crawl: refused before anything starts (no network, nothing created)
    ("crawl --db {new} --base-url http://[::1", {}, 2),
    ("crawl --db {new} --base-url kant.kg", {}, 2),
    ("crawl --db {new} --base-url ftp://x", {}, 2),
    ("crawl --db {new} --base-url file:///", {}, 2),
    ("crawl --db {new} --base-url http://x:99999", {}, 2),
    ("crawl --db {new} --base-url http://a" + NOT_UTF8, {}, 2),
    ("crawl --db {new}", {"KANT_BASE_URL": "junk"}, 2),
    ("crawl --db {new} --base-url http://127.0.0.1:9", {"KANT_CONTACT": "me" + NOT_UTF8}, 2),
    ("crawl --db {new} --base-url http://127.0.0.1:9", {"KANT_CONTACT": "a\nX-Evil: 1"}, 2),
    ("crawl --db {new} --base-url http://127.0.0.1:9 --max-error-rate nan", {}, 2),
    # every KANT_* setting that cannot be: a traceback from deep in Scrapy before
    *[
        ("crawl --db {new} --base-url http://127.0.0.1:9", {name: value}, 2)
        for name, value in (
            ("KANT_MAX_SITEMAPS", "abc"),
            ("KANT_MAX_LISTING_PAGES", "0"),
            ("KANT_GIVE_UP_AFTER", "-1"),
            ("KANT_BACKOFF_BASE", "x"),
            ("KANT_BACKOFF_MAX", "-5"),
            ("KANT_RETRY_AFTER_MAX", "nan"),
            ("KANT_MAX_ERROR_RATE", "2"),
            ("KANT_FULL", "maybe"),
            ("KANT_PROGRESS", "TRUE"),
        )
    ],
    ("crawl --db {new} --base-url http://127.0.0.1:9 --log-file /proc/x/y", {}, 2),
    ("crawl --db {new} --base-url http://127.0.0.1:9 --log-file {dir}", {}, 2),
    ("crawl --db {new} --base-url http://127.0.0.1:9 --log-file {fifo}", {}, 2),
    ("crawl --db {new} --base-url http://127.0.0.1:9 --log-file /dev/full", {}, 2),
    ("crawl --db /dev/null --base-url http://127.0.0.1:9", {}, 5),
    # doctor: unbounded reads and unparsable URLs
    ("doctor /dev/zero", {}, 4),
    ("doctor {dir}", {}, 4),
    ("doctor {fifo} --timeout 0.5", {}, 4),
    ("doctor http://[::1", {}, 4),
    ("doctor {page} --url http://[::1", {}, 2),
    ("doctor {page} --timeout nan", {}, 2),
    # serve
    ("serve --db {db} --host " + NOT_UTF8, {}, 2),
    ("serve --db {db} --port 99999", {}, 2),
    # replica
    ("replica --port 99999", {}, 2),
    ("replica --fault " + NOT_UTF8, {}, 2),
    # demo
    ("demo --db {dir}", {}, 2),
    ("demo --articles 0 --db {new}", {}, 2),
    # the group itself
    ("nosuch", {}, 2),
    ("--bogus", {}, 2),
]


@pytest.mark.parametrize(
    ("line", "env", "code"), CASES, ids=[f"{i:02}-{c[0][:50]}" for i, c in enumerate(CASES)]
)
def test_hostile_input_is_one_line_and_its_exit_code(places, line, env, code):
    args = [arg.format(**places) for arg in line.split(" ")]
    environment = {**os.environ, **{k: v.format(**places) for k, v in env.items()}}
    one_line(run_kantkg(*args, env=environment, timeout=60), code)
    assert not Path(places["new"]).parent.exists()  # nothing created for a refused command


def test_a_full_standard_output_is_one_line_exit_1(places):
    for args in (["stats", "--db", places["db"]], ["export", "--db", places["db"]], ["--help"]):
        with open("/dev/full", "w") as full:
            result = subprocess.run(
                [sys.executable, "-m", "kantkg", *args],
                cwd=ROOT,
                stdout=full,
                stderr=subprocess.PIPE,
                text=True,
                timeout=60,
                check=False,
            )
        line = one_line(result, 1)
        assert line == "kantkg: cannot write to standard output: No space left on device"


def test_nothing_existing_is_overwritten(places, tmp_path):
    real = tmp_path / "real.db"
    real.write_bytes(Path(places["db"]).read_bytes())
    before = (real.read_bytes(), real.stat().st_mtime_ns)
    # demo recreated its archive at --db, whatever was there
    line = one_line(run_kantkg("demo", "--articles", "1", "--db", str(real)), 2)
    assert "not replaced" in line
    junk = Path(places["junk"])
    one_line(run_kantkg("demo", "--articles", "1", "--db", str(junk)), 2)
    assert junk.read_bytes() == b"not sqlite" * 200
    # export -o truncated the archive it was reading
    one_line(run_kantkg("export", "--db", str(real), "-o", str(real)), 2)
    assert (real.read_bytes(), real.stat().st_mtime_ns) == before
    # a symlink planted at <db>.lock made the crawl truncate its target
    victim = tmp_path / "victim"
    victim.write_text("precious")
    Path(f"{real}.lock").symlink_to(victim)
    one_line(run_kantkg("crawl", "--db", str(real), "--base-url", "http://127.0.0.1:9"), 5)
    assert victim.read_text() == "precious"


def test_demo_replaces_only_its_own_archive_run_after_run(tmp_path):
    db = tmp_path / "demo.db"
    for _ in range(2):
        result = run_kantkg("demo", "--articles", "2", "--db", str(db), timeout=120)
        assert result.returncode == 0, result.stderr[-2000:]
        assert "archived 3 articles" in result.stdout


def test_crawl_refuses_a_bad_base_url_before_creating_anything(tmp_path):
    db = tmp_path / "k.db"
    one_line(run_kantkg("crawl", "--base-url", "http://[::1", "--db", str(db)), 2)
    assert list(tmp_path.iterdir()) == []


def test_serve_metadata_never_follows_a_planted_symlink(tmp_path):
    from kantkg.cli.serve import datasette_argv

    victim = tmp_path / "victim"
    victim.write_text("precious")
    db = tmp_path / f"hostile-{os.getpid()}-{time.monotonic_ns()}.db"  # (only its name is used)
    planted = Path(tempfile.gettempdir()) / f"kantkg-datasette-{db.stem}.json"  # the old name
    planted.symlink_to(victim)
    try:
        first = datasette_argv(str(db), "127.0.0.1", 8001)
        second = datasette_argv(str(db), "127.0.0.1", 8001)
    finally:
        planted.unlink()
    meta = Path(first[first.index("--metadata") + 1])
    assert victim.read_text() == "precious"
    assert meta != planted and meta != Path(second[second.index("--metadata") + 1])
    assert oct(meta.stat().st_mode & 0o777) == "0o600"
    assert '"title": "kant.kg archive"' in meta.read_text()
    for argv in (first, second):  # (metadata and configuration: Datasette would remove them)
        for option in ("--metadata", "--config"):
            Path(argv[argv.index(option) + 1]).unlink()


def test_serve_on_a_port_in_use_is_one_line(places):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        line = one_line(run_kantkg("serve", "--db", places["db"], "--port", str(port)), 2)
    assert "Address already in use" in line


class _Trickle(http.server.BaseHTTPRequestHandler):
    """A page that never ends: a byte a second, each resetting the socket timeout."""

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.end_headers()
        with contextlib.suppress(OSError):
            for _ in range(60):
                self.wfile.write(b"<")
                self.wfile.flush()
                time.sleep(1)

    def log_message(self, *args) -> None:
        pass


def test_doctor_on_a_trickling_page_ends_within_its_timeout():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Trickle)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        started = time.monotonic()
        result = run_kantkg(
            "doctor", f"http://127.0.0.1:{server.server_port}/slow", "--timeout", "2", timeout=30
        )
        took = time.monotonic() - started
    finally:
        server.shutdown()
        server.server_close()
    line = one_line(result, 4)
    assert "no complete answer within 2 s" in line
    assert took < 10


def test_doctor_on_a_page_dated_year_1_is_no_traceback(places):
    result = run_kantkg("doctor", places["page"], "--url", "https://kant.kg/0001-01-01/x/")
    assert "Traceback" not in result.stderr
    assert result.returncode in (0, 3, 4), result.stderr
    if result.returncode == 4:
        one_line(result, 4)


def test_a_log_that_fails_mid_crawl_is_remembered_not_printed(tmp_path, capsys):
    from kantkg.crawl.logs import log_failure, setup_logging

    root = logging.getLogger()
    level, before = root.level, list(root.handlers)
    handler = setup_logging(tmp_path / "logs" / "kantkg.log", quiet=True)
    try:
        assert log_failure(handler) is None
        full = open("/dev/full", "w", encoding="utf-8")  # noqa: SIM115 (the handler owns it)
        handler.setStream(full).close()  # the disk fills up
        for n in range(50):
            logging.getLogger("kantkg.test").info("record %d", n)
        assert log_failure(handler) == "No space left on device"
    finally:
        for installed in set(root.handlers) - set(before):
            root.removeHandler(installed)
        root.setLevel(level)
        with contextlib.suppress(OSError):
            handler.close()
    assert "Logging error" not in capsys.readouterr().err
