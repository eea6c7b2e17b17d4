"""The headline as the page shows it: no site name before or after it."""

from __future__ import annotations

from kantkg import site
from kantkg.whitespace import squash


def strip_site_name(title: str, names: tuple[str, ...] = ()) -> str:
    """«Title - Информационное агентство «Кант»» -> «Title»; also «Site | Title» and
    «Site: Title», for kant.kg's names and the `names` the page gives itself
    (og:site_name, application-name)."""
    title = squash(title)
    known = tuple(n for n in (*names, *site.SITE_NAMES) if n and n.strip())
    while (shorter := _strip_one(title, known)) is not None:
        title = shorter
    return title


def _strip_one(title: str, names: tuple[str, ...]) -> str | None:
    folded = title.casefold()
    for name in names:
        name = squash(name).casefold()
        for sep in (*site.TITLE_SEPARATORS, ": "):
            tail, head = sep + name, name + sep
            if sep != ": " and folded.endswith(tail) and len(folded) > len(tail):
                return title[: -len(tail)].rstrip()
            if folded.startswith(head) and len(folded) > len(head):
                return title[len(head) :].lstrip()
    return None
