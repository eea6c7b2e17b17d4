""" "Now", in one place: every timestamp the project writes or compares against (fetch
times, crawl rows, date windows, Retry-After) comes from here, so a test or a replay can
set the clock once."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> datetime:
    """The current time, timezone-aware, UTC."""
    return datetime.now(UTC)


def now_iso() -> str:
    """The current time as the archive writes it: ISO 8601, seconds, UTC offset."""
    return now().isoformat(timespec="seconds")
