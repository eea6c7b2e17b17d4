"""Datasette plugin loaded by `kantkg serve`: the archive's search rule inside SQL.

`kantkg_match(text)` turns a user's words into the stemmed FTS5 query the archive's
index understands, so canned queries search exactly like `kantkg search`.
"""

from datasette import hookimpl

from kantkg.archive.textsearch import parse_query


def kantkg_match(text: str | None) -> str:
    # An empty MATCH string is an FTS error; a term no stem can equal matches nothing.
    return parse_query(text or "").match or '"\u2400"'


@hookimpl
def prepare_connection(conn):
    conn.create_function("kantkg_match", 1, kantkg_match, deterministic=True)
