"""Paragraph rules: dedupe keeps reading order, boilerplate goes, nothing silently."""

from importlib.resources import files

from hypothesis import given
from hypothesis import strategies as st

from kantkg.paragraphs import clean_item, clean_paragraphs, comparison_key, normalize_text

SEED = files("kantkg.replica").joinpath("kant-2021-05-25-article.txt").read_text("utf-8")


def test_seed_article_keeps_twelve_distinct_paragraphs_in_order():
    lines = SEED.splitlines()
    result = clean_paragraphs(lines)
    assert result.kept == lines[:12]
    assert [reason for _, reason in result.removed] == ["duplicate", "duplicate", "source-link"]


def test_clean_item_counts():
    item = clean_item({"paragraphs": SEED.splitlines()})
    assert len(item["paragraphs"]) == 12
    assert item["duplicates_removed"] == 2
    assert item["boilerplate_removed"] == 1


def test_near_identical_paragraphs_are_one():
    a = "Президент Садыр Жапаров выразил «особую» признательность российской стороне — сказал он."
    b = (
        'Президент\u00a0Садыр Жапаров  выразил "особую" призна\u00adтельность '
        "российской стороне - сказал он"
    )
    assert comparison_key(a) == comparison_key(b)
    assert clean_paragraphs([a, "Другой абзац текста новости.", b]).kept == [
        a,
        "Другой абзац текста новости.",
    ]


def test_long_paragraph_differing_by_one_word_is_near_duplicate():
    words = [f"слово{i}" for i in range(30)]
    a = " ".join(words)
    b = " ".join(words[:-1] + ["иное"])
    result = clean_paragraphs([a, b])
    assert result.kept == [a]
    assert result.removed == [(b, "near-duplicate")]


def test_short_separators_and_labels_may_repeat():
    paras = ["Вопрос:", "Как прошла встреча?", "—", "Вопрос:", "Что дальше?", "—"]
    assert clean_paragraphs(paras).kept == paras


def test_boilerplate_lines_are_removed_but_long_text_starting_alike_is_kept():
    long_text = "Реклама алкоголя в Бишкеке запрещена " + "решением мэрии " * 20
    paras = [
        "Подписывайтесь на наш Telegram-канал!",
        "Поделиться",
        "Реклама",
        long_text,
        "Ссылка на новость: https://kant.kg/2021-05-25/x/",
    ]
    result = clean_paragraphs(paras)
    assert result.kept == [normalize_text(long_text)]
    assert result.count("source-link", "boilerplate") == 4


def test_whitespace_is_normalized_in_stored_text():
    assert normalize_text("  Бишкек,\u00a025\u00a0мая\n\t2021 ") == "Бишкек, 25 мая 2021"


paragraph = st.text(alphabet=st.sampled_from("абвгд ежзи.,«»—-\u00a0"), min_size=0, max_size=40)


@given(st.lists(paragraph, max_size=20))
def test_dedupe_is_idempotent(paras):
    once = clean_paragraphs(paras).kept
    assert clean_paragraphs(once).kept == once


@given(st.lists(paragraph, max_size=20))
def test_dedupe_never_reorders(paras):
    kept = clean_paragraphs(paras).kept
    normalized = [normalize_text(p) for p in paras]
    positions = []
    start = 0
    for text in kept:
        start = normalized.index(text, start)
        positions.append(start)
        start += 1
    assert positions == sorted(positions)


@given(st.lists(paragraph, max_size=20))
def test_nothing_is_lost_silently(paras):
    result = clean_paragraphs(paras)
    non_empty = [p for p in paras if normalize_text(p)]
    assert len(result.kept) + len(result.removed) == len(non_empty)


word = st.text(alphabet=st.sampled_from("абвгдежзиклмнопрстуфхцчшщэюя"), min_size=3, max_size=9)


@given(st.lists(st.lists(word, min_size=1, max_size=25, unique=True), max_size=12))
def test_a_paragraph_without_a_twin_is_never_dropped(word_lists):
    # Paragraphs sharing no word have no twin, exact or near: every one must stay.
    used: set[str] = set()
    paras = []
    for words in word_lists:
        fresh = [w for w in words if w not in used]
        used.update(fresh)
        if fresh:
            paras.append(" ".join(fresh) + ".")
    paras = [p for p in paras if clean_paragraphs([p]).kept]  # not boilerplate alone
    assert clean_paragraphs(paras).kept == paras


@given(st.lists(paragraph, max_size=20))
def test_every_duplicate_removed_has_its_twin_kept_earlier(paras):
    result = clean_paragraphs(paras)
    kept_keys = {comparison_key(p) for p in result.kept}
    for text, reason in result.removed:
        if reason == "duplicate":
            assert comparison_key(text) in kept_keys


def test_boilerplate_is_removed_wherever_it_sits():
    paras = [
        "Первый абзац новости о встрече в Бишкеке.",
        "Читайте также: В Оше открылась новая школа",
        "Второй абзац новости о встрече в Бишкеке.",
        "Подписывайтесь на наш Telegram-канал",
        "Третий абзац новости о встрече в Бишкеке.",
    ]
    result = clean_paragraphs(paras)
    assert result.kept == [paras[0], paras[2], paras[4]]
    assert result.count("boilerplate") == 2


def _collapse_reference(text: str, form: str) -> str:
    """The rules spelled out without the fast path that skips work on plain text."""
    import unicodedata

    from kantkg.paragraphs import _FOLD, _FOLD_RE, _INVISIBLE_RE, _TRAILING_PUNCT

    if form == "NFC":
        return " ".join(_INVISIBLE_RE.sub("", unicodedata.normalize("NFC", text)).split())
    text = _FOLD_RE.sub(lambda m: _FOLD[m.group()], unicodedata.normalize("NFKC", text))
    return " ".join(text.casefold().replace("ё", "е").split()).rstrip(_TRAILING_PUNCT)


_TRICKY = st.text(
    alphabet=st.sampled_from(
        list("аБвЁё ёa.,-—«»\"'")
        + [
            "\u00a0",
            "\u00ad",
            "\u200b",
            "\ufeff",
            "\n",
            "\t",
            "\u2028",
            "\u3000",
            "\u00a8",
            "\u0301",
            "\u00e9",
            "ﬁ",
            "ß",
            "\x1f",
        ]
    )
)


@given(_TRICKY)
def test_plain_text_fast_path_gives_what_the_full_rules_give(text):
    assert normalize_text(text) == _collapse_reference(text, "NFC")
    assert comparison_key(text) == _collapse_reference(text, "NFKC")


def test_no_whitespace_or_invisible_character_counts_as_printable():
    import sys

    from kantkg.paragraphs import _INVISIBLE

    odd = [c for c in map(chr, range(sys.maxunicode + 1)) if c.isspace() and c != " "]
    assert odd and not any(c.isprintable() for c in odd + list(_INVISIBLE))


# The page-at-once shortcuts against their plain definitions. Text drawn from what a
# page holds plus what folding touches: compatibility forms that NFKC turns into a space
# and a combining mark (´ ¨), combining marks, ligatures, quotes, dashes, invisibles.
_FOLDING_ALPHABET = st.sampled_from(
    list("абвгдеёжзАБЁЖabcXYZ 0123.,;:!?-'\"«»„“”‘’–—―−\u00ad\u200b\ufeff\u00a0")
    + ["\u00b4", "\u00a8", "\u0301", "\u0308", "\ufb01", "\u2460", "\u212b", "ß", "İ", "\n"]
)
_TEXTS = st.lists(st.text(_FOLDING_ALPHABET, max_size=40), max_size=8)


@given(_TEXTS)
def test_comparison_keys_of_a_page_are_each_paragraphs_key(texts):
    from kantkg.paragraphs import comparison_keys

    assert comparison_keys(texts) == [comparison_key(text) for text in texts]
    squashed = [normalize_text(text) for text in texts]  # (as clean_paragraphs passes them)
    assert comparison_keys(squashed) == [comparison_key(text) for text in squashed]


@given(st.lists(st.frozensets(st.integers(0, 40).map(str), max_size=40), max_size=12))
def test_size_ordered_near_duplicate_search_answers_as_the_plain_one(word_sets):
    from kantkg.paragraphs import _is_near_duplicate, _WordSets

    ordered, earlier = _WordSets(), []
    for words in word_sets:
        assert ordered.has_near_duplicate(words) == _is_near_duplicate(words, earlier)
        ordered.add(words)
        earlier.append(words)
