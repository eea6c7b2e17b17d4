"""`kantkg doctor`: what the extractor makes of one page, and why.

When kant.kg changes its theme, this shows field by field which layer produced each
value, every date candidate, and each paragraph kept or removed with the reason.
"""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from kantkg import __version__, explain_article
from kantkg.encoding import charset_from_content_type, detect_encoding

FETCH_TIMEOUT = 30
MAX_PAGE_BYTES = 10 * 1024 * 1024


class DoctorError(Exception):
    """A page that could not be read or fetched (shown as one line)."""


@dataclass
class Diagnosis:
    url: str
    encoding: str
    item: dict | None
    not_article: str | None = None
    removed: list[tuple[str, str]] = field(default_factory=list)


def read_target(target: str) -> tuple[bytes, str | None, str]:
    """-> (page bytes, declared charset, URL) from an http(s) URL or a file."""
    if target.startswith(("http://", "https://")):
        request = urllib.request.Request(
            target, headers={"User-Agent": f"kantkg/{__version__} (doctor)"})
        try:
            with urllib.request.urlopen(request, timeout=FETCH_TIMEOUT) as response:
                data = response.read(MAX_PAGE_BYTES + 1)
                charset = charset_from_content_type(response.headers.get("Content-Type"))
                final_url = response.geturl()
        except urllib.error.HTTPError as exc:
            raise DoctorError(f"cannot fetch {target}: HTTP {exc.code} {exc.reason}") from None
        except (OSError, ValueError) as exc:
            raise DoctorError(f"cannot fetch {target}: {getattr(exc, 'reason', exc)}") from None
        if len(data) > MAX_PAGE_BYTES:
            raise DoctorError(f"{target} is larger than {MAX_PAGE_BYTES // 2**20} MB")
        return data, charset, final_url
    path = Path(target)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DoctorError(f"cannot read {target}: {exc.strerror or exc}") from None
    return data, None, path.resolve().as_uri()


def diagnose(data: bytes, url: str, declared: str | None = None,
             now: datetime | None = None) -> Diagnosis:
    encoding = detect_encoding(data, declared)  # detected once: it is also reported
    item, reason, removed = explain_article(data.decode(encoding, errors="replace"), url,
                                            now or datetime.now(UTC))
    return Diagnosis(url=url, encoding=encoding, item=item, not_article=reason,
                     removed=removed)


def report(d: Diagnosis) -> str:
    """The human-readable report: one field a line, the layer in brackets."""
    lines = [f"url            {d.url}", f"encoding       {d.encoding}"]
    if d.item is None:
        lines.append(f"not an article: {d.not_article}")
        return "\n".join(lines)
    item, method = d.item, d.item.get("method", {})

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
