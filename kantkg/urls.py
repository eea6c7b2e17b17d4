"""URL identity and safety: one spelling per article, and which URLs a crawl may fetch.

The spider requests, looks up and stores articles under `article_url(...)`, and the
archive keys rows by it, so the same article found as `?utm_campaign=z`, without its
trailing slash, under `WWW.` or `http:` is one row, fetched once. A page's canonical link
is the page's own claim and is not trusted to name the row: a canonical pointing at
another article would overwrite that article.
"""

from __future__ import annotations

import base64
import logging
import re
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

from kantkg import site

FETCHABLE_SCHEMES = ("http", "https")
_PERCENT_RE = re.compile(r"%[0-9a-fA-F]{2}")


def _netloc(parts) -> str:
    """host[:port], lower case, without credentials or a default port."""
    host = (parts.hostname or "").lower()
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    try:
        port = site.explicit_port(parts)
    except ValueError:
        port = None
    return f"{host}:{port}" if port is not None else host


def article_url(url: str, base_url: str | None = None) -> str:
    """The one spelling of an article's URL: no query, fragment or credentials, lower-case
    scheme and host, percent-escapes in lower case (as WordPress writes them), the
    permalink's trailing slash; on the crawled site (`base_url`, `www.` or not) with the
    base URL's scheme and host. Text no URL can be made of (`http://[::1`) is returned
    as it is: it names no article."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url.strip()
    if base_url and site.same_site(url, base_url):
        base = urlsplit(base_url)
        scheme, netloc = base.scheme.lower(), _netloc(base)
    else:
        scheme, netloc = parts.scheme.lower(), _netloc(parts)
    path = _PERCENT_RE.sub(lambda m: m.group(0).lower(), parts.path or "/")
    if not path.endswith("/") and site.is_article_url(f"{scheme}://x{path}/"):
        path += "/"
    return urlunsplit((scheme, netloc, path, "", ""))


def base_url_problem(url: str) -> str | None:
    """Why a crawl cannot start from `url` (KANT_BASE_URL, --base-url), or None. Checked
    before anything starts: a bad URL failed deep inside Scrapy, or crawled nothing and
    said "unreachable"."""
    try:
        url.encode("utf-8")
    except UnicodeEncodeError:
        return "not valid UTF-8"
    if re.search(r"[\s\x00-\x1f\x7f]", url):
        return "contains whitespace or control characters"
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises ValueError for a port out of range or not a number)
    except ValueError as exc:
        return str(exc)
    if parts.scheme.lower() not in ("http", "https"):
        return "not an http:// or https:// URL (give it in full, e.g. https://kant.kg)"
    if not parts.hostname:
        return "no host name"
    return None


def path_of(url: str) -> str:
    """The path of an article's URL as article_url spells it (a bare `/YYYY-MM-DD/slug`
    too): what names an article whichever host serves it."""
    text = url.strip()
    if text.startswith("/"):
        text = "http://x" + text
    spelled = article_url(text)
    try:
        return urlsplit(spelled).path
    except ValueError:
        return ""


def join(base: str, href: str) -> str | None:
    """urljoin that answers None for an href no URL can be made of (`http://[::1`):
    one bad link in a sitemap or a page must not end the reading of the rest."""
    try:
        joined = urljoin(base, href.strip())
        urlsplit(joined).port  # noqa: B018 (raises on a port that is no number)
    except ValueError:
        return None
    return joined


def is_fetchable(url: str, base_url: str) -> bool:
    """Only http(s) on the crawled site's host and port: a sitemap, robots.txt or
    redirect naming `file:///dev/zero`, `ftp://` or another port is not followed."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 (raises on a port that is no number)
    except ValueError:
        return False
    return parts.scheme.lower() in FETCHABLE_SCHEMES and site.same_site(url, base_url)


def same_origin(url: str, base_url: str) -> bool:
    """Same scheme, host and port, `www.` and all: where a password may be sent (an
    https base's password never goes over plain http)."""
    a, b = urlsplit(url), urlsplit(base_url)
    return a.scheme.lower() == b.scheme.lower() and _netloc(a) == _netloc(b)


def without_credentials(url: str) -> str:
    """The URL with any `user:password@` removed, for the archive and the log."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    return urlunsplit(
        (parts.scheme, parts.netloc.rsplit("@", 1)[1], parts.path, parts.query, parts.fragment)
    )


def basic_auth(url: str) -> str | None:
    """The Authorization header for a URL's `user:password@`, or None without them."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
    return "Basic " + base64.b64encode(pair.encode()).decode("ascii")


_CREDENTIALS_RE = re.compile(r"(?<=://)[^/\s@'\"<>]+@")


def redact_credentials(text: str) -> str:
    """`https://user:pw@host/...` -> `https://***@host/...` wherever it appears."""
    return _CREDENTIALS_RE.sub("***@", text)


class _RedactingRecord(logging.LogRecord):
    def getMessage(self) -> str:  # noqa: N802 (logging's naming)
        return redact_credentials(super().getMessage())


def redact_credentials_in_logs() -> None:
    """Every log record of this process, from any logger, formatted without URL
    credentials (a record factory, so handlers installed later are covered too)."""
    if logging.getLogRecordFactory() is logging.LogRecord:
        logging.setLogRecordFactory(_RedactingRecord)
