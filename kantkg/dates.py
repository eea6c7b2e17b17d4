"""Date candidates -> aware datetimes.

Every stored date is an instant: ISO 8601 with the page's own offset (Asia/Bishkek when
the page gives none) plus the same instant in UTC. Machine dates (ISO, RFC 822) take the
fast path; Russian visible dates ("25 мая 2021, 10:41", "вчера в 14:20") go through one
shared dateparser instance restricted to Russian.

Which source wins (see `_choose`): kantkg.extract lists candidates best layer first
(JSON-LD, microdata, meta, site selectors, generic), and the first one that parses is
the page date, except that a date without a time of day gives way to a later candidate
of the same day that has one. The first candidate of every other layer is a
cross-check, and so is the URL date (/YYYY-MM-DD/): when one names another day the
chosen date still stands and the disagreement is recorded in `date_warnings`. When no
candidate parses, the URL date (midnight, local) is the last resort, layer "url".
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kantkg.items import ArticleItem

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone
from email.utils import parsedate_to_datetime
from functools import lru_cache
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from kantkg import clock, site
from kantkg.whitespace import squash

LOCAL_TZ = ZoneInfo(site.TIMEZONE)

# A visible date needs a day and a month (numbers or a month name) or a relative word;
# dateparser alone reads "10" or "2021" as a date and invents the missing parts.
_DATEISH_RE = re.compile(
    r"\d{1,2}\s*[./-]\s*\d{1,2}\s*[./-]\s*\d{2,4}"
    r"|\d{1,2}[\s-]+[а-яёa-z]{3,}|[a-z]{3,}\.?\s+\d{1,2}\b"
    r"|сегодня|вчера|позавчера|назад|только что|бүгүн|кечээ|today|yesterday|\bago\b",
    re.IGNORECASE,
)
# The date part of longer text ("Опубликовано: 25 мая 2021, 10:41 | Политика").
_RU_DATE_RE = re.compile(
    r"(\d{1,2}\s+[а-яё]+\s+\d{4}(?:\s*г\.?)?(?:,?\s*(?:в\s*)?\d{1,2}:\d{2})?"
    r"|\d{1,2}\.\d{1,2}\.\d{2,4}(?:,?\s*(?:в\s*)?\d{1,2}:\d{2})?"
    r"|(?:сегодня|вчера|позавчера),?\s*(?:в\s*)?\d{1,2}:\d{2}"
    r"|\d+\s+[а-я]+\s+назад)",
    re.IGNORECASE,
)
_HAS_TIME_RE = re.compile(r"\d{1,2}:\d{2}|назад|только что|\bago\b")
_RELATIVE_DAY_RE = re.compile(r"сегодня|вчера|позавчера|бүгүн|кечээ|today|yesterday", re.IGNORECASE)
_JUST_NOW_RE = re.compile(r"^(?:только что|just now)$", re.IGNORECASE)
_ISO_DATE_ONLY_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Russian first; Kyrgyz month names («25-май, 2021-ж.») and English as kant.kg's other
# languages. Few languages keep dateparser fast.
LANGUAGES = ["ru", "ky", "en"]

# The dates a page can have been published or modified on: from the early web to a day
# after the fetch (zones, and servers' clocks ahead). Any other date is a fault of the
# page (/9999-12-31/, /0001-01-01/ permalinks, placeholder dates), never stored: it is
# recorded in the item's `date_warnings` instead. parse_date alone, without the fetch
# time, reads years from EARLIEST's to LATEST_YEAR only.
EARLIEST = datetime(1990, 1, 1, tzinfo=LOCAL_TZ)
FUTURE_SLACK = timedelta(days=1)
LATEST_YEAR = 2100


@dataclass(frozen=True)
class ParsedDate:
    """An aware instant plus whether the source gave a time of day at all."""

    value: datetime
    has_time: bool


@lru_cache(maxsize=4)
def _ru_parser(relative_base: datetime):
    """One parser per fetch-time anchor (a crawl has one or a few): cheap to build once
    dateparser's Russian data is loaded."""
    # Imported lazily: dateparser's import is slow and most pages carry ISO dates.
    from dateparser.date import DateDataParser

    return DateDataParser(
        languages=LANGUAGES,
        settings={
            # "Май 2021" or "2021" alone is no publication date: never invent the day.
            "REQUIRE_PARTS": ["day", "month"],
            "TIMEZONE": site.TIMEZONE,
            "RETURN_AS_TIMEZONE_AWARE": True,
            "PREFER_DATES_FROM": "past",
            "DATE_ORDER": "DMY",
            "RELATIVE_BASE": relative_base,
        },
    )


def _aware(dt: datetime) -> datetime:
    return dt if dt.tzinfo is not None else dt.replace(tzinfo=LOCAL_TZ)


# Zone abbreviations some pages put after an ISO time («2020-09-25T16:02:50CDT»): the
# unambiguous common ones only (IST, CST outside the US... are left unparsed).
TZ_ABBREVIATIONS = {
    "UTC": 0,
    "GMT": 0,
    "UT": 0,
    "EST": -5,
    "EDT": -4,
    "CST": -6,
    "CDT": -5,
    "MST": -7,
    "MDT": -6,
    "PST": -8,
    "PDT": -7,
    "CET": 1,
    "CEST": 2,
    "EET": 2,
    "EEST": 3,
    "MSK": 3,
}
_TZ_TAIL_RE = re.compile(
    r"(?<=\d)\s*(?:\(?([A-Z]{2,4})\)?|(?:GMT|UTC)\s*([+-]\d{1,2})(?::?(\d{2}))?)"
    r"(?:\s*\([^()]*\))?$"
)  # («GMT+0000 (Coordinated Universal Time)»)


def _tz_tail_to_offset(text: str) -> str:
    """«...16:02:50CDT» -> «...16:02:50-05:00», «... 22:11 GMT+10» -> «... 22:11+10:00»."""
    m = _TZ_TAIL_RE.search(text)
    if not m:
        return text
    if m.group(1) is not None:
        hours = TZ_ABBREVIATIONS.get(m.group(1))
        if hours is None:
            return text
        minutes = 0
    else:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if abs(hours) > 14:
            return text
    sign = "-" if hours < 0 or m.group(2) and m.group(2).startswith("-") else "+"
    return f"{text[: m.start()]}{sign}{abs(hours):02d}:{minutes:02d}"


def _fixed_offset(offset: str) -> timezone | None:
    """«+05:30», «-0400», «Z» -> that fixed offset; None for one no clock has («+99:00»)."""
    if offset == "Z":
        return UTC
    sign = -1 if offset[0] == "-" else 1
    hours, minutes = int(offset[1:3]), int(offset[-2:])
    if hours > 18 or minutes > 59:
        return None
    return timezone(sign * timedelta(hours=hours, minutes=minutes))


def _split_tz_tail(text: str) -> tuple[str, timezone | None]:
    """«13 Jan 2020, 22:11 GMT+10» -> («13 Jan 2020, 22:11», UTC+10): the page's own
    offset, kept as given (dateparser would convert it to its default zone)."""
    if not any(c.isupper() for c in text[-40:]):
        return text, None
    with_offset = _tz_tail_to_offset(text)
    if with_offset == text:
        return text, None
    return with_offset[:-6].rstrip(), _fixed_offset(with_offset[-6:])


# Basic (compact) ISO 8601: «20201123T11:02:35Z», «20200316T130000+0100».
_COMPACT_ISO_RE = re.compile(r"^\d{8}T\d{2}:?\d{2}")


def _parse_iso(text: str) -> ParsedDate | None:
    if _ISO_DATE_ONLY_RE.match(text):
        try:
            d = date.fromisoformat(text)
        except ValueError:
            return None
        return ParsedDate(datetime.combine(d, time(), LOCAL_TZ), has_time=False)
    if not (len(text) >= 16 and text[4] == "-" and text[10] in "T ") and not _COMPACT_ISO_RE.match(
        text
    ):
        return None
    if text[-1:].isalpha() and text[-1] != "Z" or "GMT" in text or "UTC" in text:
        text = _tz_tail_to_offset(text)
    try:
        return ParsedDate(_aware(datetime.fromisoformat(text.replace("Z", "+00:00"))), True)
    except ValueError:
        return None


# A year-first numeric date inside longer text (unambiguous in every locale):
# «이용민 기자 | 2020-03-04 16:52:59», «showDate("2020/04/17 01:43:09")», «2020.08.19.»
_YMD_IN_TEXT_RE = re.compile(
    r"(?<![\d/.-])(?P<y>(?:19|20)\d{2})(?P<sep>[-/.])(?P<mo>\d{1,2})(?P=sep)(?P<d>\d{1,2})"
    r"(?:\.?(?:T|,?\s+|(?<=\.)(?=\d{1,2}\.\d{2}\b))(?P<h>\d{1,2})[:.](?P<m>\d{2})"
    r"(?::(?P<s>\d{1,2}))?(?:\.\d+)?(?P<tz>Z|[+-]\d{2}:?\d{2}\b)?)?(?![\d/-]|\.\d)"
)


def _parse_ymd_in_text(text: str) -> ParsedDate | None:
    m = _YMD_IN_TEXT_RE.search(text)
    if not m:
        return None
    try:
        value = datetime(
            int(m.group("y")),
            int(m.group("mo")),
            int(m.group("d")),
            int(m.group("h") or 0),
            int(m.group("m") or 0),
            int(m.group("s") or 0),
            tzinfo=LOCAL_TZ,
        )
    except ValueError:
        return None
    if m.group("tz"):  # «2020-12-05T23:15:0Z»: the offset given
        zone = _fixed_offset(m.group("tz"))
        return ParsedDate(value.replace(tzinfo=zone), has_time=True) if zone else None
    near = text[: m.end()] + text[m.end() : m.end() + 10].rstrip()  # a zone word after it?
    tail = _tz_tail_to_offset(near)
    if m.group("h") and tail != near:
        parsed = _parse_iso(tail[m.start() :].replace(m.group("sep"), "-", 2).replace(" ", "T", 1))
        if parsed is not None:
            return parsed
    return ParsedDate(value, has_time=m.group("h") is not None)


def _parse_rfc822(text: str) -> ParsedDate | None:
    if "," not in text[:5] and not text[:1].isdigit():
        return None
    try:
        dt = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return ParsedDate(_aware(dt), has_time=True) if dt else None


_MONTHS_GENITIVE = {
    name: n
    for n, name in enumerate(
        (
            "января",
            "февраля",
            "марта",
            "апреля",
            "мая",
            "июня",
            "июля",
            "августа",
            "сентября",
            "октября",
            "ноября",
            "декабря",
        ),
        start=1,
    )
}
_TIME_TAIL = r"(?:,?\s*(?:в\s*)?(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2}))?)?"
# The two forms most Russian news pages use, parsed without dateparser (far cheaper).
_NUMERIC_RE = re.compile(r"^(?P<d>\d{1,2})\.(?P<mo>\d{1,2})\.(?P<y>\d{4})" + _TIME_TAIL + "$")
_NAMED_RE = re.compile(
    r"^(?:[а-яё]{2,11},?\s+)?(?P<d>\d{1,2})\s+(?P<mo>[а-яё]+)\s+(?P<y>\d{4})"
    r"(?:\s*(?:г\.?|года))?" + _TIME_TAIL + "$",
    re.IGNORECASE,
)


def _parse_common_ru(text: str) -> ParsedDate | None:
    m = _NUMERIC_RE.match(text) or _NAMED_RE.match(text)
    if not m:
        return None
    month = m.group("mo")
    month_number = int(month) if month.isdigit() else _MONTHS_GENITIVE.get(month.lower())
    if month_number is None:
        return None
    try:
        value = datetime(
            int(m.group("y")),
            month_number,
            int(m.group("d")),
            int(m.group("h") or 0),
            int(m.group("m") or 0),
            int(m.group("s") or 0),
            tzinfo=LOCAL_TZ,
        )
    except ValueError:
        return None
    return ParsedDate(value, has_time=m.group("h") is not None)


def _parse_visible(text: str, now: datetime) -> ParsedDate | None:
    if _JUST_NOW_RE.match(text):
        return ParsedDate(now.astimezone(LOCAL_TZ).replace(microsecond=0), has_time=True)
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
        if data.date_obj is None:
            continue
        value = _aware(data.date_obj)
        has_time = bool(_HAS_TIME_RE.search(candidate))
        if not has_time and _RELATIVE_DAY_RE.search(candidate):
            value = value.replace(hour=0, minute=0, second=0, microsecond=0)  # «вчера»
        return ParsedDate(value, has_time)
    return None


def parse_date(text: str | None, now: datetime | None = None) -> ParsedDate | None:
    """One candidate string -> instant, or None when it is not clearly a date.

    `now` anchors relative dates ("вчера") and should be the fetch time.
    """
    parsed = _read_date(text, now)
    if parsed is None or parsed.value < EARLIEST or parsed.value.year > LATEST_YEAR:
        return None
    return parsed


def _read_date(text: str | None, now: datetime | None) -> ParsedDate | None:
    """parse_date's reading, whatever the year (normalize_dates warns of the dates
    outside its window instead of ignoring them)."""
    if not text:
        return None
    text = squash(str(text))
    if not text or len(text) > 200:
        return None
    # A zone after the time («10:41 MSK», «22:11 GMT+10»): the wall time is the page's,
    # in that zone, whichever form the date part has.
    head, own_tz = _split_tz_tail(text)
    parsed = _parse_absolute(head)
    if parsed is None:
        parsed = _parse_visible(head, now or clock.now())
    if parsed is not None and own_tz is not None and parsed.has_time:
        parsed = ParsedDate(parsed.value.replace(tzinfo=own_tz), has_time=True)
    if parsed is not None and parsed.value.microsecond:  # stored to the second
        parsed = ParsedDate(parsed.value.replace(microsecond=0), parsed.has_time)
    return parsed


@lru_cache(maxsize=4096)
def _parse_absolute(text: str) -> ParsedDate | None:
    """The forms that need no `now`: ISO, RFC 822, the common Russian ones. (Cached: the
    extractor asks whether a page's dates are settled, then the pipeline parses them.)"""
    parsed = _parse_iso(text) or _parse_rfc822(text) or _parse_common_ru(text)
    if (
        parsed is None
        and (m := _RU_DATE_RE.search(text))
        and not _HAS_TIME_RE.search(text[: m.start()] + " " + text[m.end() :])
    ):
        # «Опубликовано: 25 мая 2021, 10:41 | Политика»: the date part, still fast
        # (unless a time stands apart from it: «10:41, 25 мая 2021» is dateparser's).
        parsed = _parse_common_ru(m.group(0))
    if parsed is None:
        parsed = _parse_ymd_in_text(text)
    return parsed


def in_window(value: datetime, now: datetime) -> bool:
    """Whether an aware instant can be a page's date fetched at `now` (see EARLIEST)."""
    return EARLIEST <= value <= now + FUTURE_SLACK


def _outside_window(what: str, day: date, now: datetime, layer: str = "") -> str:
    """The warning for a date outside the window. (`day` as the source gave it: the
    site's zone can be out of range at year 9999.)"""
    latest = (now + FUTURE_SLACK).astimezone(LOCAL_TZ).date()
    source = f" ({layer})" if layer else ""
    return f"{what} {day.isoformat()}{source} is outside {EARLIEST.date()}..{latest}: ignored"


def to_iso(dt: datetime) -> str:
    return dt.isoformat(timespec="seconds")


def to_utc_iso(dt: datetime) -> str:
    return dt.astimezone(UTC).isoformat(timespec="seconds")


@dataclass
class _Choice:
    """One field's date from its candidates, and what the choice noticed."""

    date: ParsedDate | None = None
    layer: str = ""  # set with date
    disagreements: list[str] = field(default_factory=list)
    rejected: list[str] = field(default_factory=list)  # dates outside the window


def _choose(
    candidates: list[list[str]] | None, now: datetime, what: str, url_day: date | None = None
) -> _Choice:
    """The page's date for one field from its candidates.

    1. Candidates come best layer first; the first that parses wins. A date outside the
       window (see EARLIEST) is rejected, with a warning, as if it did not parse.
    2. A winner without a time of day gives way to a later candidate of the same local
       day that has one (JSON-LD "2021-05-25" + visible "25 мая 2021, 10:41").
    3. The first parseable candidate of every other layer is a cross-check: a different
       local day is recorded as a warning, never silently dropped.
    4. htmldate's bare day (no time of day: often a date anywhere in the page, such as
       today's date in the top bar) gives way to the visible date with a time nearest the
       headline ("generic") of another day, unless the URL names htmldate's day.
    """
    choice = _Choice()
    checked_layers: set[str] = set()
    for layer, text in candidates or []:
        if choice.date is not None and layer in checked_layers:
            continue
        parsed = _read_date(text, now)
        if parsed is None:
            continue
        if not in_window(parsed.value, now):
            choice.rejected.append(_outside_window(what, parsed.value.date(), now, layer))
            continue
        checked_layers.add(layer)
        best, best_layer = choice.date, choice.layer
        if best is None:
            choice.date, choice.layer = parsed, layer
            continue
        day, best_day = _local_day(parsed), _local_day(best)
        if day != best_day:
            choice.disagreements.append(
                f"{what} {best_day} ({best_layer}) disagrees with {day} ({layer})"
            )
            if (
                best_layer == "htmldate"
                and layer == "generic"
                and parsed.has_time
                and not best.has_time
                and best_day != url_day
            ):
                choice.date, choice.layer = parsed, layer
        elif parsed.has_time and not best.has_time:
            choice.date, choice.layer = parsed, layer
    return choice


def settled_without_text(candidates: list[list[str]], url: str) -> bool:
    """Whether the publication date is settled before the page's visible text is read.

    True when the best candidate parses with a time of day and a second source (another
    layer, or the URL's /YYYY-MM-DD/) names the same local day. Dates found in the text
    come last, so they could then not change the date (rule 2 of `_choose` needs a
    winner without a time), only add a third opinion; scanning the text for them is the
    costliest part of extraction, and is skipped. (A date after the window by this
    machine's clock is no settled date: normalize_dates, anchored at the fetch, would
    reject it.)
    """
    days: list[date] = []
    layers: set[str] = set()
    for layer, text in candidates:
        if layer in layers or (parsed := parse_date(text)) is None:
            continue
        if not days and not parsed.has_time or not in_window(parsed.value, clock.now()):
            return False
        layers.add(layer)
        days.append(_local_day(parsed))
        if len(days) == 2:
            return days[1] == days[0]  # two layers disagreeing: read the text too
    return bool(days) and url_date(url) == days[0]


# Dates in the path of a URL, in the forms news sites use: /2020/08/24/, /2020-08-24/,
# /20200316/ (a whole path segment, or a segment's leading or trailing part:
# /news-20200113, /2020/08/24/670291/). Years 1990-2099 only; the month and day must exist.
_URL_DATE_RES = (
    re.compile(r"/((?:19|20)\d{2})/(0?[1-9]|1[0-2])/(0?[1-9]|[12]\d|3[01])(?:/|$)"),
    re.compile(r"[/_-]((?:19|20)\d{2})-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])(?:[/_.-]|$)"),
    re.compile(r"[/_-]((?:19|20)\d{2})(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])(?:[/_.]|$)"),
)


def url_date(url: str) -> date | None:
    """The date in a URL's path: the site's permalink date (kantkg.site.url_date), else
    the first of the common forms above. A cross-check and the last resort."""
    if not url:
        return None
    if (day := site.url_date(url)) is not None:
        return day
    return _generic_url_date(urlsplit(url).path)


@lru_cache(maxsize=1024)
def _generic_url_date(path: str) -> date | None:
    for pattern in _URL_DATE_RES:
        if m := pattern.search(path):
            try:
                return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError:
                continue
    return None


def _utc_stamp_of_local_day(parsed: ParsedDate, day: date) -> bool:
    """Whether a time given in UTC (offset zero), on another day in the site's zone too,
    can be `day`'s in the publisher's zone:
    another day than the UTC one, reached with an offset between -10:00 and +14:00 (the
    offsets of nearly all the inhabited world)."""
    value = parsed.value
    if (
        not parsed.has_time
        or value.utcoffset() != timedelta(0)
        or value.date() == day
        or _local_day(parsed) == day
    ):  # (in the site's zone it is that day: consistent)
        return False
    return (value - timedelta(hours=10)).date() == day or (
        value + timedelta(hours=14)
    ).date() == day


def _local_day(parsed: ParsedDate) -> date:
    return parsed.value.astimezone(LOCAL_TZ).date()


def normalize_dates(item: ArticleItem, now: datetime | None = None) -> ArticleItem:
    """Fill published/modified (+ UTC, local date, warnings) from `dates_raw` in place.

    `now` is the fetch time (default: now); relative dates resolve against it, and dates
    after it (see EARLIEST) are rejected with a warning. The URL date (/YYYY-MM-DD/) is
    a cross-check (disagreement recorded) and the last resort.
    """
    now = _aware(now) if now is not None else clock.now()
    raw = item.get("dates_raw") or {}
    method = item.setdefault("method", {})
    warnings: list[str] = []
    url_day = _url_day(item, now, warnings)

    found = _choose(raw.get("published"), now, "published", url_day)
    warnings += found.rejected + found.disagreements
    published, layer = found.date, found.layer
    if published is not None:
        local_day = _local_day(published)
        own_permalink = site.is_article_url(item.get("canonical_url") or item.get("url") or "")
        if (
            url_day is not None
            and not own_permalink
            and _utc_stamp_of_local_day(published, url_day)
        ):
            # (On the configured site's permalinks the publisher's zone is known: a UTC
            # time is exact there, and a disagreement stays a warning below.)
            # A time given in UTC only (the page's offset unknown) one day off the URL's
            # date, near enough midnight for a real offset to move it there: the URL,
            # written in the publisher's time, names the day; the time is then unknown.
            warnings.append(
                f"published {to_iso(published.value)} ({layer}) is UTC; "
                f"the URL names {url_day.isoformat()}"
            )
            published = ParsedDate(datetime.combine(url_day, time(), LOCAL_TZ), False)
            layer, local_day = "url", url_day
        if url_day is not None and local_day != url_day:
            warnings.append(
                f"published {local_day.isoformat()} ({layer}) disagrees with "
                f"URL date {url_day.isoformat()}"
            )
    elif url_day is not None:
        published = ParsedDate(datetime.combine(url_day, time(), LOCAL_TZ), has_time=False)
        layer = "url"

    if published is not None:
        item["published"] = to_iso(published.value)
        item["published_utc"] = to_utc_iso(published.value)
        item["published_date"] = _local_day(published).isoformat()
        method["published"] = layer
    else:
        item["published"] = item["published_utc"] = item["published_date"] = None

    found_mod = _choose(raw.get("modified"), now, "modified")
    warnings += found_mod.rejected  # (modified dates may differ between sources)
    if found_mod.date is not None:
        item["modified"] = to_iso(found_mod.date.value)
        item["modified_utc"] = to_utc_iso(found_mod.date.value)
        method["modified"] = found_mod.layer
    else:
        item["modified"] = item["modified_utc"] = None

    item["date_warnings"] = warnings
    return item


def _url_day(item: ArticleItem, now: datetime, warnings: list[str]) -> date | None:
    """The date in the item's URL (its canonical URL's first), when it can be a page's
    date; one outside the window (/9999-12-31/, /0001-01-01/) is a warning instead."""
    day = url_date(item.get("canonical_url") or "") or url_date(item.get("url") or "")
    if day is None or in_window(datetime.combine(day, time(), LOCAL_TZ), now):
        return day
    warnings.append(_outside_window("URL date", day, now))
    return None
