"""Datasette plugin loaded by `kantkg serve`: the archive's search rule inside SQL.

`kantkg_match(text)` turns a user's words into the stemmed FTS5 query the archive's
index understands, so canned queries search exactly like `kantkg search`.
"""

from datasette import hookimpl

from kantkg.archive.textsearch import QueryError, parse_query

# An empty MATCH string is an FTS error; a term no stem can equal matches nothing.
NOTHING = '"\u2400"'


def kantkg_match(text: str | None) -> str:
    try:
        return parse_query(text or "").match or NOTHING
    except QueryError:  # only excluded words: nothing asked for
        return NOTHING


@hookimpl
def prepare_connection(conn):
    conn.create_function("kantkg_match", 1, kantkg_match, deterministic=True)
