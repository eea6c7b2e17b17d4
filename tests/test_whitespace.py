"""The whitespace fast path against its plain definition."""

import sys

from hypothesis import given
from hypothesis import strategies as st

from kantkg.whitespace import is_squashed, squash

_SPACES = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace()]
_TEXT = st.text(
    alphabet=st.sampled_from(
        list("аБвЁ ёa.,-—«»") + _SPACES + ["\u00ad", "\u200b", "\ufeff", "\x00", "\x01"]
    )
)


def test_no_whitespace_but_the_space_counts_as_printable():
    assert " " in _SPACES and not any(c.isprintable() for c in _SPACES if c != " ")


@given(_TEXT)
def test_squash_is_split_and_join(text):
    assert squash(text) == " ".join(text.split())


@given(_TEXT)
def test_is_squashed_means_squash_changes_nothing(text):
    if is_squashed(text):
        assert squash(text) == text
    elif text.isprintable():  # (unprintable text may be squashed already: not claimed)
        assert squash(text) != text
