"""Russian-aware full-text search terms: one rule for the index and for queries.

SQLite's FTS5 neither folds ё/е nor knows that «Путин», «Путина» and «Путину» are one
word, so the archive indexes *stems*: every word is case-folded, ё→е, stemmed with
Snowball's Russian stemmer (PyStemmer, C), then passed through one surname rule, and
the query goes through exactly the same function.

The surname rule: Snowball stems «Жапаров» to «жапар» but «Жапарова» / «Жапаровым» to
«жапаров» (it reads the nominative's -ов as a suffix, the oblique cases' -ов as stem).
Stripping a final -ов/-ев from stems of 5+ letters makes all of them «жапар»; the cost
is a little over-matching (голова and гол share «гол»), acceptable for search.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import Stemmer

_WORD_RE = re.compile(r"\w+", re.UNICODE)
_STEMMER = Stemmer.Stemmer("russian")
_SURNAME_SUFFIXES = ("ов", "ев")
_SURNAME_MIN_STEM = 5
# Dropped from plain (non-phrase) queries: they match nearly every article.
_STOPWORDS_TEXT = (
    "и в во не что он на я с со как а то все она так его но да ты к у же вы за бы по "
    "только ее мне было вот от меня еще нет о из ему теперь когда даже ну ли если уже "
    "или ни быть был него до вас нибудь опять уж вам ведь там потом себя ничего ей "
    "может они тут где есть надо ней для мы тебя их чем была сам чтоб без будто чего "
    "раз тоже себе под будет ж тогда кто этот того потому этого какой совсем ним здесь "
    "этом один почти мой тем чтобы нее были куда зачем всех никогда можно при наконец "
    "два об другой хоть после над больше тот через эти нас про всего них какая много "
    "разве три эту моя впрочем хорошо свою этой перед иногда лучше чуть том нельзя "
    "такой им более всегда конечно всю между"
)
STOPWORDS = frozenset(_STOPWORDS_TEXT.split())


@lru_cache(maxsize=200_000)
def stem(word: str) -> str:
    """One word -> its index term (call with lower-case, ё-folded words)."""
    term = _STEMMER.stemWord(word)
    if len(term) >= _SURNAME_MIN_STEM and term.endswith(_SURNAME_SUFFIXES):
        term = term[:-2]
    return term


# Their stems: what a plain query word is compared with.
_STOP_STEMS = frozenset(map(stem, STOPWORDS))


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower().replace("ё", "е"))


@lru_cache(maxsize=200_000)
def lemma(word: str) -> str:
    """A lower-case word's dictionary form (pymorphy3's most likely reading):
    «встречи» -> «встреча», «путиным» -> «путин», «ёлку» -> «ёлка»."""
    return _morph().parse(word)[0].normal_form


@lru_cache(maxsize=1)
def _morph():
    import pymorphy3  # (loaded once: its dictionaries take a tenth of a second)

    return pymorphy3.MorphAnalyzer()


def index_text(text: str) -> str:
    """The text as the FTS index stores it: the stems of its words, in order (what our
    queries match, phrases included); then, for FTS5 queries that do not stem (Datasette's
    ?_search=, sqlite-utils search), each word's dictionary form and its written form,
    where they differ from the stem (and their spellings with ё, as written): the base
    form «встреча» finds «встречи», «Жапаров» finds «Жапарову», and an inflected form
    finds itself."""
    written = _WORD_RE.findall(text.lower())
    found = [word.replace("ё", "е") for word in written]
    stems = [stem(word) for word in found]
    extra: list[str] = []
    for word, spelled, term in zip(found, written, stems, strict=True):
        base = lemma(spelled)
        for form in dict.fromkeys((base, base.replace("ё", "е"), spelled, word)):
            if form != term:
                extra.append(form)
    return " ".join(stems + extra)


def index_rule() -> str:
    """What the index's terms depend on -- this module's rule and the versions of the
    stemmer and dictionaries -- as a short fingerprint: an index written under another
    rule cannot be updated in place (its rows leave it by their old terms), so the
    archive writes it anew when this changes (kantkg.archive.schema)."""
    import hashlib
    from importlib.metadata import version

    sample = index_text("Ёлку у Жапарова встретили: Путиным, встречи, показатели 2021")
    versions = [version(name) for name in ("PyStemmer", "pymorphy3", "pymorphy3-dicts-ru")]
    return hashlib.sha1(repr((INDEX_RULE_VERSION, versions, sample)).encode()).hexdigest()[:16]


# Bump when index_text changes in a way the sample above might not show.
INDEX_RULE_VERSION = 2


@dataclass(frozen=True)
class Query:
    """A parsed user query: the FTS5 MATCH string and the terms to highlight."""

    match: str
    stems: frozenset[str]
    prefixes: frozenset[str] = frozenset()

    def __bool__(self) -> bool:
        return bool(self.match)

    def matches(self, word: str) -> bool:
        """Does one (lower-case, ё-folded) word of a text match the query?"""
        return stem(word) in self.stems or word.startswith(tuple(self.prefixes))


class QueryError(ValueError):
    """A query that cannot be searched as written (said in one line)."""


# A clause of a query: -"a phrase", "a phrase", -word, word, prefix*, or the word OR.
# (A hyphen inside a word, «Иссык-Куль», excludes nothing.)
_CLAUSE_RE = re.compile(
    r'(?P<neg>(?<![\w"*])-)?"(?P<phrase>[^"]*)"?'
    r"|(?P<wneg>(?<![\w\"*])-)?(?P<word>\w+)(?P<star>\*)?"
)


def parse_query(text: str) -> Query:
    """User text -> a safe FTS5 query. Words are all required; OR (in capitals) between
    words or phrases offers alternatives; -word and -"a phrase" exclude; "a phrase" in
    double quotes must appear in order; a trailing * makes a word a prefix. Everything
    else (brackets, column filters, other operators) is plain text, so no user input is
    an FTS syntax error; a query that only excludes raises QueryError."""
    groups: list[list[str]] = [[]]  # alternatives (OR), each a list of required clauses
    excluded: list[str] = []
    stems: set[str] = set()
    prefixes: set[str] = set()
    for m in _CLAUSE_RE.finditer(text):
        if m.group("word") == "OR" and not m.group("wneg") and not m.group("star"):
            if groups[-1]:
                groups.append([])
            continue
        if m.group("phrase") is not None:
            phrase = [stem(w) for w in words(m.group("phrase"))]
            clause = '"' + " ".join(phrase) + '"' if phrase else ""
            negated, found = bool(m.group("neg")), set(phrase)
        else:
            word = words(m.group("word"))[0] if words(m.group("word")) else ""
            if m.group("star"):
                clause, found = f'"{word}"*', set()
                if not m.group("wneg"):
                    prefixes.add(word)
            else:
                clause, found = f'"{stem(word)}"', {stem(word)}
            negated = bool(m.group("wneg"))
        if not clause:
            continue
        if negated:
            excluded.append(clause)
        else:
            groups[-1].append(clause)
            stems.update(found)
    groups = [_without_stopwords(group) for group in groups if group]
    # Highlight what is searched: stems of the clauses kept (not of dropped stopwords).
    kept = {clause for group in groups for clause in group}
    stems = {
        term
        for term in stems
        if f'"{term}"' in kept or any(" " in c and term in c.strip('"').split() for c in kept)
    }
    if not groups:
        if excluded:
            raise QueryError(
                f"{text.strip()!r} only excludes words (-word): add a word to look for"
            )
        return Query("", frozenset(), frozenset())
    match = " OR ".join(
        "(" + " ".join(group) + ")" if len(groups) > 1 else " ".join(group) for group in groups
    )
    if excluded:  # one NOT of all of them (a chain of NOTs is as deep as it is long)
        unique = list(dict.fromkeys(excluded))
        match = f"({match}) NOT " + (unique[0] if len(unique) == 1 else f"({' OR '.join(unique)})")
    return Query(match, frozenset(stems), frozenset(prefixes))


def _without_stopwords(clauses: list[str]) -> list[str]:
    """Plain words that match nearly every article are left out, unless they are all
    there is (phrases and prefixes stay)."""
    kept = [
        c
        for c in clauses
        if not (
            c.startswith('"') and c.endswith('"') and " " not in c and c.strip('"') in _STOP_STEMS
        )
    ]
    return kept or clauses


def snippet(text: str, query: Query, width: int = 24, mark: tuple[str, str] = ("[", "]")) -> str:
    """The `width`-word window of `text` holding most query words, those words marked."""
    tokens = re.findall(r"\S+", text)
    if not tokens:
        return ""
    known: dict[str, bool] = {}  # (an article repeats most of its words)
    hits = []
    for token in tokens:
        hit = known.get(token)
        if hit is None:
            hit = known[token] = any(query.matches(w) for w in words(token))
        hits.append(hit)
    start = 0
    count = best = sum(hits[:width])
    for i in range(1, len(tokens) - width + 1):  # slide the window; the first best wins
        count += hits[i + width - 1] - hits[i - 1]
        if count > best:
            start, best = i, count
    stop = min(len(tokens), start + width)
    shown = [f"{mark[0]}{tokens[i]}{mark[1]}" if hits[i] else tokens[i] for i in range(start, stop)]
    return ("… " if start else "") + " ".join(shown) + (" …" if stop < len(tokens) else "")
