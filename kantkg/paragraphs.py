"""Paragraph rules: normalize, drop boilerplate, deduplicate, count what was removed.

kant.kg pages repeat paragraphs (the seed article repeats two of them) and end with a
«Ссылка на новость: <url>» line. Comparison uses a folded key (NFKC, case, quotes,
dashes, soft hyphens, whitespace, trailing punctuation) so that visually identical
paragraphs are caught; the stored text is only whitespace-normalized.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from kantkg.items import ArticleItem

import re
import unicodedata
from bisect import bisect_left, bisect_right
from dataclasses import dataclass, field

from kantkg import bounds, site
from kantkg.whitespace import is_squashed, squash

# Short lines may legitimately repeat («—» separators, «Вопрос:» labels in interviews).
MIN_DEDUPE_CHARS = 20
# Long paragraphs that differ only by a typo or a word are still one paragraph.
NEAR_DUPLICATE_MIN_CHARS = 80
NEAR_DUPLICATE_SIMILARITY = 0.9  # Jaccard similarity of the paragraphs' word sets

# One regex scan with a lookup per match, not str.translate tables: translate looks every
# character up in a dict, and a paragraph holds a handful of these.
_INVISIBLE = "\u00ad\u200b\u200c\u200d\u2060\ufeff"
_INVISIBLE_RE = re.compile(f"[{_INVISIBLE}]")
_FOLD = (
    dict.fromkeys(_INVISIBLE, "")
    | dict.fromkeys("«»„“”‟″＂‹›", '"')
    | dict.fromkeys("‘’‚‛′", "'")
    | dict.fromkeys("‐‑‒–—―−", "-")
)
_FOLD_RE = re.compile(f"[{''.join(_FOLD)}]")
_TRAILING_PUNCT = " .,;:!?…\"'-"  # stripped after whitespace is collapsed to single spaces


def normalize_text(text: str) -> str:
    """The stored form: NFC, invisible characters removed, whitespace (NBSP too) collapsed."""
    if is_squashed(text) and unicodedata.is_normalized("NFC", text):
        return text  # what extraction hands over, nearly always: checked in C, not rebuilt
    return squash(_INVISIBLE_RE.sub("", unicodedata.normalize("NFC", text)))


def _folded(text: str) -> str:
    """NFKC, quotes/dashes/invisibles folded, case folded, ё = е: character by character
    (NFKC too, between starters that compose with nothing, such as a newline)."""
    if not unicodedata.is_normalized("NFKC", text):  # (a quick check in C, usually true)
        text = unicodedata.normalize("NFKC", text)
    return _FOLD_RE.sub(_fold, text).casefold().replace("ё", "е")


def _key_of_folded(text: str) -> str:
    return squash(text).rstrip(_TRAILING_PUNCT)


def comparison_key(text: str) -> str:
    """The form two paragraphs are compared in; never stored."""
    return _key_of_folded(_folded(text))


_SEPARATOR = "\n"


def comparison_keys(texts: list[str]) -> list[str]:
    """comparison_key of each text, folded in one pass over the texts joined by a
    newline (a page's paragraphs are short: the calls cost more than the characters).
    The newline is a starter that folding never makes nor changes, so the joined
    text splits back into exactly the texts' folded forms."""
    if len(texts) < 2 or any(_SEPARATOR in text for text in texts):
        return [comparison_key(text) for text in texts]
    return [_key_of_folded(part) for part in _folded(_SEPARATOR.join(texts)).split(_SEPARATOR)]


def _fold(match: re.Match) -> str:
    return _FOLD[match.group()]


def boilerplate_reason(text: str, key: str | None = None) -> str | None:
    """Why a paragraph is site furniture rather than article text, or None. `key` is
    the paragraph's comparison_key, when the caller has it already."""
    key = comparison_key(text) if key is None else key
    if key.startswith(site.SOURCE_LINK_PREFIX):
        return "source-link"
    if key in site.BOILERPLATE_EXACT:
        return "boilerplate"
    if len(key) <= site.BOILERPLATE_MAX_CHARS and key.startswith(site.BOILERPLATE_PREFIXES):
        return "boilerplate"
    return None


@dataclass
class CleanResult:
    kept: list[str] = field(default_factory=list)
    removed: list[tuple[str, str]] = field(default_factory=list)  # (paragraph, reason)

    def count(self, *reasons: str) -> int:
        return sum(1 for _, reason in self.removed if reason in reasons)


def _is_near_duplicate(words: frozenset[str], earlier: list[frozenset[str]]) -> bool:
    """Word-set Jaccard: cheap (set operations) and blind to letter-frequency similarity,
    which makes any two Russian paragraphs of equal length look alike to char ratios.
    The rule in its plain form: clean_paragraphs asks _WordSets, which must agree."""
    size = len(words)
    return any(_alike(words, size, other) for other in earlier)


def _alike(words: frozenset[str], size: int, other: frozenset[str]) -> bool:
    other_size = len(other)
    # (sets whose sizes differ by more than the similarity allows cannot be alike)
    if (
        size < other_size * NEAR_DUPLICATE_SIMILARITY
        or other_size < size * NEAR_DUPLICATE_SIMILARITY
    ):
        return False
    common = len(words & other)
    return common >= NEAR_DUPLICATE_SIMILARITY * (size + other_size - common)


class _WordSets:
    """The long paragraphs' word sets seen so far, ordered by size: a new paragraph is
    compared only with those whose size allows the similarity (_is_near_duplicate over
    all of them gives the same answer, paragraph after paragraph)."""

    def __init__(self) -> None:
        self.sizes: list[int] = []
        self.sets: list[frozenset[str]] = []

    def has_near_duplicate(self, words: frozenset[str]) -> bool:
        size = len(words)
        # Sizes from just below size * similarity: _alike decides exactly.
        at = bisect_left(self.sizes, int(size * NEAR_DUPLICATE_SIMILARITY) - 1)
        while at < len(self.sizes) and self.sizes[at] * NEAR_DUPLICATE_SIMILARITY <= size:
            if _alike(words, size, self.sets[at]):
                return True
            at += 1
        return False

    def add(self, words: frozenset[str]) -> None:
        at = bisect_right(self.sizes, len(words))
        self.sizes.insert(at, len(words))
        self.sets.insert(at, words)


def clean_paragraphs(paragraphs: list[str]) -> CleanResult:
    """Keep article paragraphs in reading order; every removal is listed with its reason.

    Near-duplicates are looked for only up to bounds.MAX_PARAGRAPHS paragraphs: the
    search compares each long paragraph with the earlier ones of about its size, and a
    page of 49,000 such took hours; a page of more is junk (bounds.junk_reason) unless
    its exact repeats bring it under the bound.
    """
    result = CleanResult()
    seen: set[str] = set()
    long_word_sets = _WordSets()
    texts = [text for text in map(normalize_text, paragraphs) if text]
    near_duplicates = len(texts) <= bounds.MAX_PARAGRAPHS
    for text, key in zip(texts, comparison_keys(texts), strict=True):
        reason = boilerplate_reason(text, key)
        if reason:
            result.removed.append((text, reason))
            continue
        if len(key) >= MIN_DEDUPE_CHARS:
            if key in seen:
                result.removed.append((text, "duplicate"))
                continue
            words = (
                frozenset(key.split())
                if near_duplicates and len(key) >= NEAR_DUPLICATE_MIN_CHARS
                else None
            )
            if words and long_word_sets.has_near_duplicate(words):
                result.removed.append((text, "near-duplicate"))
                continue
            seen.add(key)
            if words:
                long_word_sets.add(words)
        result.kept.append(text)
    return result


def clean_item(item: ArticleItem) -> ArticleItem:
    """Apply clean_paragraphs to an item in place and record the counts."""
    explain_clean_item(item)
    return item


def explain_clean_item(item: ArticleItem) -> list[tuple[str, str]]:
    """clean_item, returning what it removed with the reasons (for doctor)."""
    result = clean_paragraphs(item.get("paragraphs") or [])
    item["paragraphs"] = result.kept
    item["duplicates_removed"] = result.count("duplicate", "near-duplicate")
    item["boilerplate_removed"] = result.count("source-link", "boilerplate")
    return result.removed
