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


def words(text: str) -> list[str]:
    return _WORD_RE.findall(text.lower().replace("ё", "е"))


def index_text(text: str) -> str:
    """The text as the FTS index stores it: stems separated by spaces, order kept."""
    return " ".join(map(stem, words(text)))


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


_QUOTED_RE = re.compile(r'"([^"]*)"?')


def parse_query(text: str) -> Query:
    """User text -> a safe FTS5 query. Words are all required; "a phrase" in double
    quotes must appear in order; a trailing * makes a word a prefix. Everything else
    (FTS operators, brackets, column filters) is plain text, so no user input can be
    an FTS syntax error."""
    parts: list[str] = []
    stems: set[str] = set()
    prefixes: set[str] = set()
    pos = 0
    for m in _QUOTED_RE.finditer(text):
        _plain(text[pos : m.start()], parts, stems, prefixes)
        phrase = [stem(w) for w in words(m.group(1))]
        if phrase:
            stems.update(phrase)
            parts.append('"' + " ".join(phrase) + '"')
        pos = m.end()
    _plain(text[pos:], parts, stems, prefixes)
    return Query(" ".join(parts), frozenset(stems), frozenset(prefixes))


def _plain(text: str, parts: list[str], stems: set[str], prefixes: set[str]) -> None:
    tokens = re.findall(r"\w+\*?", text.lower().replace("ё", "е"))
    meaningful = [t for t in tokens if t.rstrip("*") not in STOPWORDS] or tokens
    for token in meaningful:
        word = token.rstrip("*")
        if token.endswith("*"):
            prefixes.add(word)
            parts.append(f'"{word}"*')
        else:
            stems.add(stem(word))
            parts.append(f'"{stem(word)}"')


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
