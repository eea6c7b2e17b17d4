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
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass, field

from kantkg.site import ARTICLE_PATH_RE

PATTERNS = {
    "article": ARTICLE_PATH_RE.pattern,
    "sitemap": r"sitemap",
    "feed": r"^/feed/",
    "listing": r"^/(?:page/\d+/)?$",
    "robots": r"^/robots\.txt$",
    "all": r"",
}
KINDS = frozenset({
    "status", "retry-after", "reset", "stall", "truncate", "content-type", "pdf", "png",
    "redirect-chain", "redirect-loop", "redirect-offsite", "malformed", "mislabel", "huge",
    "empty", "bad-xml", "bad-dates", "gzip",
})
PDF_BYTES = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG_BYTES = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                          "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44"
                          "ae426082")


class BadFault(ValueError):
    """A fault spec that cannot be understood (shown as one line)."""


@dataclass
class Fault:
    kind: str
    arg: str | None = None
    pattern: str = ""
    times: int | None = None        # None: every matching request
    hits: int = 0
    passes: set[str] = field(default_factory=set, repr=False)
    _regex: re.Pattern | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise BadFault(f"unknown fault {self.kind!r}; known: {', '.join(sorted(KINDS))}")
        try:
            self._regex = re.compile(PATTERNS.get(self.pattern, self.pattern))
        except re.error as exc:
            raise BadFault(f"bad fault path pattern {self.pattern!r}: {exc}") from None

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
    """KIND[=ARG][:PATTERN[:TIMES]] -> Fault."""
    head, _, rest = spec.partition(":")
    kind, _, arg = head.partition("=")
    pattern, times = rest, None
    if rest and re.search(r":\d+$", rest):
        pattern, _, count = rest.rpartition(":")
        times = int(count)
    return Fault(kind.strip(), arg.strip() or None, pattern, times)


def mangle_html(page: bytes) -> bytes:
    """Broken nesting and unclosed tags, as hand-edited old pages have."""
    text = page.replace(b"</p>", b"").replace(b"</div>", b"</span>", 3)
    return text.replace(b"<body", b"<table><tr><td></b></i><body", 1)


def swap_charset(page: bytes, charset: str) -> tuple[bytes, str]:
    """The same bytes declared -- in the header and in the page -- as the other charset."""
    wrong = "utf-8" if charset.lower() in ("windows-1251", "cp1251") else "windows-1251"
    page = re.sub(rb"charset=[\w-]+", f"charset={wrong}".encode(), page, count=1,
                  flags=re.IGNORECASE)
    return page, wrong


def bad_xml(body: bytes) -> bytes:
    return body[: len(body) // 2] + b"<url><loc>broken"


def bad_feed_dates(body: bytes) -> bytes:
    return re.sub(rb"<pubDate>[^<]*</pubDate>", b"<pubDate>not a date at all</pubDate>", body)
