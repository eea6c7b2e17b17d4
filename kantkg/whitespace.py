"""Whitespace collapsing, the one rule every extracted text goes through.

`squash(text)` is `" ".join(text.split())`: runs of whitespace (NBSP, newlines, tabs
included) become one space, the ends none. Most text from a page is squashed already:
then it is only checked, in C, instead of being split into words and joined again.
"""

from __future__ import annotations


def is_squashed(text: str) -> bool:
    """True when squash would change nothing (text holding an unprintable character is
    never called squashed, even when it is). isprintable() is False for every
    whitespace character but the space (and for invisible format characters such as the
    soft hyphen): tested in tests/test_whitespace.py."""
    return text.isprintable() and "  " not in text and text[:1] != " " and text[-1:] != " "


def squash(text: str) -> str:
    if text.isprintable() and "  " not in text:
        return text.strip(" ")  # (the only whitespace left is single spaces)
    return " ".join(text.split())
