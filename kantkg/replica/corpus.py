"""The replica's articles: generated deterministically, Russian-looking, spread over years.

An article's content depends only on (seed, index), never on how many articles the
replica serves, so a replica can grow between runs (new articles) without changing
what it already served. Bodies are generated on demand: a 50,000-article replica
holds only the small per-article metadata in memory.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import cached_property
from importlib import resources
from zoneinfo import ZoneInfo

BISHKEK = ZoneInfo("Asia/Bishkek")

# The markups an article page can be rendered in (see render.py).
MARKUPS = ("wp_yoast", "plain_ru_date", "legacy_cp1251", "microdata_divs", "td_newspaper")

SECTIONS = (
    ("Политика", "politika"),
    ("Экономика", "ekonomika"),
    ("Общество", "obshhestvo"),
    ("Происшествия", "proisshestviya"),
    ("Спорт", "sport"),
    ("Культура", "kultura"),
    ("В мире", "v-mire"),
)
TAGS = (
    "Бишкек", "Ош", "ЕАЭС", "ОДКБ", "образование", "здравоохранение", "энергетика",
    "выборы", "налоги", "туризм", "экспорт", "Иссык-Куль", "граница", "инвестиции",
)
AUTHORS = (
    "Айгуль Токтосунова", "Нурлан Абдыкадыров", "Елена Смирнова", "Бакыт Осмонов",
    "Жылдыз Маматова", "Игорь Ковалёв", "Асель Сулайманова",
)

SEED_PATH = (
    "/2021-05-25/sostoyalas-vstrecha-prezidenta-sadyra-zhaparova"
    "-s-prezidentom-rossii-vladimirom-putinym/"
)
SEED_TITLE = (
    "Состоялась встреча Президента Садыра Жапарова с Президентом России Владимиром Путиным"
)
SEED_PUBLISHED = datetime(2021, 5, 25, 10, 41, 23, tzinfo=BISHKEK)
SOURCE_LINK = "Ссылка на новость: "

# Generated articles are published between these instants.
FIRST_DAY = datetime(2012, 1, 1, tzinfo=BISHKEK)
LAST_DAY = datetime(2026, 6, 30, tzinfo=BISHKEK)

_SUBJECTS = (
    "Президент Садыр Жапаров", "Председатель кабинета министров", "Мэрия Бишкека",
    "Министерство экономики и коммерции", "Жогорку Кенеш", "Национальный банк",
    "Министерство здравоохранения", "Государственная налоговая служба",
    "Министерство образования и науки", "Полномочный представитель правительства",
    "Глава МИД Кыргызстана", "Депутаты городского кенеша", "Министерство энергетики",
    "Государственная таможенная служба", "Сборная Кыргызстана по футболу",
    "Национальный статистический комитет", "Министерство чрезвычайных ситуаций",
)
_VERBS = (
    "обсудил", "рассмотрел", "утвердил", "представил", "подписал", "объявил",
    "поддержал", "проверил", "предложил", "отметил", "завершил", "запустил",
)
_OBJECTS = (
    "план развития региона", "проект нового закона", "программу поддержки фермеров",
    "соглашение о сотрудничестве", "бюджет на следующий год", "меры по снижению цен",
    "итоги работы за полугодие", "строительство новой школы", "ремонт дорог",
    "поставки электроэнергии", "вопросы трудовой миграции", "реформу судебной системы",
    "меры безопасности на границе", "цифровизацию государственных услуг",
    "открытие нового медицинского центра", "подготовку к отопительному сезону",
)
_PLACES = (
    "в Бишкеке", "в Оше", "в Караколе", "в Нарыне", "в Таласе", "в Баткене",
    "в Джалал-Абаде", "в Чуйской области", "на Иссык-Куле", "в Токмоке", "в Кара-Балте",
)
_CLAUSES = (
    "По словам участников встречи, работа будет продолжена в ближайшие месяцы",
    "Как сообщает пресс-служба, решение принято единогласно",
    "Эксперты отмечают, что ситуация постепенно стабилизируется",
    "Ранее сообщалось, что финансирование проекта выделено из республиканского бюджета",
    "Жители города неоднократно обращались с этим вопросом в местные органы власти",
    "В ведомстве пояснили, что все работы планируется завершить до конца года",
    "Стороны договорились встретиться повторно после подведения предварительных итогов",
    "В мероприятии приняли участие представители международных организаций",
    "Отмечается, что в прошлом году аналогичный показатель был заметно ниже",
    "Особое внимание было уделено соблюдению сроков и качеству выполняемых работ",
    "На реализацию программы предусмотрено более 300 миллионов сомов",
    "Дополнительная информация будет опубликована на официальном сайте ведомства",
    "Представители бизнеса высказали ряд предложений по упрощению процедур",
    "Следующее заседание рабочей группы назначено на начало следующего месяца",
)
_QUOTES = (
    "Мы видим положительную динамику и рассчитываем сохранить её в следующем году",
    "Это важный шаг для всех жителей республики, и мы доведём начатое до конца",
    "Наша задача — сделать государственные услуги удобными и понятными для граждан",
    "Ни одно обращение граждан не останется без внимания, все вопросы будут решены",
    "Сотрудничество с соседними странами остаётся для нас приоритетом",
)
_SPEAKERS = (
    "заявил министр", "подчеркнул глава ведомства", "сказал председатель комиссии",
    "отметил представитель мэрии", "добавил эксперт",
)


def translit(text: str) -> str:
    """WordPress Cyr-to-Lat style slug, as in the seed article's permalink."""
    table = {
        "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh",
        "з": "z", "и": "i", "й": "j", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o",
        "п": "p", "р": "r", "с": "s", "т": "t", "у": "u", "ф": "f", "х": "h", "ц": "c",
        "ч": "ch", "ш": "sh", "щ": "shh", "ъ": "", "ы": "y", "ь": "", "э": "e", "ю": "yu",
        "я": "ya",
    }
    out = "".join(table.get(ch, ch) for ch in text.lower())
    words = "".join(ch if ch.isascii() and ch.isalnum() else " " for ch in out).split()
    return "-".join(words)


@dataclass(frozen=True)
class ArticleTruth:
    """What the site published for one article: what the archive must end up holding."""

    index: int                   # -1 for the seed article
    path: str
    url: str
    title: str
    published: str               # ISO 8601, +06:00, seconds
    modified: str | None
    author: str | None
    section: str
    section_slug: str
    tags: tuple[str, ...]
    paragraphs: tuple[str, ...]  # distinct article text, reading order, no source-link line
    repeated: tuple[str, ...]    # paragraphs the page shows a second time
    markup: str
    source_line: str | None      # the closing «Ссылка на новость: <url>» line, if shown

    @property
    def published_dt(self) -> datetime:
        return datetime.fromisoformat(self.published)

    @property
    def modified_dt(self) -> datetime:
        return datetime.fromisoformat(self.modified or self.published)

    def as_item(self) -> dict:
        """The item a perfect extraction of this article gives, for filling archives
        without crawling (search benchmarks and tests)."""
        return {
            "url": self.url, "canonical_url": self.url, "title": self.title,
            "paragraphs": list(self.paragraphs), "published": self.published,
            "published_utc": self.published_dt.astimezone(UTC).isoformat(),
            "published_date": self.published[:10], "author": self.author,
            "section": self.section, "tags": list(self.tags),
        }

    @property
    def page_paragraphs(self) -> list[str]:
        """The text blocks as the page shows them: repeats and source link included."""
        shown = list(self.paragraphs) + list(self.repeated)
        if self.source_line:
            shown.append(self.source_line)
        return shown


def seed_paragraphs() -> list[str]:
    """The seed page's lines verbatim (repeats and the source-link line included)."""
    text = resources.files(__package__).joinpath("kant-2021-05-25-article.txt").read_text(
        encoding="utf-8"
    )
    return [line.strip() for line in text.splitlines() if line.strip()]


def _sentence(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.45:
        return (f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} "
                f"{rng.choice(_PLACES)}.")
    if kind < 0.85:
        return rng.choice(_CLAUSES) + "."
    return f"«{rng.choice(_QUOTES)}», — {rng.choice(_SPEAKERS)}."


def _paragraph(rng: random.Random, number: int) -> str:
    sentences: list[str] = []
    while len(sentences) < rng.randint(2, 4):
        s = _sentence(rng)
        if s not in sentences:
            sentences.append(s)
    # A number keeps every paragraph distinct from its neighbours, as real text is.
    figure = rng.randint(2, 9800)
    sentences.insert(
        1, f"По данным на {number + 1}-й квартал, показатель составил {figure} единиц."
    )
    return " ".join(sentences)


def _words(text: str) -> set[str]:
    return set(text.casefold().split())


def _distinct_paragraphs(rng: random.Random, count: int) -> list[str]:
    """Paragraphs no dedupe rule could mistake for one another (word overlap < 60%)."""
    chosen: list[str] = []
    while len(chosen) < count:
        candidate = _paragraph(rng, len(chosen))
        words = _words(candidate)
        if all(len(words & _words(c)) < 0.6 * len(words | _words(c)) for c in chosen):
            chosen.append(candidate)
    return chosen


class Corpus:
    """All articles of one replica, oldest first. Metadata eager, bodies on demand."""

    def __init__(self, articles: int, seed: int, base_url: str = "",
                 markups: tuple[str, ...] = MARKUPS) -> None:
        unknown = set(markups) - set(MARKUPS)
        if unknown or not markups:
            raise ValueError(f"unknown markups {sorted(unknown)}; known: {', '.join(MARKUPS)}")
        self.seed = seed
        self.base_url = base_url
        self.markups = tuple(markups)
        self._meta = [self._meta_for(i) for i in range(articles)]
        self._meta.append(self._seed_meta())
        self._meta.sort(key=lambda m: (m["published"], m["index"]))
        self._by_path = {m["path"]: m for m in self._meta}
        self._position = {m["path"]: n for n, m in enumerate(self._meta)}
        self._cache: dict[str, ArticleTruth] = {}
        self._next_index = articles
        self._edits: dict[str, int] = {}

    # ------------------------------------------------------------- changes

    def add(self, count: int) -> list[str]:
        """Publish `count` new articles after the newest one (a site between two crawls)."""
        added = []
        # New articles appear now, as on the real site between two crawls.
        newest = max(self._meta[-1]["published"],
                     datetime.now(BISHKEK).replace(microsecond=0) - timedelta(minutes=37 * count))
        for _ in range(count):
            meta = self._meta_for(self._next_index)
            self._next_index += 1
            newest = newest + timedelta(minutes=37)
            day = newest.date().isoformat()
            slug = meta["path"].split("/")[2]
            meta.update(published=newest, modified=None, path=f"/{day}/{slug}/")
            self._meta.append(meta)
            self._by_path[meta["path"]] = meta
            self._position[meta["path"]] = len(self._meta) - 1
            added.append(meta["path"])
        self.__dict__.pop("paths", None)
        return added

    def edit(self, path: str) -> None:
        """An editor updates an article: one paragraph more, a later modified time."""
        meta = self._by_path[path]
        self._edits[path] = self._edits.get(path, 0) + 1
        meta["modified"] = datetime.now(BISHKEK).replace(microsecond=0)
        self._cache.pop(path, None)

    # ------------------------------------------------------------ metadata

    def _rng(self, index: int, salt: str = "") -> random.Random:
        return random.Random(f"kantkg-replica:{self.seed}:{index}:{salt}")

    def _meta_for(self, index: int) -> dict:
        rng = self._rng(index)
        span = (LAST_DAY - FIRST_DAY).total_seconds()
        published = FIRST_DAY + timedelta(seconds=int(rng.random() * span))
        if rng.random() < 0.3:  # minute-aligned, as when an editor set the time by hand
            published = published.replace(second=0)
        modified = published + timedelta(minutes=rng.randint(5, 60 * 24 * 3)) \
            if rng.random() < 0.4 else None
        section, section_slug = rng.choice(SECTIONS)
        title = (f"{rng.choice(_SUBJECTS)} {rng.choice(_VERBS)} {rng.choice(_OBJECTS)} "
                 f"{rng.choice(_PLACES)}")
        slug = f"{translit(title)}-{index}"
        day = published.date().isoformat()
        return {
            "index": index,
            "path": f"/{day}/{slug}/",
            "title": title,
            "published": published,
            "modified": modified,
            "section": section,
            "section_slug": section_slug,
            "markup": self.markups[rng.randrange(len(self.markups))],
            "author": rng.choice(AUTHORS) if rng.random() < 0.7 else None,
            "tags": tuple(rng.sample(TAGS, rng.randint(0, 3))),
        }

    def _seed_meta(self) -> dict:
        return {
            "index": -1,
            "path": SEED_PATH,
            "title": SEED_TITLE,
            "published": SEED_PUBLISHED,
            "modified": None,
            "section": "Политика",
            "section_slug": "politika",
            "markup": "wp_yoast",
            "author": None,
            "tags": ("Жапаров", "Путин", "Россия"),
        }

    # -------------------------------------------------------------- access

    def __len__(self) -> int:
        return len(self._meta)

    @cached_property
    def paths(self) -> list[str]:
        """Article paths, oldest first."""
        return [m["path"] for m in self._meta]

    def newest_first(self) -> list[str]:
        return self.paths[::-1]

    def find(self, path: str) -> ArticleTruth | None:
        return self.get(path) if path in self._by_path else None

    def get(self, path: str) -> ArticleTruth:
        truth = self._cache.get(path)
        if truth is None:
            truth = self._build(self._by_path[path])
            if len(self._cache) > 2048:  # bounded: a backfill of 50k pages stays flat
                self._cache.clear()
            self._cache[path] = truth
        return truth

    def position(self, path: str) -> int:
        """Index of the article in publication order (0 = oldest)."""
        return self._position[path]

    def meta(self, path: str) -> dict:
        return self._by_path[path]

    def all(self) -> list[ArticleTruth]:
        return [self.get(p) for p in self.paths]

    def in_section(self, slug: str) -> list[str]:
        return [m["path"] for m in reversed(self._meta) if m["section_slug"] == slug]

    def with_tag(self, slug: str) -> list[str]:
        return [m["path"] for m in reversed(self._meta)
                if slug in (translit(t) for t in m["tags"])]

    def search(self, words: str) -> list[str]:
        needle = words.casefold().strip()
        return [m["path"] for m in reversed(self._meta)
                if needle and needle in m["title"].casefold()]

    # ---------------------------------------------------------------- body

    def _build(self, meta: dict) -> ArticleTruth:
        url = self.base_url + meta["path"]
        if meta["index"] == -1:
            shown = seed_paragraphs()
            body, source_line = shown[:-1], shown[-1]  # verbatim, kant.kg URL and all
            distinct = list(dict.fromkeys(body))
            repeated = body[len(distinct):]
        else:
            rng = self._rng(meta["index"], "body")
            distinct = _distinct_paragraphs(rng, rng.randint(2, 9))
            # About a quarter of pages repeat their middle paragraphs, as the seed does.
            repeated = distinct[1:3] if len(distinct) >= 4 and rng.random() < 0.25 else []
            source_line = SOURCE_LINK + url if rng.random() < 0.8 else None
        for n in range(self._edits.get(meta["path"], 0)):
            distinct = [*distinct, f"Материал дополнен ({n + 1}): уточнены данные о сроках "
                                   f"и участниках, приведены комментарии сторон."]
        modified = meta["modified"]
        return ArticleTruth(
            index=meta["index"],
            path=meta["path"],
            url=url,
            title=meta["title"],
            published=meta["published"].isoformat(timespec="seconds"),
            modified=modified.isoformat(timespec="seconds") if modified else None,
            author=meta["author"],
            section=meta["section"],
            section_slug=meta["section_slug"],
            tags=meta["tags"],
            paragraphs=tuple(distinct),
            repeated=tuple(repeated),
            markup=meta["markup"],
            source_line=source_line,
        )
