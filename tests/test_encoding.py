"""Bytes -> text: BOM, valid UTF-8, declared charset, <meta charset>, detection."""

from __future__ import annotations

import codecs

import pytest

from kantkg.extract.encoding import charset_from_content_type, decode_html, detect_encoding

TEXT = "Президент Садыр Жапаров встретился с Владимиром Путиным: важный шаг, ёлка"


def page(charset_meta: str | None = None) -> str:
    meta = f'<meta charset="{charset_meta}">' if charset_meta else ""
    return f"<html><head>{meta}</head><body><p>{TEXT}</p></body></html>"


@pytest.mark.parametrize(
    "data, declared, expected",
    [
        (page("windows-1251").encode("cp1251"), None, "cp1251"),  # meta
        (page().encode("cp1251"), "windows-1251", "cp1251"),  # HTTP header
        (page("utf-8").encode("utf-8"), None, "utf-8"),
        (page("windows-1251").encode("utf-8"), "windows-1251", "utf-8"),  # mislabelled
        (page("utf-8").encode("cp1251"), "utf-8", "cp1251"),  # mislabelled
        (page().encode("cp1251"), None, "cp1251"),  # detection
        (page().encode("koi8-r"), "koi8-r", "koi8-r"),
    ],
)
def test_text_comes_out_clean(data, declared, expected):
    assert codecs.lookup(detect_encoding(data, declared)).name == codecs.lookup(expected).name
    assert TEXT in decode_html(data, declared)


def test_bom_wins():
    data = codecs.BOM_UTF8 + page("windows-1251").encode("utf-8")
    assert decode_html(data).startswith("<html>")
    assert TEXT in decode_html(codecs.BOM_UTF16_LE + page().encode("utf-16-le"))


def test_str_passes_through_and_junk_never_raises():
    assert decode_html(TEXT) == TEXT
    assert isinstance(decode_html(bytes(range(256)) * 10, "no-such-charset"), str)


def test_charset_from_content_type():
    assert charset_from_content_type("text/html; charset=windows-1251") == "windows-1251"
    assert charset_from_content_type('text/html; charset="UTF-8"') == "UTF-8"
    assert charset_from_content_type("text/html") is None
    assert charset_from_content_type(None) is None
