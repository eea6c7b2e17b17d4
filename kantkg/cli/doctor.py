"""`kantkg doctor`: what the extractor makes of one page, and why.

When kant.kg changes its theme, this shows field by field which layer produced each
value, every date candidate, and each paragraph kept or removed with the reason.
"""

from __future__ import annotations

import http.client
import os
import select
import stat
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kantkg import __version__, bounds, clock, explain_article
from kantkg.extract.encoding import charset_from_content_type, detect_encoding
from kantkg.items import ArticleItem

FETCH_TIMEOUT = 30  # seconds for the whole fetch or read, not per socket operation
MAX_PAGE_BYTES = 10 * 1024 * 1024
_CHUNK = 64 * 1024


class DoctorError(Exception):
    """A page that could not be read or fetched (shown as one line)."""


@dataclass
class Diagnosis:
    url: str
    encoding: str
    item: ArticleItem | None
    not_article: str | None = None
    removed: list[tuple[str, str]] = field(default_factory=list)


def read_target(target: str, timeout: float = FETCH_TIMEOUT) -> tuple[bytes, str | None, str]:
    """-> (page bytes, declared charset, URL) from an http(s) URL or a file, at most
    MAX_PAGE_BYTES of it, all within `timeout` seconds."""
    if target.startswith(("http://", "https://")):
        return _fetch_within(target, timeout)
    data = _read_file(target, timeout)
    return data, None, Path(target).resolve().as_uri()


def _too_big(target: str) -> DoctorError:
    return DoctorError(f"{target} is larger than {MAX_PAGE_BYTES // 2**20} MB")


class _HttpRedirectsOnly(urllib.request.HTTPRedirectHandler):
    """urllib also follows redirects to ftp://; a page is only ever http(s)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):
        if not newurl.lower().startswith(("http://", "https://")):
            raise urllib.error.HTTPError(newurl, code, f"redirect to {newurl}", headers, fp)
        return super().redirect_request(req, fp, code, msg, headers, newurl)


def _fetch(target: str, timeout: float) -> tuple[bytes, str | None, str]:
    opener = urllib.request.build_opener(_HttpRedirectsOnly)
    try:
        request = urllib.request.Request(
            target, headers={"User-Agent": f"kantkg/{__version__} (doctor)"}
        )
        with opener.open(request, timeout=timeout) as response:
            data = response.read(MAX_PAGE_BYTES + 1)
            charset = charset_from_content_type(response.headers.get("Content-Type"))
            final_url = response.geturl()
    except urllib.error.HTTPError as exc:
        raise DoctorError(f"cannot fetch {target}: HTTP {exc.code} {exc.reason}") from None
    except (OSError, ValueError, http.client.HTTPException) as exc:
        raise DoctorError(f"cannot fetch {target}: {getattr(exc, 'reason', exc)}") from None
    if len(data) > MAX_PAGE_BYTES:
        raise _too_big(target)
    return data, charset, final_url


def _fetch_within(target: str, timeout: float) -> tuple[bytes, str | None, str]:
    """_fetch with an overall deadline: the socket timeout starts again with every byte,
    so a server trickling a byte a second would keep it reading for hours. The fetch runs
    in a daemon thread that is abandoned when the deadline passes."""
    outcome: dict[str, Any] = {}  # "page" or "error"

    def run() -> None:
        try:
            outcome["page"] = _fetch(target, timeout)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=run, name="kantkg-doctor-fetch", daemon=True)
    thread.start()
    thread.join(timeout)
    if thread.is_alive():
        raise DoctorError(f"cannot fetch {target}: no complete answer within {timeout:g} s")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["page"]


def _read_file(target: str, timeout: float) -> bytes:
    """At most MAX_PAGE_BYTES + 1 bytes of a file: /dev/zero, a FIFO nobody writes to or a
    directory end in a DoctorError, not in a MemoryError or a hang."""
    try:
        fd = os.open(target, os.O_RDONLY | os.O_NONBLOCK)  # a FIFO must not block the open
    except (OSError, ValueError) as exc:
        raise DoctorError(
            f"cannot read {target}: {getattr(exc, 'strerror', None) or exc}"
        ) from None
    try:
        if stat.S_ISDIR(os.fstat(fd).st_mode):
            raise DoctorError(f"cannot read {target}: Is a directory")
        data = _read_bounded(fd, time.monotonic() + timeout)
    except TimeoutError:
        raise DoctorError(f"cannot read {target}: no end of file within {timeout:g} s") from None
    except OSError as exc:
        raise DoctorError(f"cannot read {target}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if len(data) > MAX_PAGE_BYTES:
        raise _too_big(target)
    return data


def _read_bounded(fd: int, deadline: float) -> bytes:
    """Read until end of file, MAX_PAGE_BYTES + 1 bytes or the deadline (TimeoutError)."""
    chunks: list[bytes] = []
    size = 0
    while size <= MAX_PAGE_BYTES:
        remaining = deadline - time.monotonic()
        if remaining <= 0 or not select.select([fd], [], [], remaining)[0]:
            raise TimeoutError
        try:
            chunk = os.read(fd, min(_CHUNK, MAX_PAGE_BYTES + 1 - size))
        except BlockingIOError:
            continue
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def diagnose(
    data: bytes, url: str, declared: str | None = None, now: datetime | None = None
) -> Diagnosis:
    encoding = detect_encoding(data, declared)  # detected once: it is also reported
    item, reason, removed = explain_article(
        data.decode(encoding, errors="replace"), url, now or clock.now()
    )
    return Diagnosis(url=url, encoding=encoding, item=item, not_article=reason, removed=removed)


def report(d: Diagnosis) -> str:
    """The human-readable report: one field a line, the layer in brackets."""
    lines = [f"url            {d.url}", f"encoding       {d.encoding}"]
    if d.item is None:
        lines.append(f"not an article: {d.not_article}")
        return "\n".join(lines)
    item, method = d.item, d.item.get("method", {})
    if junk := bounds.junk_reason(item):  # what the crawl would do with it
        lines.append(f"not archived: {junk} (beyond kantkg.bounds)")

    def row(name: str, value, layer_key: str | None = None) -> None:
        layer = method.get(layer_key or name)
        shown = value if value not in (None, "", []) else "—"
        lines.append(f"{name:14} {shown}" + (f"  [{layer}]" if layer else ""))

    row("canonical_url", item.get("canonical_url"))
    row("title", item.get("title"))
    row("published", item.get("published"))
    row("published_utc", item.get("published_utc"), "published")
    row("modified", item.get("modified"))
    row("author", item.get("author"))
    row("section", item.get("section"))
    row("tags", ", ".join(item.get("tags") or []))
    for kind in ("published", "modified"):
        candidates = item.get("dates_raw", {}).get(kind) or []
        lines.append(f"{kind} candidates ({len(candidates)}):")
        lines += [f"  [{layer}] {text}" for layer, text in candidates]
    for warning in item.get("date_warnings") or []:
        lines.append(f"warning: {warning}")
    paragraphs = item["paragraphs"]
    lines.append(f"paragraphs kept ({len(paragraphs)})  [{method.get('paragraphs', '—')}]:")
    lines += [f"  {n:>3}. {text}" for n, text in enumerate(paragraphs, start=1)]
    lines.append(f"paragraphs removed ({len(d.removed)}):")
    lines += [f"  - {reason}: {text}" for text, reason in d.removed]
    return "\n".join(lines)
