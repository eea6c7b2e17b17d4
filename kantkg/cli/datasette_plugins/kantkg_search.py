"""Datasette plugin loaded by `kantkg serve`: the archive's search rule inside SQL, its
snippets shown highlighted, the article page's paragraphs, the charts, and no writes.

- `kantkg_match(text)` turns a user's words into the stemmed FTS5 query the archive's
  index understands, so canned queries search exactly like `kantkg search`;
- `kantkg_snippet(text, q)` is the hit's window of `text` (textsearch.snippet) as HTML:
  the text escaped, the matching words in <mark>; a column called `snippet` is shown as
  such (only <mark> passes: everything else in the cell is escaped, whatever wrote it);
- a search hit's title links to its article page (templates/row.html);
- the canned queries in kantkg.cli.serve.CHARTS open as a datasette-plot chart;
- every connection to the archive is `PRAGMA query_only`: nothing writes through
  Datasette, whatever its permissions say;
- `kantkg serve`'s temporary metadata and configuration files are removed once read.
"""

from __future__ import annotations

import contextlib
import html
import json
import os
import re
import tempfile
from pathlib import Path

from datasette import hookimpl
from markupsafe import Markup, escape

from kantkg.archive.textsearch import QueryError, parse_query, snippet
from kantkg.cli.serve import CHARTS

# An empty MATCH string is an FTS error; a term no stem can equal matches nothing.
NOTHING = '"\u2400"'
# Stand-ins for <mark> while the text is escaped (private use: never in an article).
_OPEN, _CLOSE = "\ue000", "\ue001"
_MARK_TAG = re.compile(r"(</?mark>)")


def kantkg_match(text: str | None) -> str:
    try:
        return parse_query(text or "").match or NOTHING
    except QueryError:  # only excluded words: nothing asked for
        return NOTHING


def kantkg_snippet(text: str | None, q: str | None) -> str:
    """The words of `text` around the query's hits, as HTML: escaped, hits in <mark>."""
    try:
        query = parse_query(q or "")
    except QueryError:
        return str(escape(text or ""))[:300]
    marked = snippet(text or "", query, mark=(_OPEN, _CLOSE))
    return str(escape(marked)).replace(_OPEN, "<mark>").replace(_CLOSE, "</mark>")


def marked_html(value: str) -> Markup:
    """A snippet cell as HTML: <mark> and </mark> as they are, everything else escaped
    (entities read first, so kantkg_snippet's escaping is not doubled)."""
    parts = _MARK_TAG.split(value)
    return Markup(
        "".join(
            part if part in ("<mark>", "</mark>") else escape(html.unescape(part)) for part in parts
        )
    )


def paragraphs(body: str | None) -> list[str]:
    """An article's body as its paragraphs (the archive joins them with a blank line)."""
    return [p.strip() for p in (body or "").split("\n\n") if p.strip()]


def chart_script(query: str | None) -> str:
    """JavaScript that opens a CHARTS query as its chart: datasette-plot reads the marks
    from the page's URL, so they are put there unless the URL names others."""
    mark = CHARTS.get(query or "")
    if mark is None:
        return ""
    return (
        "(() => { const u = new URL(window.location.href);"
        " if (!u.searchParams.has('_plot-mark')) {"
        f" u.searchParams.append('_plot-mark', {json.dumps(json.dumps(mark))});"
        " window.history.replaceState(null, '', u); } })();"
    )


def remove_read_once(paths: list[str]) -> None:
    """kantkg serve's metadata and configuration files, read by now: removed, so no run
    leaves them in the temporary directory (only files of kantkg's names there)."""
    for path in paths:
        file = Path(path)
        if file.parent == Path(tempfile.gettempdir()) and file.name.startswith("kantkg-"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(file)


@hookimpl
def startup(datasette):
    remove_read_once((datasette.plugin_config("kantkg") or {}).get("read_once", []))


@hookimpl
def prepare_connection(conn, database, datasette):
    conn.create_function("kantkg_match", 1, kantkg_match, deterministic=True)
    conn.create_function("kantkg_snippet", 2, kantkg_snippet, deterministic=True)
    served = datasette.databases.get(database)
    if served is not None and served.path:  # a file served, not Datasette's own databases
        conn.execute("PRAGMA query_only = ON")


@hookimpl
def prepare_jinja2_environment(env):
    env.filters["kantkg_paragraphs"] = paragraphs


@hookimpl
def render_cell(row, value, column, table, database, datasette, request):
    if column == "snippet" and isinstance(value, str):
        return marked_html(value)
    if (
        column == "title"
        and table is None
        and request is not None
        and request.url_vars.get("table") == "search"
        and isinstance(value, str)
        and "id" in row.keys()  # noqa: SIM118 (a sqlite3.Row's `in` looks at its values)
    ):
        href = datasette.urls.row(database, "articles", str(row["id"]))
        return Markup(f'<a href="{escape(href)}">{escape(value)}</a>')
    return None


@hookimpl
def extra_body_script(view_name, request):
    if request is None:
        return ""
    return chart_script(request.url_vars.get("table"))
