"""The loopback HTTP server: kant.kg's URL space, served from a Corpus.

Stdlib only (ThreadingHTTPServer, HTTP/1.1 keep-alive), bound to 127.0.0.1. Routes
follow a WordPress + Yoast site: /robots.txt, /sitemap_index.xml, /post-sitemapN.xml,
/feed/, /, /page/N/, /category/<slug>/[page/N/], /tag/<slug>/, /?s=, article
permalinks /YYYY-MM-DD/<slug>/ (no trailing slash -> 301), 404 for anything else.
Article pages carry ETag and Last-Modified and answer conditional GETs with 304.
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import re
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import format_datetime, parsedate_to_datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from kantkg.replica import render
from kantkg.replica.corpus import MARKUPS, SECTIONS, ArticleTruth, Corpus, translit
from kantkg.replica.faults import (
    BODY_MARKER,
    MAX_REQUEST_HEADERS,
    PDF_BYTES,
    PNG_BYTES,
    Fault,
    add_robots_sitemap,
    bad_feed_dates,
    bad_xml,
    cookie_arg,
    cookie_headers,
    feed_variants,
    gzip_bomb,
    index_chain,
    junk_paragraphs,
    junk_title,
    listing_variants,
    mangle_html,
    nested_body,
    nested_texts,
    parse_fault,
    put_body,
    set_canonical,
    swap_charset,
)
from kantkg.replica.webarchive import WEBARCHIVE_PREFIX, Headers, WebArchive

NGINX_400 = (
    b"<html>\r\n<head><title>400 Request Header Or Cookie Too Large</title></head>\r\n"
    b"<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n<center>Request Header"
    b" Or Cookie Too Large</center>\r\n<hr><center>nginx</center>\r\n</body>\r\n"
    b"</html>\r\n"
)
PER_PAGE = 10
PER_SITEMAP = 1000
FEED_SIZE = 20
RELATED = 5
FRONT_HEADING = "Новости Кыргызстана"
STATIC_PAGES = {"/about/": "О нас", "/contacts/": "Контакты", "/reklama/": "Реклама"}

_PAGED_RE = re.compile(
    r"^(?P<prefix>/|/category/[a-z0-9-]+/|/tag/[a-z0-9-]+/)"
    r"(?:page/(?P<page>\d+)/)?$"
)
_POST_SITEMAP_RE = re.compile(r"^/post-sitemap(?P<n>\d*)\.xml$")


class Response:
    __slots__ = ("status", "body", "content_type", "headers", "extra")

    def __init__(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type
        self.headers = headers or {}
        self.extra: list[tuple[str, str]] = []  # repeated headers (Set-Cookie)


def _html(text: str, status: int = 200) -> Response:
    return Response(status, text.encode("utf-8"), "text/html; charset=UTF-8")


def _xml(text: str, content_type: str = "application/xml; charset=UTF-8") -> Response:
    return Response(200, text.encode("utf-8"), content_type)


class Site:
    """Routing and page assembly; no sockets, so it is cheap to test directly."""

    def __init__(
        self,
        corpus: Corpus,
        base_url: str,
        sitemaps: bool = True,
        robots_disallow: tuple[str, ...] = (),
    ) -> None:
        self.corpus = corpus
        self.base = base_url
        self.sitemaps = sitemaps  # False: a site without sitemaps (listings only)
        self.robots_disallow = robots_disallow  # extra Disallow: lines in robots.txt
        self._webarchive: WebArchive | None = None
        self._webarchive_lock = threading.Lock()

    @property
    def webarchive(self) -> WebArchive:
        """The public web archive that crawled this site (built at first use, then kept:
        a snapshot of the site at that moment)."""
        with self._webarchive_lock:
            if self._webarchive is None:
                self._webarchive = WebArchive(self)
            return self._webarchive

    # ------------------------------------------------------------- helpers

    def _related(self, path: str) -> list[tuple[str, str]]:
        """The five articles published before this one (a sidebar's "latest news")."""
        paths = self.corpus.paths
        where = self.corpus.position(path)
        after = where if self.corpus.is_removed(path) else where + 1  # not among paths
        chosen = paths[max(0, where - RELATED) : where] or paths[after : after + RELATED]
        return [(p, self.corpus.meta(p)["title"]) for p in chosen]

    def _listing(self, heading: str, prefix: str, paths: list[str], page: int) -> Response:
        start = (page - 1) * PER_PAGE
        if page > 1 and start >= len(paths):
            return self.not_found()
        next_page = page + 1 if start + PER_PAGE < len(paths) else None
        return self._listing_page(heading, prefix, self._entries(paths, page), page, next_page)

    def _entries(self, paths: list[str], page: int) -> list[tuple[str, str, str]]:
        """(path, title, excerpt) of one listing page's articles."""
        chunk = paths[(page - 1) * PER_PAGE : page * PER_PAGE]
        return [
            (p, self.corpus.meta(p)["title"], self.corpus.get(p).paragraphs[0][:180]) for p in chunk
        ]

    def _page_url(self, prefix: str, page: int) -> str:
        return f"{self.base}{prefix}" + (f"page/{page}/" if page > 1 else "")

    def _listing_page(
        self,
        heading: str,
        prefix: str,
        entries: list[tuple[str, str, str]],
        page: int,
        next_page: int | None,
    ) -> Response:
        next_url = self._page_url(prefix, next_page) if next_page else None
        prev_url = self._page_url(prefix, page - 1) if page > 1 else None
        title = heading if page == 1 else f"{heading} — страница {page}"
        return _html(render.listing_page(self.base, title, entries, next_url, prev_url))

    def front_page(self, page: int, listed: int, next_page: int | None) -> Response:
        """Front-page listing number `page` showing listing `listed`'s articles and
        linking to `next_page` (1 is /): the pagination faults' pages."""
        entries = self._entries(self.corpus.newest_first(), listed)
        return self._listing_page(FRONT_HEADING, "/", entries, page, next_page)

    def not_found(self) -> Response:
        return _html(render.not_found_page(self.base), status=404)

    # --------------------------------------------------------------- pages

    def article(self, truth: ArticleTruth) -> Response:
        body, charset = render.article_page(truth, self.base, self._related(truth.path))
        changed = truth.modified_dt.astimezone(UTC)
        return Response(
            200,
            body,
            f"text/html; charset={charset}",
            {
                "ETag": '"' + hashlib.sha1(body).hexdigest()[:20] + '"',
                "Last-Modified": format_datetime(changed, usegmt=True),
            },
        )

    def rebuilt_article(
        self, truth: ArticleTruth, title: str | None = None, body: str | bytes | None = None
    ) -> Response:
        """The article page with another title and/or another text block (HTML, put where
        the paragraphs go in its markup): the junk and nesting faults' pages."""
        changes: dict = {"title": title} if title is not None else {}
        if body is not None:
            changes.update(paragraphs=(BODY_MARKER,), repeated=(), source_line=None)
        page, charset = render.article_page(
            replace(truth, **changes), self.base, self._related(truth.path)
        )
        if body is not None:
            raw = body if isinstance(body, bytes) else body.encode(charset, "xmlcharrefreplace")
            page = put_body(page, raw)
        return Response(200, page, f"text/html; charset={charset}")

    def other_article(self, path: str) -> str:
        """The first article of the corpus that is not this one."""
        return next(p for p in self.corpus.paths if p != path)

    def sitemap_chunks(self) -> list[list[str]]:
        paths = self.corpus.paths
        return [paths[i : i + PER_SITEMAP] for i in range(0, len(paths), PER_SITEMAP)] or [[]]

    def _lastmod(self, path: str) -> datetime:
        meta = self.corpus.meta(path)
        return meta["modified"] or meta["published"]

    def sitemap_index(self) -> Response:
        entries: list[tuple[str, datetime | None]] = []
        for n, chunk in enumerate(self.sitemap_chunks(), start=1):
            name = "/post-sitemap.xml" if n == 1 else f"/post-sitemap{n}.xml"
            entries.append((name, max(map(self._lastmod, chunk)) if chunk else None))
        entries += [("/page-sitemap.xml", None), ("/category-sitemap.xml", None)]
        return _xml(render.sitemap_index(self.base, entries))

    def post_sitemap(self, n: int) -> Response:
        chunks = self.sitemap_chunks()
        if not 1 <= n <= len(chunks):
            return self.not_found()
        return _xml(render.urlset(self.base, [(p, self._lastmod(p)) for p in chunks[n - 1]]))

    def feed(self) -> Response:
        newest = [self.corpus.get(p) for p in self.corpus.newest_first()[:FEED_SIZE]]
        return _xml(render.rss_feed(self.base, newest), "application/rss+xml; charset=UTF-8")

    def route(self, raw_path: str, headers: Headers | None = None) -> Response:
        """The answer to a GET of `raw_path`; `headers` (the request's) matter only to
        the web archive's files (Range)."""
        parts = urlsplit(raw_path)
        path, query = parts.path or "/", parse_qs(parts.query)
        if path.startswith(WEBARCHIVE_PREFIX):
            status, body, content_type, extra = self.webarchive.route(
                path, parts.query, headers or {}
            )
            return Response(status, body, content_type, extra)
        truth = self.corpus.find(path)
        if truth is not None:
            return self.article(truth)
        if self.corpus.find(path + "/") is not None:
            return Response(
                301, b"", "text/html; charset=UTF-8", {"Location": f"{self.base}{path}/"}
            )
        if path == "/robots.txt":
            robots = render.robots_txt(
                self.base, sitemaps=self.sitemaps, disallow=self.robots_disallow
            )
            return Response(200, robots.encode(), "text/plain; charset=utf-8")
        if not self.sitemaps and "sitemap" in path:
            return self.not_found()
        if path.endswith(".xml.gz"):
            return self._gzipped(path[:-3])
        if path == "/sitemap_index.xml":
            return self.sitemap_index()
        if m := _POST_SITEMAP_RE.match(path):
            return self.post_sitemap(int(m.group("n") or 1))
        if path == "/page-sitemap.xml":
            return _xml(render.urlset(self.base, [(p, None) for p in STATIC_PAGES]))
        if path == "/category-sitemap.xml":
            return _xml(render.urlset(self.base, [(f"/category/{s}/", None) for _, s in SECTIONS]))
        if path == "/feed/":
            return self.feed()
        if path in STATIC_PAGES:
            return _html(render.listing_page(self.base, STATIC_PAGES[path], [], None, None))
        if path == "/" and "s" in query:
            words = query["s"][0]
            return self._listing(f"Результаты поиска: {words}", "/", self.corpus.search(words), 1)
        if m := _PAGED_RE.match(path):
            return self._paged(m.group("prefix"), int(m.group("page") or 1))
        return self.not_found()

    def _gzipped(self, path: str) -> Response:
        """/<name>.xml.gz: the same document as /<name>.xml, gzip-compressed."""
        response = self.route(path)
        if response.status != 200:
            return response
        return Response(200, gzip.compress(response.body, mtime=0), "application/x-gzip")

    def _paged(self, prefix: str, page: int) -> Response:
        if prefix == "/":
            return self._listing(FRONT_HEADING, "/", self.corpus.newest_first(), page)
        kind, slug = prefix.strip("/").split("/")
        if kind == "category":
            names = {s: n for n, s in SECTIONS}
            if slug not in names:
                return self.not_found()
            return self._listing(names[slug], prefix, self.corpus.in_section(slug), page)
        paths = self.corpus.with_tag(slug)
        if not paths:
            return self.not_found()
        tag = next(t for t in self.corpus.meta(paths[0])["tags"] if translit(t) == slug)
        return self._listing(f"Метка: {tag}", prefix, paths, page)


# ---------------------------------------------------------------- hostile servers
# Each takes (site, fault, raw request path, the normal response) -> the response sent.

Hostile = Callable[[Site, Fault, str, Response], Response]
_GZIP_MAGIC = b"\x1f\x8b"


def _unzipped(body: bytes) -> bytes:
    return gzip.decompress(body) if body[:2] == _GZIP_MAGIC else body


def _gzip_bomb(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    if response.status != 200:
        return response
    bomb = gzip_bomb(_unzipped(response.body), float(fault.arg or 200))
    return Response(200, bomb, "application/x-gzip")


def _robots_sitemap(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    if response.status != 200:
        return response
    return Response(200, add_robots_sitemap(response.body, fault.arg or ""), response.content_type)


def _index_self(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    if response.status != 200:
        return response
    parts = urlsplit(raw)
    page = parse_qs(parts.query).get("page", ["1"])[0]
    body = index_chain(
        _unzipped(response.body), site.base, parts.path, int(page) if page.isdigit() else 1
    )
    if response.body[:2] == _GZIP_MAGIC:
        body = gzip.compress(body, mtime=0)
    return Response(200, body, response.content_type)


def _front_page_number(raw: str) -> int | None:
    """N of a front-page listing / or /page/N/ (None: another page, or a search)."""
    parts = urlsplit(raw)
    found = re.match(r"^/(?:page/(\d+)/)?$", parts.path)
    if parts.query or not found:
        return None
    return int(found.group(1) or 1)


def _pagination_cycle(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    page = _front_page_number(raw)
    if page == 1:
        return site.front_page(1, 1, 2)
    if page == 2:  # page 2's own articles (page 1's on a one-page site), next: /
        return site.front_page(2, 2 if len(site.corpus) > PER_PAGE else 1, 1)
    return response


def _endless_pages(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    page = _front_page_number(raw)
    return site.front_page(page, 1, page + 1) if page else response


def _cookies(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    response.extra.extend(cookie_headers(*cookie_arg(fault.arg)))
    return response


def _redirect_to(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    return Response(
        302, b"", "text/html; charset=UTF-8", {"Location": (fault.arg or "").rstrip("/") + raw}
    )


def _as_is(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    return response  # trickle: the handler sends this response slowly


def _article_of(site: Site, raw: str, response: Response) -> ArticleTruth | None:
    return site.corpus.find(urlsplit(raw).path) if response.status == 200 else None


def _canonical(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    truth = _article_of(site, raw, response)
    if truth is None:
        return response
    target = None
    if fault.kind == "canonical":
        path = site.other_article(truth.path) if fault.arg == "other" else fault.arg or "/"
        target = path if "://" in path else site.base + path
    return Response(200, set_canonical(response.body, truth.url, target), response.content_type)


def _link_variants(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    if response.status != 200:
        return response
    edit = feed_variants if "rss" in response.content_type else listing_variants
    return Response(200, edit(response.body, site.base), response.content_type)


def _junk_paragraphs(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    truth = _article_of(site, raw, response)
    if truth is None:
        return response
    return site.rebuilt_article(truth, body=junk_paragraphs(int(float(fault.arg or 1e6))))


def _junk_title(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    truth = _article_of(site, raw, response)
    if truth is None:
        return response
    return site.rebuilt_article(truth, title=junk_title(float(fault.arg or 1024)))


def _deep_nesting(site: Site, fault: Fault, raw: str, response: Response) -> Response:
    truth = _article_of(site, raw, response)
    if truth is None:
        return response
    texts = nested_texts(truth.paragraphs, int(float(fault.arg or 300)))
    return site.rebuilt_article(truth, body=nested_body(texts))


_HOSTILE: dict[str, Hostile] = {
    "gzip-bomb": _gzip_bomb,
    "robots-sitemap": _robots_sitemap,
    "index-self": _index_self,
    "pagination-cycle": _pagination_cycle,
    "endless-pages": _endless_pages,
    "cookies": _cookies,
    "redirect-to": _redirect_to,
    "trickle": _as_is,
    "canonical": _canonical,
    "no-canonical": _canonical,
    "link-variants": _link_variants,
    "junk-paragraphs": _junk_paragraphs,
    "junk-title": _junk_title,
    "deep-nesting": _deep_nesting,
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kantkg-replica"
    server: _Server

    def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
        self._serve(send_body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._serve(send_body=False)

    def _serve(self, send_body: bool) -> None:
        replica = self.server.replica
        if self._header_bytes() > MAX_REQUEST_HEADERS:
            self._headers_too_large(linger=False)
            return
        path = urlsplit(self.path).path
        if authorization := self.headers.get("Authorization"):
            replica.record_authorization(authorization)
        fault = replica.fault_for(path)
        if fault is not None and fault.kind == "reset":
            replica.record(self.command, self.path, 0)
            self._reset()
            return
        if fault is not None and fault.kind == "stall":
            time.sleep(float(fault.arg or 30))
        try:
            if path.startswith("/__hop/"):
                response = self._hop(path)
            else:
                response = replica.next_fault(self.path) or replica.site.route(
                    self.path, self.headers
                )
                if fault is not None:
                    response = self._apply(fault, path, response)
        except Exception as exc:  # a replica bug must show up as a 500, not a hang
            response = Response(500, f"replica error: {exc!r}".encode(), "text/plain")
        if response.status == 200 and self._not_modified(response):
            response = Response(304, b"", response.content_type, response.headers)
        replica.record(self.command, self.path, response.status)
        self._send_head(response)
        if not send_body or response.status == 304:
            return
        if fault is not None and fault.kind == "truncate":
            self.wfile.write(response.body[: len(response.body) // 2])
            self.wfile.flush()
            self._reset()
            return
        if fault is not None and fault.kind == "trickle":
            self._trickle(response.body, float(fault.arg or 1.0))
            return
        self.wfile.write(response.body)

    def _send_head(self, response: Response) -> None:
        self.send_response(response.status)
        if response.content_type:
            self.send_header("Content-Type", response.content_type)
        for name, value in [*response.headers.items(), *response.extra]:
            self.send_header(name, value)
        self.send_header("Content-Length", str(0 if response.status == 304 else len(response.body)))
        self.end_headers()

    def _trickle(self, body: bytes, seconds: float) -> None:
        """The body a byte every `seconds` (slowloris). Stops at the first failed write
        (the client gave up) or when the replica stops: no thread is held forever."""
        self.close_connection = True
        stopped = self.server.replica.stopped
        for offset in range(len(body)):
            try:
                self.wfile.write(body[offset : offset + 1])
            except OSError:  # BrokenPipe, ConnectionReset: the client is gone
                return
            if stopped.wait(seconds):
                return

    def _header_bytes(self) -> int:
        return sum(len(name) + len(value) + 4 for name, value in self.headers.items())

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server answers 431 to a header line over 64 KB or over 100 headers; the
        site, like nginx, answers 400 as it does to any header overflow."""
        if code == HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE:
            self._headers_too_large(linger=True)
            return
        super().send_error(code, message, explain)

    def _headers_too_large(self, linger: bool) -> None:
        """nginx's 400 Request Header Or Cookie Too Large, then the connection closes;
        with `linger`, the unread rest of the request is drained first, so that the
        client reads the 400 instead of a reset."""
        self.server.replica.record(self.command or "GET", self.path or "/", 400)
        self.close_connection = True
        with contextlib.suppress(OSError):
            self.send_response(400, "Bad Request")
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(NGINX_400)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(NGINX_400)
            if linger:
                self._drain()

    def _drain(self, limit: int = 64 << 20) -> None:
        """Read and drop what the client still sends (up to `limit`, 1 s of silence)."""
        import socket

        self.connection.shutdown(socket.SHUT_WR)
        self.connection.settimeout(1.0)
        while limit > 0 and (chunk := self.connection.recv(1 << 16)):
            limit -= len(chunk)

    def _reset(self) -> None:
        """Drop the connection with a TCP RST (SO_LINGER 0), as a crashed server does."""
        import socket
        import struct

        self.close_connection = True
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.connection.close()

    def _hop(self, path: str) -> Response:
        _, _, left, target = path.split("/", 3)
        hops = int(left)
        location = f"/__hop/{hops - 1}/{target}" if hops > 1 else f"/{target}"
        return Response(
            302,
            b"",
            "text/html; charset=UTF-8",
            {"Location": self.server.replica.base_url + location},
        )

    def _apply(self, fault: Fault, path: str, response: Response) -> Response:
        if (hostile := _HOSTILE.get(fault.kind)) is not None:
            return hostile(self.server.replica.site, fault, self.path, response)
        base = self.server.replica.base_url
        kind, arg = fault.kind, fault.arg
        html_type = response.content_type
        if kind == "status":
            code = int(arg or 500)
            return Response(
                code,
                f"<html><body><h1>Error {code}</h1></body></html>".encode(),
                "text/html; charset=UTF-8",
            )
        if kind == "retry-after":
            return Response(
                int(arg or 503),
                b"<html><body>Busy</body></html>",
                "text/html; charset=UTF-8",
                {"Retry-After": "1"},
            )
        if kind == "redirect-chain":
            fault.passes.add(path)
            return Response(
                302, b"", html_type, {"Location": f"{base}/__hop/{int(arg or 3)}{path}"}
            )
        if kind == "redirect-loop":
            return Response(302, b"", html_type, {"Location": base + path})
        if kind == "redirect-offsite":
            return Response(302, b"", html_type, {"Location": f"http://offsite.invalid{path}"})
        if response.status != 200:
            return response
        if kind == "content-type":
            return Response(
                200, response.body, "" if arg == "none" else (arg or "text/plain"), response.headers
            )
        if kind == "pdf":
            return Response(200, PDF_BYTES, "application/pdf")
        if kind == "png":
            return Response(200, PNG_BYTES, "image/png")
        if kind == "malformed":
            return Response(200, mangle_html(response.body), html_type)
        if kind == "mislabel":
            charset = html_type.rsplit("charset=", 1)[-1]
            body, wrong = swap_charset(response.body, charset)
            return Response(200, body, f"text/html; charset={wrong}")
        if kind == "huge":
            size = int(float(arg or 20) * 1024 * 1024)
            padding = b"<!-- " + b"x" * max(0, size - len(response.body)) + b" -->"
            return Response(
                200, response.body.replace(b"</body>", padding + b"</body>", 1), html_type
            )
        if kind == "empty":
            return Response(200, b"", html_type)
        if kind == "bad-xml":
            return Response(200, bad_xml(response.body), html_type)
        if kind == "bad-dates":
            return Response(200, bad_feed_dates(response.body), html_type)
        if kind == "gzip":
            return Response(200, gzip.compress(response.body), "application/x-gzip")
        return response

    def _not_modified(self, response: Response) -> bool:
        etag = response.headers.get("ETag")
        if etag and (match := self.headers.get("If-None-Match")):
            return etag in [t.strip() for t in match.split(",")]
        since = self.headers.get("If-Modified-Since")
        changed = response.headers.get("Last-Modified")
        if since and changed:
            try:
                return parsedate_to_datetime(changed) <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    def log_message(self, format: str, *args) -> None:  # noqa: A002
        if self.server.replica.verbose:
            sys.stderr.write("replica: " + format % args + "\n")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    replica: Replica

    def handle_error(self, request, client_address) -> None:  # noqa: ANN001 (socketserver's)
        """A client that hangs up mid-answer (a crawler giving up on a bomb or a slow page)
        is ordinary here: no traceback; anything else still prints one."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


class Replica:
    """A running replica: `with Replica(articles=60) as site: ... site.base_url ...`."""

    def __init__(
        self,
        articles: int = 200,
        seed: int = 1,
        host: str = "127.0.0.1",
        port: int = 0,
        verbose: bool = False,
        markups: tuple[str, ...] = MARKUPS,
        sitemaps: bool = True,
        faults: list[Fault | str] | None = None,
        robots_disallow: tuple[str, ...] = (),
        removed: int = 0,
    ) -> None:
        self.articles = articles
        self.seed = seed
        self.verbose = verbose
        self._server = _Server((host, port), _Handler, bind_and_activate=True)
        self._server.replica = self
        bound_host, bound_port = self._server.server_address[:2]
        host_text = bound_host.decode() if isinstance(bound_host, bytes) else bound_host
        self.base_url = f"http://{host_text}:{bound_port}"
        # `removed` of the generated articles answer 404 and are in no listing, sitemap
        # or feed; the web archive (/webarchive/) still has them.
        self.corpus = Corpus(articles, seed, self.base_url, markups, removed)
        self.site = Site(self.corpus, self.base_url, sitemaps, robots_disallow)
        self.faults: list[Fault] = [
            parse_fault(f) if isinstance(f, str) else f for f in faults or []
        ]
        self.requests: Counter[str] = Counter()
        self.statuses: Counter[int] = Counter()
        self.log: list[tuple[float, str, int]] = []  # (monotonic time, path, status)
        self.authorizations: list[str] = []  # Authorization headers received
        self._faults: dict[str, list[Response]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self.stopped = threading.Event()  # ends slow answers (trickle) at stop()

    # --------------------------------------------------------- lifecycle

    def start(self) -> Replica:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._server.serve_forever, name="kantkg-replica", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        self.stopped.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join()
            self._thread = None
        self._server.server_close()

    def serve_forever(self) -> None:
        self._server.serve_forever()

    def __enter__(self) -> Replica:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # ------------------------------------------------------------ queries

    def record(self, method: str, path: str, status: int) -> None:
        with self._lock:
            self.requests[urlsplit(path).path] += 1
            self.statuses[status] += 1
            self.log.append((time.monotonic(), urlsplit(path).path, status))

    def record_authorization(self, value: str) -> None:
        with self._lock:
            self.authorizations.append(value)

    def add_fault(self, spec: Fault | str) -> Fault:
        fault = parse_fault(spec) if isinstance(spec, str) else spec
        with self._lock:
            self.faults.append(fault)
        return fault

    def fault_for(self, path: str) -> Fault | None:
        """The first fault rule that fires for this request, if any."""
        return next((f for f in self.faults if f.take(path)), None)

    def fail_next(
        self,
        path: str,
        status: int,
        times: int = 1,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
    ) -> None:
        """Answer the next `times` requests for `path` with this status (then normally)."""
        with self._lock:
            self._faults.setdefault(path, []).extend(
                Response(status, body, "text/html; charset=UTF-8", dict(headers or {}))
                for _ in range(times)
            )

    def next_fault(self, raw_path: str) -> Response | None:
        with self._lock:
            queue = self._faults.get(urlsplit(raw_path).path)
            return queue.pop(0) if queue else None

    @property
    def requests_served(self) -> int:
        return sum(self.statuses.values())

    def add_articles(self, count: int) -> list[ArticleTruth]:
        """Publish new articles (newest of all), as the site does between two crawls."""
        with self._lock:
            return [self.corpus.get(path) for path in self.corpus.add(count)]

    def add_article_at(
        self, path: str, published: datetime | None = None, markup: str = "wp_yoast"
    ) -> ArticleTruth:
        """Publish one article at this exact permalink, extreme dates included
        (/9999-12-31/slug/, /0001-01-01/slug/): served, in the sitemap, on the front page
        and in the feed as the newest. Published at noon (+06:00) of the URL's date."""
        with self._lock:
            return self.corpus.get(self.corpus.add_at(path, published, markup))

    def edit_article(self, path: str) -> ArticleTruth:
        """Edit one article: its text grows a paragraph and its modified time moves on."""
        with self._lock:
            self.corpus.edit(path)
            return self.corpus.get(path)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.statuses.clear()
            self.log.clear()

    def article_requests(self) -> int:
        """Requests made for article pages since the last reset."""
        return sum(n for path, n in self.requests.items() if self.corpus.find(path))

    def truth(self) -> list[ArticleTruth]:
        """Every article the replica serves, oldest first (the seed included)."""
        return self.corpus.all()

    @property
    def removed_paths(self) -> list[str]:
        """Paths of the removed articles (404 here, captured in the web archive)."""
        return self.corpus.removed_paths

    def removed_truth(self) -> list[ArticleTruth]:
        """The removed articles as they were served, oldest first: what a backfill from
        the web archive must recover (truth() describes only what the site serves)."""
        return self.corpus.removed()

    @property
    def webarchive(self) -> WebArchive:
        """The web archive playing Common Crawl for this site, served under /webarchive/."""
        return self.site.webarchive

    @property
    def seed_article(self) -> ArticleTruth:
        from kantkg.replica.corpus import SEED_PATH

        return self.corpus.get(SEED_PATH)


def run(
    port: int = 8000,
    articles: int = 200,
    seed: int = 1,
    markups: tuple[str, ...] = MARKUPS,
    faults: tuple[str, ...] = (),
    removed: int = 0,
) -> None:
    """`kantkg replica`: serve until interrupted; the base URL is the first line printed."""
    replica = Replica(
        articles=articles,
        seed=seed,
        port=port,
        verbose=True,
        markups=markups,
        faults=list(faults),
        removed=removed,
    )
    print(replica.base_url, flush=True)
    print(f"serving {len(replica.corpus)} articles (seed {seed}); Ctrl-C stops", flush=True)
    gone = f", {removed} of them gone from the live site" if removed else ""
    cdx = f"{replica.base_url}{WEBARCHIVE_PREFIX}cdx"  # (the archive is built when first asked)
    print(f"web archive (CDX API): {cdx}{gone}", flush=True)
    try:
        replica.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        replica._server.server_close()
