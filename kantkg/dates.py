"""Date candidates -> aware datetimes.

Every stored date is an instant: ISO 8601 with the page's own offset (Asia/Bishkek when
the page gives none) plus the same instant in UTC. Machine dates (ISO, RFC 822) take the
fast path; Russian visible dates ("25 мая 2021, 10:41", "вчера в 14:20") go through one
shared dateparser instance restricted to Russian.

Which source wins: extract.py lists candidates best layer first (JSON-LD, microdata,
meta, site selectors, generic), and the first one that parses is the page date. The URL
date (/YYYY-MM-DD/) is only a cross-check: when it contradicts the page date the page
still wins and the disagreement is recorded in `date_warnings`; when no candidate
parses, the URL date (midnight, local) is the last resort, recorded as layer "url".
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from email.utils import parsedate_to_datetime
from functools import lru_cache
from zoneinfo import ZoneInfo

from kantkg import site

LOCAL_TZ = ZoneInfo(site.TIMEZONE)

# A visible date needs a year or a relative word; dateparser alone reads "10" as a date.
_DATEISH_RE = re.compile(
    r"\b\d{4}\b|сегодня|вчера|позавчера|назад|только что", re.IGNORECASE
)
# The date part of longer text ("Опубликовано: 25 мая 2021, 10:41 | Политика").
_RU_DATE_RE = re.compile(
    r"(\d{1,2}\s+[а-яё]+\s+\d{4}(?:\s*г\.?)?(?:,?\s*(?:в\s*)?\d{1,2}:\d{2})?"
    r"|\d{1,2}\.\d{1,2}\.\d{4}(?:,?\s*(?:в\s*)?\d{1,2}:\d{2})?"
    r"|(?:сегодня|вчера|позавчера),?\s*(?:в\s*)?\d{1,2}:\d{2}"
    r"|\d+\s+[а-я]+\s+назад)",
    re.IGNORECASE,
)
_HAS_TIME_RE = re.compile(r"\d{1,2}:\d{2}|назад")
_ISO_DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ParsedDate:
    """An aware instant plus whether the source gave a time of day at all."""

    value: datetime
    has_time: bool


@lru_cache(maxsize=4)
def _ru_parser(relative_base: datetime):
    """One parser per fetch-time anchor (a crawl has one or a few); construction is cheap
    (~20 µs) once dateparser's Russian data is loaded, parsing ~0.5 ms."""
    # Imported lazily: dateparser's import is slow and most pages carry ISO dates.
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=["ru"],
        settings={
            "TIMEZONE": site.TIMEZONE,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "past",
            "DATE_ORDER": "DMY",
            "RELATIVE_BASE": relative_base,
        },
    )


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=LOCAL_TZ)


def _parse_iso(text: str) -> ParsedDate | None:
    if _ISO_DATE_ONLY_RE.match(text):
        try:
            d = date.fromisoformat(text)
        except ValueError:
            return None
        return ParsedDate(datetime.combine(d, time(), LOCAL_TZ), has_time=False)
    if len(text) < 16 or text[4] != "-" or text[10] not in "T ":
        return None
    try:
        return ParsedDate(_aware(datetime.fromisoformat(text.replace("Z", "+00:00"))), True)
    except ValueError:
        return None


def _parse_rfc822(text: str) -> ParsedDate | None:
    if "," not in text[:5] and not text[:1].isdigit():
        return None
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return ParsedDate(_aware(dt), has_time=True) if dt else None


def _parse_visible(text: str, now: datetime) -> ParsedDate | None:
    if not _DATEISH_RE.search(text):
        return None
    # Relative dates only need minute precision; rounding keeps the parser cache warm.
    base = now.astimezone(LOCAL_TZ).replace(tzinfo=None, second=0, microsecond=0)
    parser = _ru_parser(base)
    candidates = [text]
    m = _RU_DATE_RE.search(text)
    if m and m.group(0) != text:
        candidates.append(m.group(0))
    for candidate in candidates:
        try:
            data = parser.get_date_data(candidate)
        except Exception:  # dateparser raises assorted errors on junk
            continue
        if data.date_obj is not None:
            return ParsedDate(_aware(data.date_obj), bool(_HAS_TIME_RE.search(candidate)))
    return None


def parse_date(text: str | None, now: datetime | None = None) -> ParsedDate | None:
    """One candidate string -> instant, or None when it is not clearly a date.

    `now` anchors relative dates ("вчера") and should be the fetch time.
    """
    if not text:
        return None
    text = " ".join(str(text).split())
    if not text or len(text) > 200:
        return None
    parsed = _parse_iso(text) or _parse_rfc822(text)
    if parsed is None:
        parsed = _parse_visible(text, now or datetime.now(UTC))
    if parsed is None or not (1990 <= parsed.value.year <= 2100):
        return None
    return parsed


def to_iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def to_utc_iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


def _first_parsed(
    candidates: list[list[str]] | None, now: datetime | None
) -> tuple[ParsedDate, str] | None:
    for layer, text in candidates or []:
        parsed = parse_date(text, now)
        if parsed is not None:
            return parsed, layer
    return None


def normalize_dates(item: dict, now: datetime | None = None) -> dict:
    """Fill published/modified (+ UTC, local date, warnings) from `dates_raw` in place.

    `now` is the fetch time; relative dates resolve against it.
    """
    raw = item.get("dates_raw") or {}
    method = item.setdefault("method", {})
    warnings: list[str] = []
    url_day = site.url_date(item.get("canonical_url") or item.get("url") or "")

    found = _first_parsed(raw.get("published"), now)
    if found is not None:
        published, layer = found
        local_day = published.value.astimezone(LOCAL_TZ).date()
        if url_day is not None and abs(local_day - url_day) > timedelta(days=0):
            warnings.append(
                f"published {local_day.isoformat()} ({layer}) disagrees with "
                f"URL date {url_day.isoformat()}"
            )
    elif url_day is not None:
        published = ParsedDate(datetime.combine(url_day, time(), LOCAL_TZ), has_time=False)
        layer = "url"
    else:
        published, layer = None, None

    if published is not None:
        item["published"] = to_iso(published.value)
        item["published_utc"] = to_utc_iso(published.value)
        item["published_date"] = published.value.astimezone(LOCAL_TZ).date().isoformat()
        method["published"] = layer
    else:
        item["published"] = item["published_utc"] = item["published_date"] = None

    found_mod = _first_parsed(raw.get("modified"), now)
    if found_mod is not None:
        modified, mod_layer = found_mod
        item["modified"] = to_iso(modified.value)
        item["modified_utc"] = to_utc_iso(modified.value)
        method["modified"] = mod_layer
    else:
        item["modified"] = item["modified_utc"] = None

    item["date_warnings"] = warnings
    return item
