"""Faults the replica produces on demand: everything a network and a news site throw at a
scheduled crawler.

A fault is a rule: which paths (a regex, or a shorthand such as "article" or "sitemap"),
what happens, how many times (None = always). Rules are given to `Replica(faults=[...])`,
added with `Replica.add_fault(...)`, or on the command line:

    kantkg replica --fault status=503:article:3 --fault truncate:article --fault reset:feed

Spec syntax: KIND[=ARG][:PATTERN[:TIMES]]. Kinds:

    status=CODE        answer CODE (500, 502, 503, 404, 410 ...) with an error page
    retry-after=CODE   429/503 with Retry-After: 1
    reset              close the connection without answering (TCP RST)
    stall=SECONDS      wait that long, then answer normally (timeouts)
    truncate           promise the whole body, send half, close
    content-type=VALUE serve the normal body with this Content-Type ("none": no header)
    pdf, png           a binary document at the URL instead of HTML
    redirect-chain=N   N hops of 302 before the real page
    redirect-loop      302 to itself, forever
    redirect-offsite   302 to a host that is not the site (never resolvable: .invalid)
    malformed          the page with closing tags dropped and stray ones added
    mislabel           the page's bytes under the other charset (cp1251 <-> UTF-8)
    huge=MB            the page padded to MB megabytes (default 20)
    empty              200 with an empty body
    bad-xml            (sitemaps) a truncated, unparseable XML document
    bad-dates          (feed) pubDate values that are not dates
    gzip               (sitemaps) the document gzip-compressed, as .xml.gz files are

Hostile servers (issue 20). The pattern in brackets is the default when none is given:

    gzip-bomb=MB       [sitemap] a valid gzip file (application/x-gzip) whose XML is padded
                       with whitespace after the root's start tag to MB megabytes (200)
    robots-sitemap=URL [robots] robots.txt gains "Sitemap: URL" (file:, ftp:, any port)
    index-self         [index] the sitemap index also lists itself and ?page=N+1: endless
    pagination-cycle   [listing] /page/2/ links back to / as its next page
    endless-pages      [listing] every /page/N/ exists, lists page 1's articles, links N+1
    cookies=N[,SIZE]   [all] N Set-Cookie headers c<i>=<SIZE chars> (1000 of 4096 bytes)
    redirect-to=BASE   [article] 302 to BASE + the same path (another replica's base URL)
    trickle=SECONDS    [all] status and headers, then the body one byte every SECONDS (1)
    canonical=PATH     [article] rel=canonical and og:url name BASE+PATH ("other": the
                       corpus's first other article)
    no-canonical       [article] no rel=canonical, og:url nor JSON-LD url on the page
    link-variants      [listing and feed] every article link also as ?utm_campaign=z, ?a=1,
                       ?a=2, without its slash, with #comments, with an upper-case scheme
    junk-paragraphs=N  [article] the article text is N paragraphs <p>x</p> (1,000,000)
    junk-title=KB      [article] <title>, <h1>, og:title are KB kilobytes of text (1024)
    deep-nesting=N     [article] N paragraphs, each opening a <b> never closed: <b>text<br>
                       (300; libxml2 gives up at depth 256). nested_texts() has the text.

Outside any fault, a request whose headers exceed 16 KB is answered 400 Request Header Or
Cookie Too Large, as nginx does.

':' separates the parts of a spec, so an ARG that contains one is written percent-encoded:
`robots-sitemap=file%3A///dev/zero`, `redirect-to=http%3A//127.0.0.1%3A8001`; every ARG is
percent-decoded once. From Python, `Fault("robots-sitemap", "file:///dev/zero")` needs no
encoding.
"""

from __future__ import annotations

import functools
import hashlib
import html
import re
import threading
import zlib
from dataclasses import dataclass, field
from urllib.parse import unquote

from kantkg.site import ARTICLE_PATH_RE

PATTERNS = {
    "article": ARTICLE_PATH_RE.pattern,
    "sitemap": r"sitemap",
    "feed": r"^/feed/",
    "listing": r"^/(?:page/\d+/)?$",
    "robots": r"^/robots\.txt$",
    "index": r"^/sitemap_index\.xml(?:\.gz)?$",
    "links": r"^/(?:page/\d+/)?$|^/feed/",
    "all": r"",
}
KINDS = frozenset(
    {
        "status",
        "retry-after",
        "reset",
        "stall",
        "truncate",
        "content-type",
        "pdf",
        "png",
        "redirect-chain",
        "redirect-loop",
        "redirect-offsite",
        "malformed",
        "mislabel",
        "huge",
        "empty",
        "bad-xml",
        "bad-dates",
        "gzip",
        "gzip-bomb",
        "robots-sitemap",
        "index-self",
        "pagination-cycle",
        "endless-pages",
        "cookies",
        "redirect-to",
        "trickle",
        "canonical",
        "no-canonical",
        "link-variants",
        "junk-paragraphs",
        "junk-title",
        "deep-nesting",
    }
)
# Where a kind applies when its rule names no paths (kinds not listed: every path).
DEFAULT_PATTERNS = {
    "gzip-bomb": "sitemap",
    "robots-sitemap": "robots",
    "index-self": "index",
    "pagination-cycle": "listing",
    "endless-pages": "listing",
    "redirect-to": "article",
    "canonical": "article",
    "no-canonical": "article",
    "link-variants": "links",
    "junk-paragraphs": "article",
    "junk-title": "article",
    "deep-nesting": "article",
}
NEEDS_ARG = frozenset({"robots-sitemap", "redirect-to", "canonical"})
NUMERIC_ARG = frozenset(
    {
        "gzip-bomb",
        "trickle",
        "junk-paragraphs",
        "junk-title",
        "deep-nesting",
        "status",
        "retry-after",
        "stall",
        "huge",
        "redirect-chain",
    }
)
MAX_REQUEST_HEADERS = 16 * 1024  # beyond this, 400 as nginx answers (its header buffers)
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44"
    "ae426082"
)


class BadFault(ValueError):
    """A fault spec that cannot be understood (shown as one line)."""


@dataclass
class Fault:
    kind: str
    arg: str | None = None
    pattern: str = ""
    times: int | None = None  # None: every matching request
    hits: int = 0
    passes: set[str] = field(default_factory=set, repr=False)
    _regex: re.Pattern = field(default=re.compile(""), repr=False)  # set from pattern
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadFault(f"unknown fault {self.kind!r}; known: {', '.join(sorted(KINDS))}")
        self.pattern = self.pattern or DEFAULT_PATTERNS.get(self.kind, "")
        self._check_arg()
        try:
            self._regex = re.compile(PATTERNS.get(self.pattern, self.pattern))
        except re.error as exc:
            raise BadFault(f"bad fault path pattern {self.pattern!r}: {exc}") from None

    def _check_arg(self) -> None:
        """A bad ARG is refused when the rule is made, not answered as a 500 later."""
        if self.kind in NEEDS_ARG and not self.arg:
            raise BadFault(f"fault {self.kind} needs an ARG: {self.kind}=...")
        if self.kind in NUMERIC_ARG:
            _arg_number(self.arg, 0)
        if self.kind == "cookies":
            cookie_arg(self.arg)

    def take(self, path: str) -> bool:
        """Does this fault fire for this request? (Counts the firing.)"""
        if not self._regex.search(path):
            return False
        with self._lock:
            if path in self.passes:  # the end of a redirect chain reaches the page
                self.passes.discard(path)
                return False
            if self.times is not None and self.hits >= self.times:
                return False
            self.hits += 1
            return True


def parse_fault(spec: str) -> Fault:
    """KIND[=ARG][:PATTERN[:TIMES]] -> Fault. ARG is percent-decoded (%3A is ':')."""
    head, _, rest = spec.partition(":")
    kind, _, arg = head.partition("=")
    if arg and rest.startswith("//"):  # a URL cut at its scheme: say so, never a no-op rule
        raise BadFault(f"write ':' in a fault's ARG as %3A: {kind}={arg}%3A{rest}")
    pattern, times = rest, None
    if rest and re.search(r":\d+$", rest):
        pattern, _, count = rest.rpartition(":")
        times = int(count)
    return Fault(kind.strip(), unquote(arg.strip()) or None, pattern, times)


def mangle_html(page: bytes) -> bytes:
    """Broken nesting and unclosed tags, as hand-edited old pages have."""
    text = page.replace(b"</p>", b"").replace(b"</div>", b"</span>", 3)
    return text.replace(b"<body", b"<table><tr><td></b></i><body", 1)


def swap_charset(page: bytes, charset: str) -> tuple[bytes, str]:
    """The same bytes declared -- in the header and in the page -- as the other charset."""
    wrong = "utf-8" if charset.lower() in ("windows-1251", "cp1251") else "windows-1251"
    page = re.sub(
        rb"charset=[\w-]+", f"charset={wrong}".encode(), page, count=1, flags=re.IGNORECASE
    )
    return page, wrong


def bad_xml(body: bytes) -> bytes:
    return body[: len(body) // 2] + b"<url><loc>broken"


def bad_feed_dates(body: bytes) -> bytes:
    return re.sub(rb"<pubDate>[^<]*</pubDate>", b"<pubDate>not a date at all</pubDate>", body)


# ------------------------------------------------------------ hostile servers


def _arg_number(arg: str | None, default: float) -> float:
    try:
        number = float(arg) if arg else default
    except ValueError:
        raise BadFault(f"fault ARG {arg!r} is not a number") from None
    if not 0 <= number < float("inf"):
        raise BadFault(f"fault ARG {arg!r} is not a number from 0 up")
    return number


def _root_end(document: bytes) -> int:
    """Offset just after the root element's start tag (the end when there is none)."""
    found = re.search(rb"<(?:urlset|sitemapindex|rss|feed)\b[^>]*>", document)
    return found.end() if found else len(document)


@functools.lru_cache(maxsize=16)
def gzip_bomb(document: bytes, mb: float) -> bytes:
    """A valid gzip file: `document` with whitespace after its root start tag, MB
    megabytes unpacked. A full flush empties the window, so one compressed megabyte of
    spaces is repeated as is: 200 MB cost ~0.1 s and ~200 KB, built once per (document, MB)."""
    cut = _root_end(document)
    head, tail = document[:cut], document[cut:]
    block = b" " * (1 << 20)
    whole, rest = divmod(max(0, int(mb * (1 << 20)) - len(document)), len(block))
    deflate = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: we frame it ourselves
    start = deflate.compress(head) + deflate.flush(zlib.Z_FULL_FLUSH)
    one_mb = deflate.compress(block) + deflate.flush(zlib.Z_FULL_FLUSH)
    end = deflate.compress(b" " * rest + tail) + deflate.flush()
    crc = zlib.crc32(head)
    for _ in range(whole):
        crc = zlib.crc32(block, crc)
    crc = zlib.crc32(b" " * rest + tail, crc)
    size = len(head) + whole * len(block) + rest + len(tail)
    header = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    trailer = crc.to_bytes(4, "little") + (size & 0xFFFFFFFF).to_bytes(4, "little")
    return header + start + one_mb * whole + end + trailer


def add_robots_sitemap(robots: bytes, url: str) -> bytes:
    """robots.txt naming one more sitemap, taken verbatim (file:, ftp:, another port)."""
    return robots.rstrip(b"\n") + f"\nSitemap: {url}\n".encode()


def index_chain(index: bytes, base: str, path: str, page: int) -> bytes:
    """The sitemap index also lists itself and its next ?page=: an endless chain."""
    own = f"{base}{path}" + (f"?page={page}" if page > 1 else "")
    extra = (
        f"<sitemap><loc>{own}</loc></sitemap>\n"
        f"<sitemap><loc>{base}{path}?page={page + 1}</loc></sitemap>\n"
    )
    return index.replace(b"</sitemapindex>", extra.encode() + b"</sitemapindex>", 1)


_CANONICAL_TAGS = re.compile(rb'<link rel="canonical"[^>]*>\n?|<meta property="og:url"[^>]*>\n?')


def set_canonical(page: bytes, own_url: str, target: str | None) -> bytes:
    """The page names `target` as its address (rel=canonical, og:url, JSON-LD url), or
    no address at all when target is None."""
    page = _CANONICAL_TAGS.sub(b"", page)
    own_ld = f'"url": "{own_url}", '.encode()
    page = page.replace(own_ld, f'"url": "{target}", '.encode() if target else b"")
    if target is None:
        return page
    tags = (
        f'\n<link rel="canonical" href="{html.escape(target)}">'
        f'\n<meta property="og:url" content="{html.escape(target)}">'
    ).encode()
    return re.sub(rb"<head[^>]*>", lambda m: m.group(0) + tags, page, count=1)


def link_variants(url: str, base: str) -> list[str]:
    """Other spellings of one article URL that real pages and feeds carry."""
    path = url[len(base) :]
    return [
        f"{url}?utm_campaign=z",
        f"{url}?a=1",
        f"{url}?a=2",
        url.rstrip("/"),
        f"{url}#comments",
        base.upper() + path,
    ]


def listing_variants(page: bytes, base: str) -> bytes:
    """Each article of a listing also linked under its variant spellings."""

    def more(m: re.Match) -> bytes:
        url = m.group(1).decode()
        return m.group(0) + b"".join(
            f'<a class="more-link" href="{html.escape(v)}">Читать далее</a>'.encode()
            for v in link_variants(url, base)
        )

    return re.sub(rb'<a class="more-link" href="([^"]+)">[^<]*</a>', more, page)


def feed_variants(feed: bytes, base: str) -> bytes:
    """Each feed item repeated under its article's variant spellings."""

    def items(m: re.Match) -> bytes:
        item, url = m.group(0), m.group(1).decode()
        return item + b"".join(
            item.replace(m.group(1), html.escape(v).encode()) for v in link_variants(url, base)
        )

    return re.sub(rb"<item>.*?<link>([^<]+)</link>.*?</item>\n", items, feed, flags=re.DOTALL)


BODY_MARKER = "KANTKGREPLICABODY"
_WRAPPED_MARKER = re.compile(rb">\s*(?:<[a-z][^<>]*>)*" + BODY_MARKER.encode() + rb"(?:</[a-z]+>)*")


def put_body(page: bytes, body: bytes) -> bytes:
    """The page rendered with BODY_MARKER as its only paragraph, with `body` in place of
    that paragraph and its wrapping tags (any markup); the marker gone from elsewhere."""
    page = _WRAPPED_MARKER.sub(lambda _: b">\n" + body, page, count=1)
    return page.replace(BODY_MARKER.encode(), b"")


def junk_paragraphs(count: int) -> bytes:
    """count one-character paragraphs (1,000,000: 8 MB, built in milliseconds)."""
    return b"<p>x</p>" * count


def junk_title(kb: float) -> str:
    """About KB kilobytes (UTF-8) of headline text."""
    size = int(kb * 1024)
    phrase = "Срочно: важная новость дня "
    text = phrase * (size // len(phrase.encode()) + 1)
    return text.encode()[:size].decode(errors="ignore")


def nested_texts(paragraphs: tuple[str, ...], count: int) -> list[str]:
    """The deep-nesting page's paragraphs: the article's own, numbered, cycled to count."""
    return [f"{n + 1}. {paragraphs[n % len(paragraphs)]}" for n in range(count)]


def nested_body(texts: list[str]) -> str:
    """Each paragraph opens a <b> that is never closed: depth grows by one a paragraph."""
    return "".join(f"<b>{html.escape(t)}<br>\n" for t in texts)


@functools.lru_cache(maxsize=8)
def cookie_headers(count: int, size: int) -> tuple[tuple[str, str], ...]:
    """count Set-Cookie headers c<i>=<size chars>; Path=/ (random-looking, cheap)."""
    seed = hashlib.sha256(b"kantkg-cookies").hexdigest()
    text = seed * (size // len(seed) + 2)
    return tuple(
        ("Set-Cookie", f"c{i}={text[i % len(seed) : i % len(seed) + size]}; Path=/")
        for i in range(count)
    )


def cookie_arg(arg: str | None) -> tuple[int, int]:
    """cookies=N[,SIZE] -> (N, SIZE); 1000 cookies of 4096 bytes by default."""
    count, _, size = (arg or "").partition(",")
    return int(_arg_number(count, 1000)), int(_arg_number(size, 4096))
