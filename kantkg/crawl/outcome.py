"""What a finished crawl's stats mean: success or failure, and the counts worth keeping.

`scrapy crawl` exits 0 even when nothing could be fetched, so cron wrappers and the
`crawls` table decide from these rules instead.
"""

from __future__ import annotations

from kantkg.crawl import stats as keys


def crawl_counts(stats: dict) -> dict[str, int]:
    def get(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    return {
        "requests": get(keys.REQUESTS),
        "responses": get(keys.RESPONSES),
        "articles_seen": get(keys.ARTICLE_PAGES),
        "new": get(keys.articles("new")),
        "updated": get(keys.articles("updated")),
        "unchanged": get(keys.articles("unchanged")),
        "dropped": get(keys.DROPPED),
        "errors": get(keys.ERRORS_LOGGED) + get(keys.DOWNLOAD_EXCEPTIONS),
        "article_requests": get(keys.ARTICLE_REQUESTS),
        "not_modified": get(keys.NOT_MODIFIED),
    }


# Fields whose layer statistics reveal a theme change on the site.
DRIFT_FIELDS = ("title", "paragraphs")
DRIFT_SHARE = 0.5  # more than half of the articles on the weakest layer: say so
DRIFT_MIN_ARTICLES = 5  # too few articles say nothing


def drift_warnings(stats: dict) -> list[str]:
    """Signs that kant.kg changed its markup: most articles fell back to the generic
    layer, or got no date from the page itself (URL date or none)."""
    articles = int(stats.get(keys.EXTRACTED, 0) or 0)
    if articles < DRIFT_MIN_ARTICLES:
        return []
    warnings = []

    def share(field: str, layers: tuple[str, ...]) -> int:
        """Articles whose field came from one of the layers ("generic" counts its
        sub-layers too: generic/ours, generic/trafilatura, ...)."""
        prefix = f"{keys.LAYER_PREFIX}{field}/"
        return sum(
            int(value or 0)
            for key, value in stats.items()
            if key.startswith(prefix) and key[len(prefix) :].split("/")[0] in layers
        )

    for field in DRIFT_FIELDS:
        weak = share(field, ("generic", "none"))
        if weak > DRIFT_SHARE * articles:
            warnings.append(
                f"{field}: {weak} of {articles} articles "
                f"({100 * weak // articles}%) fell back to the generic layer "
                "or found nothing: has kant.kg changed its theme?"
            )
    undated = share("published", ("url", "none"))
    if undated > DRIFT_SHARE * articles:
        warnings.append(
            f"published: {undated} of {articles} articles "
            f"({100 * undated // articles}%) had no date on the page itself"
        )
    return warnings


_FAILURE_PREFIXES = {
    keys.DOWNLOAD_EXCEPTION_TYPES_PREFIX: "",
    keys.RETRY_REASONS_PREFIX: "retried: ",
    keys.RETRY_GAVE_UP: "gave up after retries",
    keys.HTTP_IGNORED_PREFIX: "http ",
    keys.SKIPPED_PREFIX: "skipped: ",
    keys.DROPPED_PREFIX: "dropped: ",
    keys.OFFSITE_FILTERED: "off-site link not followed",
    keys.ARCHIVE_ERRORS: "archive write failed",
    keys.FAILED_PREFIX: "failed: ",
    keys.UNSEEN_PREFIX: "not seen: ",
    keys.REFUSED_PREFIX: "refused (not http(s) on the site): ",
    keys.CAPPED_PREFIX: "stopped at the bound on ",
}


def failures_by_kind(stats: dict) -> dict[str, int]:
    """Every failure of a crawl, by kind, for the crawls row (errors are not all alike:
    a 404 of a vanished article is not a timeout)."""
    found: dict[str, int] = {}
    for key, value in stats.items():
        for prefix, label in _FAILURE_PREFIXES.items():
            if key.startswith(prefix) and isinstance(value, int):
                rest = key[len(prefix) :]
                if rest == "known":  # kantkg/skipped/known is the incremental crawl working
                    continue
                name = label + rest.rsplit(".", 1)[-1] if rest else label
                found[name] = found.get(name, 0) + value
    return dict(sorted(found.items()))


# What the crawl could not see, by kind and reason: the spider counts
# keys.unseen(kind, reason) (kind: sitemap, listing, article) and keys.capped(what) when
# a bound stopped it; the next run asks for them again.
# Answers that say "this article is gone": recorded, and not a hole in the archive.
GONE_STATUSES = (404, 410)
# More than this share of at least BLOCKED_MIN article requests gave no article (refused,
# redirected in circles or away, 404, blank pages): the crawler is blocked, or the site
# broken, whatever each answer said.
BLOCKED_SHARE = 0.5
BLOCKED_MIN = 5
# Finish reasons of a crawl that ran to its end, or to its time bound.
ENDED = ("finished", "closespider_timeout")
# Finish reasons of kantkg's own: the archive could not be opened or written; another
# crawl holds the archive's lock; the site gave no response at all; a setting is wrong.
ARCHIVE_ERROR, LOCKED, UNREACHABLE = "archive_error", "locked", "unreachable"
BAD_SETTING = "bad_setting"


def unseen(stats: dict) -> dict[str, dict[str, int]]:
    """kind -> reason -> count of what this crawl could not see."""
    found: dict[str, dict[str, int]] = {}
    for key, value in stats.items():
        if key.startswith(keys.UNSEEN_PREFIX) and isinstance(value, int) and value:
            kind, _, reason = key[len(keys.UNSEEN_PREFIX) :].partition("/")
            found.setdefault(kind, {})[reason] = value
    return found


def _detail(reasons: dict[str, int]) -> str:
    return ", ".join(f"{reason}: {count}" for reason, count in sorted(reasons.items()))


def incompleteness(stats: dict) -> list[str]:
    """Why this crawl did not see the whole site, one line per cause; [] = it did."""

    def count(key: str) -> int:
        return int(stats.get(key, 0) or 0)

    problems = []
    holes = unseen(stats)
    for kind in ("sitemap", "listing"):
        if kind in holes:
            problems.append(
                f"{sum(holes[kind].values())} {kind} page(s) not read ({_detail(holes[kind])})"
            )
    asked = count(keys.ARTICLE_REQUESTS)
    if "article" in holes:
        problems.append(
            f"{sum(holes['article'].values())} of {asked} article requests "
            f"failed ({_detail(holes['article'])})"
        )
    no_article = asked - count(keys.EXTRACTED) - count(keys.NOT_MODIFIED)
    if asked >= BLOCKED_MIN and no_article > BLOCKED_SHARE * asked:
        problems.insert(0, f"blocked? {no_article} of {asked} article requests gave no article")
    # The listing walk is the way to old articles only where sitemaps are not: its bound
    # leaves no hole when the sitemaps were all read.
    sitemaps_whole = count(keys.SITEMAPS_URLSET) and "sitemap" not in holes
    for key, value in sorted(stats.items()):
        what = key[len(keys.CAPPED_PREFIX) :]
        if (
            key.startswith(keys.CAPPED_PREFIX)
            and value
            and not (what == "listings" and sitemaps_whole)
        ):
            problems.append(f"stopped at the bound on {what}")
    if stats.get(keys.FINISH_REASON) == "closespider_timeout":
        problems.append("stopped at the crawl's time bound (CLOSESPIDER_TIMEOUT)")
    return problems


def status_of(code: int) -> str:
    """The crawl's status for its exit code: one vocabulary for the `crawls` row, `stats`,
    `health` and the exit code. 'ok' (0): it ran to its end and saw the whole site;
    'incomplete' (10): it ended but missed part of it (the next run catches up);
    'failed': any other code (it did not finish, or too much failed)."""
    return {EXIT_OK: "ok", EXIT_INCOMPLETE: "incomplete"}.get(code, "failed")


# Exit codes of every `kantkg` command, in one table (the README lists the crawl's; cron
# and monitors rely on them).
EXIT_OK = 0
EXIT_FAILED = 1  # the crawl did not finish (interrupted, crashed)
EXIT_USAGE = 2  # bad arguments or settings
EXIT_NOT_ARTICLE = 3  # doctor: the page is no article
EXIT_UNREADABLE = 4  # doctor: the page cannot be read
EXIT_ARCHIVE = 5  # the archive cannot be opened or written
EXIT_NOT_FOUND = 6  # show: no such article
EXIT_LOCKED = 7  # another crawl holds the lock
EXIT_UNREACHABLE = 8  # the site could not be reached: no response at all
EXIT_ERROR_RATE = 9  # finished, but too many requests failed
EXIT_INCOMPLETE = 10  # finished, but part of the site was not seen
DEFAULT_MAX_ERROR_RATE = 0.2
# What `kantkg crawl` says when it exits with one of its failure codes.
CRAWL_EXIT_MEANINGS = {
    EXIT_FAILED: "crawl did not finish",
    EXIT_ARCHIVE: "archive not writable",
    EXIT_LOCKED: "another crawl holds the lock",
    EXIT_UNREACHABLE: "site unreachable: no request got a response",
    EXIT_ERROR_RATE: "crawl failed: too many requests failed",
    EXIT_INCOMPLETE: "crawl incomplete: part of the site was not seen (the next run retries it)",
}


def exit_code(stats: dict, max_error_rate: float = DEFAULT_MAX_ERROR_RATE) -> int:
    """The exit code a finished `kantkg crawl` reports, from its own stats."""
    reason = stats.get(keys.FINISH_REASON)
    if reason is None:  # the crawl never ran (a crash before the spider opened)
        return EXIT_FAILED
    if reason == ARCHIVE_ERROR or stats.get(keys.ARCHIVE_ERRORS):
        return EXIT_ARCHIVE  # (also a last commit that failed as the crawl ended)
    if reason == LOCKED:
        return EXIT_LOCKED
    if reason == BAD_SETTING:
        return EXIT_USAGE
    if reason == UNREACHABLE or not stats.get(keys.RESPONSES):
        return EXIT_UNREACHABLE
    if reason not in ENDED:
        return EXIT_FAILED
    counts = crawl_counts(stats)
    if counts["requests"] and counts["errors"] / counts["requests"] > max_error_rate:
        return EXIT_ERROR_RATE
    if incompleteness(stats):
        return EXIT_INCOMPLETE
    return EXIT_OK


def crawl_record(
    stats: dict, finish_reason: str, max_error_rate: float = DEFAULT_MAX_ERROR_RATE
) -> dict:
    """What a finished crawl's `crawls` row says of it (kantkg.archive.finish_crawl writes
    it): exit code and status, counts, and why it is not ok, from its own stats."""
    judged = {**stats, keys.FINISH_REASON: finish_reason}
    code = exit_code(judged, max_error_rate)
    return {
        "status": status_of(code),
        "exit_code": code,
        "finish_reason": finish_reason,
        **crawl_counts(stats),
        "warnings": drift_warnings(stats),
        "incomplete": incompleteness(judged),
        "dropped_reasons": keys.members(stats, keys.DROPPED_PREFIX),
        "failures": failures_by_kind(stats),
        "stats": stats,
    }
