"""CSS selectors answered from a per-page class index instead of an XPath walk each.

Why: libxml2 tests an attribute at ~200 ns an element, so every class selector compiled
to XPath walks the whole document (30-100 µs on a news page), and the site layer tries
some thirty of them per page. One Python pass indexing elements by class and id costs
about as much as two such walks; after it a selector is a dict lookup plus a check of a
few candidates and their ancestors.

cssselect parses the selectors; the subset matched here is what kantkg.site uses: type,
.class, #id, [attr], [attr=v], [attr~=v], :not(simple) and the descendant combinator.
Anything else is refused when the selector is compiled, never silently mis-matched.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property, lru_cache, partial

from cssselect import parse as parse_css
from cssselect.parser import Attrib, Class, CombinedSelector, Element, Hash, Negation
from lxml import etree


@dataclass(frozen=True)
class Compound:
    """One compound selector (`time.entry-date:not(.updated)`): all parts must hold."""

    tag: str | None = None
    classes: tuple[str, ...] = ()
    ids: tuple[str, ...] = ()
    attrs: tuple[tuple[str, str, str | None], ...] = ()  # (name, operator, value)
    nots: tuple[Compound, ...] = ()

    def matches(self, el) -> bool:
        if self.tag is not None and el.tag != self.tag:
            return False
        if self.classes:
            have = (el.get("class") or "").split()
            if any(c not in have for c in self.classes):
                return False
        if any(el.get("id") != i for i in self.ids):
            return False
        for name, operator, value in self.attrs:
            got = el.get(name)
            if got is None or operator == "=" and got != value or \
                    operator == "~=" and value not in got.split():
                return False
        return not any(n.matches(el) for n in self.nots)


@dataclass(frozen=True)
class Selector:
    """Compounds left to right, each a descendant of the one before."""

    css: str
    parts: tuple[Compound, ...]
    classes: frozenset[str]  # every class and id needed somewhere: a quick "can't match"
    ids: frozenset[str]


def _compound(tree) -> Compound:
    if isinstance(tree, Element):
        tag = tree.element if tree.element not in (None, "*") else None
        return Compound(tag=tag.lower() if tag else None)
    if isinstance(tree, Class):
        base = _compound(tree.selector)
        return Compound(base.tag, (*base.classes, tree.class_name), base.ids, base.attrs,
                        base.nots)
    if isinstance(tree, Hash):
        base = _compound(tree.selector)
        return Compound(base.tag, base.classes, (*base.ids, tree.id), base.attrs, base.nots)
    if isinstance(tree, Attrib) and tree.operator in ("exists", "=", "~="):
        base = _compound(tree.selector)
        value = getattr(tree.value, "value", tree.value)
        attr = (tree.attrib.lower(), tree.operator, value)
        return Compound(base.tag, base.classes, base.ids, (*base.attrs, attr), base.nots)
    if isinstance(tree, Negation):
        base = _compound(tree.selector)
        return Compound(base.tag, base.classes, base.ids, base.attrs,
                        (*base.nots, _compound(tree.subselector)))
    raise ValueError(f"unsupported CSS selector part: {tree!r}")


@lru_cache(maxsize=256)
def compile_selector(css: str) -> Selector:
    """Parse once; ValueError for syntax this module does not match."""
    parsed = parse_css(css)
    if len(parsed) != 1 or parsed[0].pseudo_element:
        raise ValueError(f"unsupported CSS selector: {css!r}")
    parts: list[Compound] = []
    tree = parsed[0].parsed_tree
    while isinstance(tree, CombinedSelector):
        if tree.combinator != " ":
            raise ValueError(f"unsupported combinator {tree.combinator!r} in {css!r}")
        parts.insert(0, _compound(tree.subselector))
        tree = tree.selector
    parts.insert(0, _compound(tree))
    return Selector(css, tuple(parts), frozenset(c for part in parts for c in part.classes),
                    frozenset(i for part in parts for i in part.ids))


_CLASS_WORD_RE = re.compile(r"[a-z]+")


@lru_cache(maxsize=8192)
def class_words(value: str) -> frozenset[str]:
    """`td-post-author__name` -> {"td", "post", "author", "name"}: the words class and
    id values are made of, for matching furniture by meaning rather than exact class.
    (Cached: a site repeats the same few hundred class values on every page.)"""
    return frozenset(_CLASS_WORD_RE.findall(value.lower()))


class ValueMemo(dict):
    """Attribute value -> what a rule decided about it, each distinct value decided once.

    A site repeats a few hundred class values on every page: a hit is a plain dict lookup
    in C, a miss calls `decide`. Values from attribute XPaths are "smart" strings that
    hold their element, so a plain copy is stored, never the tree; the size is capped for
    odd inputs.
    """

    MAX_VALUES = 20_000

    def __init__(self, decide: Callable[[str], object]) -> None:
        super().__init__()
        self.decide = decide

    def __missing__(self, value: str):
        if len(self) >= self.MAX_VALUES:
            self.clear()
        decided = self[str(value)] = self.decide(value)
        return decided


# Class attribute values -> the names in them worth indexing, one memo per vocabulary.
_memos: dict[tuple, ValueMemo] = {}
_CLASS_VALUES = etree.XPath("//@class")
_ID_VALUES = etree.XPath("//@id")


@lru_cache(maxsize=64)
def _values_of(attribute: str, tag: str | None = None) -> etree.XPath:
    """//tag/@attribute: libxml2 skips the other tags (`a[rel~=tag]` never looks at the
    <link rel> elements of <head>)."""
    for name in (attribute, tag or "_"):
        if not _ATTRIBUTE_NAME_RE.fullmatch(name):
            raise ValueError(f"unsupported attribute or tag name {name!r}")
    return etree.XPath(f"//{tag or '*'}/@{attribute}")


_ATTRIBUTE_NAME_RE = re.compile(r"[a-z_][a-z0-9_.-]*")


def _worth_indexing(names: frozenset[str] | None, words: frozenset[str],
                    value: str) -> tuple[str, ...]:
    """The class names in a class attribute value that an index for `names` keeps."""
    found = dict.fromkeys(value.split())
    if names is None:
        return tuple(found)
    return tuple(n for n in found if n in names or class_words(n) & words)


class ClassIndex:
    """Elements of one document by class and id, in document order.

    `names` limits the classes indexed to those selectors will ask for (plus those made of
    one of `words`, for with_class_word); None indexes every class. Build it, and ask for
    ids or class words once, before changing the tree (ids are indexed on first use):
    elements removed later may still be returned.
    """

    def __init__(self, root, names: frozenset[str] | None = None,
                 words: frozenset[str] = frozenset()) -> None:
        self.root = root
        self.names = names
        self.words = words
        memo = _memos.get((names, words))
        if memo is None:
            memo = _memos[names, words] = ValueMemo(partial(_worth_indexing, names, words))
        by_class: dict[str, list] = {}
        # Attribute values from one XPath, elements only for the values that matter:
        # ~2x cheaper than reading two attributes from every element in Python.
        self.class_values = _CLASS_VALUES(root)
        for value in self.class_values:
            if kept := memo[value]:
                el = value.getparent()
                for name in kept:
                    found = by_class.get(name)
                    if found is None:
                        by_class[name] = [el]
                    else:
                        found.append(el)
        self.by_class = by_class
        self._by_attribute: dict[tuple[str, str | None], list] = {}
        self._attribute_words: dict[tuple[str, str | None, str], dict[str, list]] = {}
        self._by_tag: dict[str, list] = {}

    @cached_property
    def by_id(self) -> dict[str, list]:
        """Elements by id, on first use: the site selectors name no ids, so most pages
        never need this walk."""
        by_id: dict[str, list] = {}
        for value in self.id_values:
            if value:
                by_id.setdefault(str(value), []).append(value.getparent())
        return by_id

    @cached_property
    def id_values(self) -> list:
        return _ID_VALUES(self.root)

    def values_under(self, el) -> tuple[list, list]:
        """The class and id attribute values (XPath results: .getparent() is the element)
        of el and its descendants, taken from the index's own passes instead of two more
        XPath walks. A subtree's values are one run of the document-order lists; finding
        its ends walks up from the values before and after it, so this suits an element
        near the top (<body>), and only a tree not changed since the index was built."""
        return _run_under(self.class_values, el), _run_under(self.id_values, el)

    def _candidates(self, last: Compound) -> list:
        """A superset of the elements matching `last`, in document order."""
        if last.classes:
            return self.by_class.get(last.classes[0], [])
        if last.ids:
            return self.by_id.get(last.ids[0], [])
        if last.attrs:
            name, operator, value = last.attrs[0]
            if operator == "exists":
                return self._with_attribute(name, last.tag)
            return self._by_attribute_value(name, last.tag, operator).get(value, [])
        if last.tag is not None:
            return self._with_tag(last.tag)
        return list(self.root.iter(etree.Element))

    def _with_tag(self, tag: str) -> list:
        """The elements of a tag, one walk per tag for the page (`article h1`, `article
        time` and `article .content` all start from the <article>s)."""
        found = self._by_tag.get(tag)
        if found is None:
            found = self._by_tag[tag] = list(self.root.iter(tag))
        return found

    def _with_attribute(self, name: str, tag: str | None) -> list:
        """Elements (of the tag) carrying the attribute (`a[rel~=tag]` need not test every
        link)."""
        found = self._by_attribute.get((name, tag))
        if found is None:
            found = self._by_attribute[name, tag] = \
                [v.getparent() for v in _values_of(name, tag)(self.root)]
        return found

    def _by_attribute_value(self, name: str, tag: str | None, operator: str) -> dict:
        """Elements (of the tag) by attribute value ("=") or by each word of it ("~="),
        from one XPath: a page has dozens of <a rel>, a selector wants one word."""
        key = (name, tag, operator)
        index = self._attribute_words.get(key)
        if index is None:
            index = self._attribute_words[key] = {}
            for value in _values_of(name, tag)(self.root):
                el = value.getparent()
                for word in dict.fromkeys(value.split()) if operator == "~=" else (value,):
                    index.setdefault(str(word), []).append(el)
        return index

    def with_class_word(self, words: frozenset[str]) -> list:
        """Elements whose class or id holds one of `words` as a whole word (see
        class_words), each once, in no particular order."""
        if self.names is not None and not words <= self.words:
            raise ValueError(f"class words {sorted(words - self.words)} are not indexed")
        found: dict = {}
        for names in (self.by_class, self.by_id):
            for name, elements in names.items():
                if class_words(name) & words:
                    found.update(dict.fromkeys(elements))
        return list(found)

    def select(self, css: str) -> list:
        """Elements matching `css`, in document order (the root itself included)."""
        selector = compile_selector(css)
        if self.names is not None and not selector.classes <= self.names:
            raise ValueError(f"{css!r} needs classes that are not indexed")
        # A class or id the selector needs that is nowhere in the page: most site
        # selectors belong to other themes and end here.
        if not self.by_class.keys() >= selector.classes or \
                selector.ids and not self.by_id.keys() >= selector.ids:
            return []
        *ancestors, last = selector.parts
        if not ancestors or last.classes or last.ids:
            return [el for el in self._candidates(last)
                    if last.matches(el) and _has_ancestors(el, ancestors)]
        # `.cat-links a`: few containers, many <a> -> search down from the containers.
        *upper, parent = ancestors
        seen: set = set()
        found = []
        for container in self._candidates(parent):
            if not parent.matches(container) or not _has_ancestors(container, upper):
                continue
            for el in container.iter(last.tag or etree.Element):
                if el is not container and el not in seen and last.matches(el):
                    seen.add(el)
                    found.append(el)  # nested containers only repeat: order holds
        return found


def _run_under(values: list, top) -> list:
    def under(value) -> bool:
        el = value.getparent()
        while el is not None and el is not top:
            el = el.getparent()
        return el is not None

    start = next((n for n, value in enumerate(values) if under(value)), len(values))
    end = len(values)
    while end > start and not under(values[end - 1]):
        end -= 1
    return values[start:end]


def _has_ancestors(el, compounds: list[Compound]) -> bool:
    """Descendant combinators: the nearest matching ancestor for each compound, right to
    left (greedy is exact when every combinator is a descendant one)."""
    for compound in reversed(compounds):
        el = el.getparent()
        while el is not None and not compound.matches(el):
            el = el.getparent()
        if el is None:
            return False
    return True
