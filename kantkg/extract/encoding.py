"""Bytes -> text for HTML pages, so mojibake never reaches the archive.

Order: BOM; then valid UTF-8 (cp1251 text with Cyrillic letters is practically never
valid UTF-8, so a page that decodes strictly as UTF-8 is UTF-8 whatever its label
says); then the declared charset (HTTP header), then <meta charset>, each only if the
bytes decode strictly with it; then detection among Cyrillic encodings. Old kant.kg
pages may be windows-1251, and servers mislabel them in both directions.
"""

from __future__ import annotations

import codecs
import re

_BOMS = (
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_META_CHARSET_RE = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_:.()-]+)""", re.IGNORECASE
)
_HEADER_CHARSET_RE = re.compile(r"""charset\s*=\s*["']?([A-Za-z0-9_:.()-]+)""", re.IGNORECASE)
# What a Russian-language site could plausibly be encoded in.
CYRILLIC_CANDIDATES = ("cp1251", "koi8_r", "utf_8", "cp866", "iso8859_5", "mac_cyrillic")
FALLBACK = "cp1251"


def charset_from_content_type(value: str | None) -> str | None:
    """The charset parameter of a Content-Type header value, if any."""
    if not value:
        return None
    m = _HEADER_CHARSET_RE.search(value)
    return m.group(1) if m else None


def meta_charset(data: bytes) -> str | None:
    m = _META_CHARSET_RE.search(data[:4096])
    return m.group(1).decode("ascii") if m else None


def _strict(data: bytes, name: str | None) -> str | None:
    if not name:
        return None
    try:
        codec = codecs.lookup(name).name
    except LookupError:
        return None
    if codec in ("utf-16", "utf-32"):  # only ever trusted with a BOM
        return None
    try:
        return data.decode(codec)
    except UnicodeDecodeError:
        return None


def _detect(data: bytes) -> str:
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000], cp_isolation=list(CYRILLIC_CANDIDATES)).best()
    return best.encoding if best is not None else FALLBACK


def detect_encoding(data: bytes, declared: str | None = None) -> str:
    """The codec name decode_html would use for these bytes."""
    for bom, name in _BOMS:
        if data.startswith(bom):
            return name
    if not data.isascii() and _strict(data, "utf-8") is not None:
        return "utf-8"
    for charset in (declared, meta_charset(data)):
        if charset and _strict(data, charset) is not None:
            return codecs.lookup(charset).name
    if data.isascii():
        return "utf-8"
    return _detect(data)


def decode_html(data: bytes | str, declared: str | None = None) -> str:
    """Page bytes -> str. `declared` is the HTTP charset, when there is one."""
    if isinstance(data, str):
        return data
    encoding = detect_encoding(data, declared)
    return data.decode(encoding, errors="replace")


def utf8_bytes(data: bytes, declared: str | None = None) -> bytes:
    """The page as UTF-8 (how the archive stores raw pages): the bytes themselves when
    they are UTF-8 already, as nearly all are, without a decode and re-encode."""
    encoding = detect_encoding(data, declared)
    if encoding == "utf-8":
        return data
    return data.decode(encoding, errors="replace").encode("utf-8")


_BINARY_MAGIC = (
    b"%PDF",
    b"\x89PNG",
    b"GIF8",
    b"\xff\xd8\xff",
    b"PK\x03\x04",
    b"\x1f\x8b",
    b"RIFF",
    b"\x00\x00\x01\x00",
)


def looks_binary(data: bytes) -> bool:
    """A PDF, image or archive where a page should be (whatever the Content-Type says)."""
    head = data[:1024]
    return head.startswith(_BINARY_MAGIC) or b"\x00" in head.lstrip(b"\xff\xfe\xef\xbb\xbf")
