"""The generic body by agreement between independent extractors.

Three extractors look at a page in different ways: trafilatura (XPath rules and
boilerplate heuristics), readability-lxml (a score per block from text length, commas,
class names) and kantkg's own generic layer (the densest text block, `ours`). Each fails
on some pages, but seldom in the same way: when one grabs comments, a related-articles
list or only the lead, the other two still agree with each other.

1. trafilatura and ours agree (similar text): keep trafilatura's paragraphs that ours
   also has. Agreement says both found the article; what only trafilatura kept is
   mostly captions, bylines and "read more" lines (ours is the more precise one).
2. Otherwise readability breaks the tie: the candidate most similar to the other two
   (the medoid) wins, as it is; on a tie, trafilatura (the best alone).

Readability, the slowest of the three, runs only in case 2. The thresholds were chosen
on half of a benchmark of real news pages and checked on the other half (see the issue
notes); the score hardly moves over a wide range of them.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from kantkg.extract.libraries import (
    parse_for_libraries,
    readability_paragraphs,
    trafilatura_paragraphs,
)
from kantkg.extract.load import more_elements_than

SHINGLE_N = 4  # words per shingle
COVERED = 0.5  # a paragraph is "in" a candidate when half its shingles are
AGREEMENT = 0.8  # shingle Dice similarity from which two extractors found the same text

_WORD_RE = re.compile(r"\w+")


def words(paragraphs: Iterable[str]) -> list[str]:
    return _WORD_RE.findall(" ".join(paragraphs).lower())


def shingles(tokens: list[str]) -> set[tuple[str, ...]]:
    if not tokens:
        return set()
    return {tuple(tokens[i : i + SHINGLE_N]) for i in range(max(1, len(tokens) - SHINGLE_N + 1))}


def similarity(a: set, b: set) -> float:
    """Dice overlap of two candidates' shingle sets: 1 when they hold the same text,
    0 when either is empty."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def medoid(candidates: dict[str, set]) -> str:
    """The candidate most similar to all the others: an extractor that went wrong
    (navigation, comments, only the lead) disagrees with the two that did not.
    Ties (e.g. only two non-empty candidates) go to the first listed."""
    names = list(candidates)
    return max(
        names,
        key=lambda n: (
            sum(similarity(candidates[n], candidates[m]) for m in names if m != n),
            -names.index(n),
        ),
    )


class _Text:
    """A candidate's text, ready for 'is this paragraph in it' questions."""

    def __init__(self, paragraphs: list[str]):
        tokens = words(paragraphs)
        self.shingles = shingles(tokens)
        self.joined = " " + " ".join(tokens) + " "

    def covers(self, paragraph: str) -> bool:
        tokens = words([paragraph])
        if not tokens:
            return True
        if len(tokens) < SHINGLE_N:  # too short for a shingle: the words in sequence
            return f" {' '.join(tokens)} " in self.joined
        own = shingles(tokens)
        return len(own & self.shingles) >= COVERED * len(own)


def drop_unconfirmed(chosen: list[str], others: list[list[str]]) -> list[str]:
    """The chosen candidate without the paragraphs none of the others has (a caption,
    a 'read more' line, a newsletter box the chosen extractor let through). Callers
    pass only candidates that agree with the chosen one overall, so that one which
    missed half the article cannot cut it."""
    texts = [_Text(other) for other in others]
    kept = [p for p in chosen if any(text.covers(p) for text in texts)]
    return kept or chosen


def agree(a: set, b: set) -> bool:
    return similarity(a, b) >= AGREEMENT


# ------------------------------------------------------------------ the choice


def choose(candidates: dict[str, list[str]]) -> tuple[list[str], str]:
    """Step 2 of the module doc: the medoid of the non-empty candidates, as it is.
    (Trimming it by its peers here too measured no better: with ours off the mark,
    readability's veto cut real paragraphs as often as furniture.)"""
    candidates = {name: paragraphs for name, paragraphs in candidates.items() if paragraphs}
    if not candidates:
        return [], "none"
    best = medoid({name: shingles(words(paragraphs)) for name, paragraphs in candidates.items()})
    return candidates[best], best


def decide(
    traf: list[str], ours: list[str], readability: Callable[[], list[str]]
) -> tuple[list[str], str]:
    """Steps 1 and 2 of the module doc, given trafilatura's and our paragraphs;
    readability's are asked for only when the first two disagree."""
    if traf and ours and agree(shingles(words(traf)), shingles(words(ours))):
        return drop_unconfirmed(traf, [ours]), "trafilatura+ours"
    return choose({"trafilatura": traf, "readability": readability(), "ours": list(ours)})


# Larger pages: the libraries take seconds to minutes; real news pages are well below
# these bounds (bench/TIMING_NOTES.md).
MAX_VOTE_CHARS = 1_000_000
MAX_VOTE_ELEMENTS = 10_000


def generic_body(
    html: str, url: str, ours: list[str], ld_paragraphs: list[str]
) -> tuple[list[str], str]:
    """Article paragraphs in reading order, and where they come from: "trafilatura+ours"
    (step 1), "trafilatura" / "readability" / "ours" (step 2), or "jsonld" when no
    extractor found any text."""
    too_large = len(html) > MAX_VOTE_CHARS or more_elements_than(html, MAX_VOTE_ELEMENTS)
    tree = None if too_large else parse_for_libraries(html)
    if tree is None:
        paragraphs, layer = list(ours), "ours"
    else:
        paragraphs, layer = decide(
            trafilatura_paragraphs(tree, url), ours, lambda: readability_paragraphs(tree)
        )
    if paragraphs:
        return paragraphs, layer
    # JSON-LD articleBody is often a teaser or cut short on news sites (on the benchmark
    # it scores F1 0.80 where trafilatura gets 0.98): only a last resort.
    return ld_paragraphs, ("jsonld" if ld_paragraphs else "none")
