"""The SQLite archive, as one small API (sqlite-utils style): `from kantkg import archive`.

    schema     tables, migrations, opening a file, the transaction rule
    writes     articles in: upsert (row, index, revision, capture), a crawl's Batch
    captures   every article response as received: store, revisits, read back
    crawllog   the crawls log, page validators, what crawls could not see, health
    search     reading: full-text search, filters, export, lookups
    textsearch the stems behind the search index (PyStemmer)
    sqlite     the DB-API module every connection uses

Nothing here knows Scrapy or the crawl's stats: the crawl hands over rows.
"""

from kantkg.archive.captures import (
    StoredCapture,
    add_capture,
    captures_of,
    count_captures,
    iter_captures,
    latest_page,
    payload_digest,
)
from kantkg.archive.crawllog import (
    HISTORY_COLUMNS,
    Health,
    PageState,
    check_writable,
    crawl_history,
    finish_crawl,
    health,
    last_complete_crawl_start,
    last_crawl,
    page_state,
    record_unseen,
    set_exit_code,
    start_crawl,
    unseen_urls,
)
from kantkg.archive.schema import (
    SCHEMA_VERSION,
    ArchiveError,
    max_megabytes,
    open_archive,
    open_readonly,
    transaction,
)
from kantkg.archive.search import (
    EXPORT_COLUMNS,
    RANK,
    article_filters,
    count_articles,
    count_matches,
    export_rows,
    get_article,
    search,
    sections,
    sections_named,
)
from kantkg.archive.textsearch import QueryError
from kantkg.archive.writes import (
    Batch,
    CommitError,
    article_key,
    unarchivable_reason,
    upsert_article,
)

__all__ = [
    "max_megabytes",
    "QueryError",
    "HISTORY_COLUMNS",
    "count_matches",
    "crawl_history",
    "sections",
    "sections_named",
    "EXPORT_COLUMNS",
    "RANK",
    "SCHEMA_VERSION",
    "ArchiveError",
    "Batch",
    "CommitError",
    "Health",
    "PageState",
    "article_filters",
    "article_key",
    "check_writable",
    "StoredCapture",
    "add_capture",
    "captures_of",
    "count_captures",
    "iter_captures",
    "latest_page",
    "payload_digest",
    "count_articles",
    "export_rows",
    "finish_crawl",
    "get_article",
    "health",
    "last_complete_crawl_start",
    "last_crawl",
    "open_archive",
    "open_readonly",
    "page_state",
    "record_unseen",
    "search",
    "set_exit_code",
    "start_crawl",
    "transaction",
    "unarchivable_reason",
    "unseen_urls",
    "upsert_article",
]
