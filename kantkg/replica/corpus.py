"""The replica's articles: generated deterministically, Russian-looking, spread over years.

An article's content depends only on (seed, index), never on how many articles the
replica serves, so a replica can grow between runs (new articles) without changing
what it already served. Bodies are generated on demand: a 50,000-article replica
holds only the small per-article metadata in memory.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
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
    "Бишкек",
    "Ош",
    "ЕАЭС",
    "ОДКБ",
    "образование",
    "здравоохранение",
    "энергетика",
    "выборы",
    "налоги",
    "туризм",
    "экспорт",
    "Иссык-Куль",
    "граница",
    "инвестиции",
)
AUTHORS = (
    "Айгуль Токтосунова",
    "Нурлан Абдыкадыров",
    "Елена Смирнова",
    "Бакыт Осмонов",
    "Жылдыз Маматова",
    "Игорь Ковалёв",
    "Асель Сулайманова",
)

SEED_PATH = (
    "/2021-05-25/sostoyalas-vstrecha-prezidenta-sadyra-zhaparova"
    "-s-prezidentom-rossii-vladimirom-putinym/"
)
SEED_TITLE = "Состоялась встреча Президента Садыра Жапарова с Президентом России Владимиром Путиным"
SEED_PUBLISHED = datetime(2021, 5, 25, 10, 41, 23, tzinfo=BISHKEK)
SOURCE_LINK = "Ссылка на новость: "

# Generated articles are published between these instants.
FIRST_DAY = datetime(2012, 1, 1, tzinfo=BISHKEK)
LAST_DAY = datetime(2026, 6, 30, tzinfo=BISHKEK)
# A fixed +06:00 for articles pinned at any date: Bishkek's zone data is local mean time
# before 1924, which would give year-1 articles an offset of +04:58:24.
PLUS_SIX = timezone(timedelta(hours=6))


@dataclass(frozen=True)
class _Weighted:
    """Strings drawn by weight (cumulative weights: one bisect a draw)."""

    values: tuple[str, ...]
    cum_weights: tuple[int, ...]

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.values, cum_weights=self.cum_weights)[0]


def _weighted(*pairs: tuple[str, int]) -> _Weighted:
    return _Weighted(tuple(v for v, _ in pairs), tuple(itertools.accumulate(w for _, w in pairs)))


# Who and where the news is about, each with how often it makes the news: the president
# and the capital most, a district town seldom. An article is about one event (see
# Topic), so a name's share of articles follows its weight, as in a real archive: with
# every article naming eight random subjects and places, as this generator once did,
# «налоги» was in 38% of 200,000 articles and «Бишкек» in 67%.
_SUBJECTS = _weighted(
    ("Президент Садыр Жапаров", 8),
    ("Жогорку Кенеш", 5),
    ("Председатель кабинета министров", 4),
    ("Мэрия Бишкека", 4),
    ("Министерство внутренних дел", 3),
    ("Министерство экономики и коммерции", 2),
    ("Национальный банк", 2),
    ("Министерство здравоохранения", 2),
    ("Министерство образования и науки", 2),
    ("Полномочный представитель правительства", 2),
    ("Глава МИД Кыргызстана", 2),
    ("Депутаты городского кенеша", 2),
    ("Министерство чрезвычайных ситуаций", 2),
    ("Генеральная прокуратура", 2),
    ("Государственная налоговая служба", 1),
    ("Министерство энергетики", 1),
    ("Государственная таможенная служба", 1),
    ("Сборная Кыргызстана по футболу", 1),
    ("Национальный статистический комитет", 1),
    ("Верховный суд", 1),
    ("Министерство сельского хозяйства", 1),
    ("Министерство транспорта и коммуникаций", 1),
    ("Социальный фонд", 1),
    ("Центральная избирательная комиссия", 1),
    ("Фонд государственного имущества", 1),
    ("Айыл окмоту", 1),
    ("Ассоциация предпринимателей", 1),
    ("Национальный олимпийский комитет", 1),
)
_VERBS = (
    "обсудил",
    "рассмотрел",
    "утвердил",
    "представил",
    "подписал",
    "объявил",
    "поддержал",
    "проверил",
    "предложил",
    "отметил",
    "завершил",
    "запустил",
)
_OBJECTS = _weighted(
    ("план развития региона", 3),
    ("проект нового закона", 3),
    ("бюджет на следующий год", 2),
    ("итоги работы за полугодие", 3),
    ("соглашение о сотрудничестве", 2),
    ("программу поддержки фермеров", 1),
    ("меры по снижению цен", 1),
    ("строительство новой школы", 1),
    ("ремонт дорог", 1),
    ("поставки электроэнергии", 1),
    ("вопросы трудовой миграции", 1),
    ("реформу судебной системы", 1),
    ("меры безопасности на границе", 1),
    ("цифровизацию государственных услуг", 1),
    ("открытие нового медицинского центра", 1),
    ("подготовку к отопительному сезону", 1),
    ("подготовку к выборам", 1),
    ("привлечение инвестиций", 1),
    ("строительство доступного жилья", 1),
    ("поддержку малого бизнеса", 1),
    ("развитие туризма", 1),
    ("борьбу с коррупцией", 1),
    ("реконструкцию водопровода", 1),
    ("пенсионную реформу", 1),
    ("экспорт сельхозпродукции", 1),
    ("работу общественного транспорта", 1),
    ("проведение весенней посевной", 1),
    ("ситуацию с паводками", 1),
)
_PLACES = _weighted(
    ("в Бишкеке", 20),
    ("в Оше", 8),
    ("в Чуйской области", 5),
    ("на Иссык-Куле", 4),
    ("в Джалал-Абаде", 4),
    ("в Караколе", 3),
    ("в Нарыне", 3),
    ("в Таласе", 3),
    ("в Баткене", 3),
    ("в Токмоке", 2),
    ("в Кара-Балте", 2),
    ("в Балыкчы", 2),
    ("в Узгене", 2),
    ("в Кара-Суу", 2),
    ("в Чолпон-Ате", 2),
    ("в Кызыл-Кие", 1),
    ("в Майлуу-Суу", 1),
    ("в Таш-Кумыре", 1),
    ("в Кемине", 1),
    ("в Токтогуле", 1),
    ("в Ат-Башы", 1),
    ("в Кочкоре", 1),
    ("в Сулюкте", 1),
    ("в Ноокате", 1),
    ("в Араване", 1),
    ("в Канте", 1),
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
_SPEAKERS = _weighted(
    ("подчеркнул глава ведомства", 3),
    ("добавил эксперт", 3),
    ("сообщил пресс-секретарь", 3),
    ("заявил министр", 2),
    ("сказал председатель комиссии", 2),
    ("отметил представитель мэрии", 2),
    ("пояснил руководитель проекта", 2),
    ("рассказал депутат", 2),
    ("отметил аким района", 1),
    ("сказал директор школы", 1),
    ("добавил руководитель департамента", 1),
)


def translit(text: str) -> str:
    """WordPress Cyr-to-Lat style slug, as in the seed article's permalink."""
    table = {
        "а": "a",
        "б": "b",
        "в": "v",
        "г": "g",
        "д": "d",
        "е": "e",
        "ё": "yo",
        "ж": "zh",
        "з": "z",
        "и": "i",
        "й": "j",
        "к": "k",
        "л": "l",
        "м": "m",
        "н": "n",
        "о": "o",
        "п": "p",
        "р": "r",
        "с": "s",
        "т": "t",
        "у": "u",
        "ф": "f",
        "х": "h",
        "ц": "c",
        "ч": "ch",
        "ш": "sh",
        "щ": "shh",
        "ъ": "",
        "ы": "y",
        "ь": "",
        "э": "e",
        "ю": "yu",
        "я": "ya",
    }
    out = "".join(table.get(ch, ch) for ch in text.lower())
    words = "".join(ch if ch.isascii() and ch.isalnum() else " " for ch in out).split()
    return "-".join(words)


@dataclass(frozen=True)
class ArticleTruth:
    """What the site published for one article: what the archive must end up holding."""

    index: int  # -1 for the seed article
    path: str
    url: str
    title: str
    published: str  # ISO 8601, +06:00, seconds
    modified: str | None
    author: str | None
    section: str
    section_slug: str
    tags: tuple[str, ...]
    paragraphs: tuple[str, ...]  # distinct article text, reading order, no source-link line
    repeated: tuple[str, ...]  # paragraphs the page shows a second time
    markup: str
    source_line: str | None  # the closing «Ссылка на новость: <url>» line, if shown

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
            "url": self.url,
            "canonical_url": self.url,
            "title": self.title,
            "paragraphs": list(self.paragraphs),
            "published": self.published,
            "published_utc": self.published_dt.astimezone(UTC).isoformat(),
            "published_date": self.published[:10],
            "author": self.author,
            "section": self.section,
            "tags": list(self.tags),
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
    text = (
        resources.files(__package__)
        .joinpath("kant-2021-05-25-article.txt")
        .read_text(encoding="utf-8")
    )
    return [line.strip() for line in text.splitlines() if line.strip()]


def _noon_of(path: str) -> datetime:
    """Noon (+06:00) of a permalink's date; now when the URL's date is no real day."""
    try:
        day = date.fromisoformat(path.split("/")[1])
    except ValueError:
        return datetime.now(PLUS_SIX).replace(microsecond=0)
    return datetime(day.year, day.month, day.day, 12, tzinfo=PLUS_SIX)


def removed_indices(articles: int, removed: int) -> set[int]:
    """Which generated articles are removed: one in the middle of each equal stretch of
    indices, so they spread over the years (the seed article, index -1, never is)."""
    if removed <= 0:
        return set()
    step = articles // removed
    return {n * step + step // 2 for n in range(removed)}


Topic = tuple[str, str, str]  # (subject, object, place): the event one article is about
ON_TOPIC = 0.9  # share of an article's news sentences about its own event


def _topic(rng: random.Random) -> Topic:
    return _SUBJECTS.pick(rng), _OBJECTS.pick(rng), _PLACES.pick(rng)


def _sentence(rng: random.Random, topic: Topic) -> str:
    kind = rng.random()
    if kind < 0.45:
        subject, what, place = topic if rng.random() < ON_TOPIC else _topic(rng)
        if rng.random() < 0.3:  # another side of the same event
            what = _OBJECTS.pick(rng)
        return f"{subject} {rng.choice(_VERBS)} {what} {place}."
    if kind < 0.85:
        return rng.choice(_CLAUSES) + "."
    return f"«{rng.choice(_QUOTES)}», — {_SPEAKERS.pick(rng)}."


def _paragraph(rng: random.Random, number: int, topic: Topic) -> str:
    sentences: list[str] = []
    while len(sentences) < rng.randint(2, 4):
        s = _sentence(rng, topic)
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


def _distinct_paragraphs(rng: random.Random, count: int, topic: Topic) -> list[str]:
    """Paragraphs no dedupe rule could mistake for one another (word overlap < 60%)."""
    chosen: list[str] = []
    while len(chosen) < count:
        candidate = _paragraph(rng, len(chosen), topic)
        words = _words(candidate)
        if all(len(words & _words(c)) < 0.6 * len(words | _words(c)) for c in chosen):
            chosen.append(candidate)
    return chosen


class Corpus:
    """All articles of one replica, oldest first. Metadata eager, bodies on demand."""

    def __init__(
        self,
        articles: int,
        seed: int,
        base_url: str = "",
        markups: tuple[str, ...] = MARKUPS,
        removed: int = 0,
    ) -> None:
        unknown = set(markups) - set(MARKUPS)
        if unknown or not markups:
            raise ValueError(f"unknown markups {sorted(unknown)}; known: {', '.join(MARKUPS)}")
        if not 0 <= removed <= articles // 2:
            raise ValueError(f"removed must be between 0 and half the articles, not {removed}")
        self.seed = seed
        self.base_url = base_url
        self.markups = tuple(markups)
        gone = removed_indices(articles, removed)
        metas = sorted(
            [self._meta_for(i) for i in range(articles)] + [self._seed_meta()],
            key=lambda m: (m["published"], m["index"]),
        )
        self._meta = [m for m in metas if m["index"] not in gone]
        # Published once, no longer served (404, in no listing); a web archive keeps them.
        self._removed = [m for m in metas if m["index"] in gone]
        self._removed_by_path = {m["path"]: m for m in self._removed}
        self._by_path = {m["path"]: m for m in self._meta}
        self._position = {m["path"]: n for n, m in enumerate(self._meta)}
        self._cache: dict[str, ArticleTruth] = {}
        self._next_index = articles
        self._edits: dict[str, int] = {}
        self._pinned: set[str] = set()  # added at a path of the caller's choosing

    # ------------------------------------------------------------- changes

    def add(self, count: int) -> list[str]:
        """Publish `count` new articles after the newest one (a site between two crawls)."""
        added = []
        # New articles appear now, as on the real site between two crawls.
        # Pinned articles (any date, year 9999 too) are not where the timeline goes on.
        last = max(
            (m["published"] for m in self._meta if m["path"] not in self._pinned), default=FIRST_DAY
        )
        newest = max(
            last, datetime.now(BISHKEK).replace(microsecond=0) - timedelta(minutes=37 * count)
        )
        for _ in range(count):
            meta = self._meta_for(self._next_index)
            self._next_index += 1
            newest = newest + timedelta(minutes=37)
            day = newest.date().isoformat()
            slug = meta["path"].split("/")[2]
            meta.update(published=newest, modified=None, path=f"/{day}/{slug}/")
            added.append(self._publish(meta))
        return added

    def add_at(self, path: str, published: datetime | None = None, markup: str = "wp_yoast") -> str:
        """Publish one article at exactly this permalink (/9999-12-31/slug/ too), listed
        as the newest: hostile-date tests need it on the front page and in the sitemap.
        Its publication time defaults to noon (+06:00) of the URL's date."""
        if path in self._by_path:
            raise ValueError(f"{path} is already an article")
        if not (path.startswith("/") and path.endswith("/")) or path.count("/") != 3:
            raise ValueError(f"not a permalink /YYYY-MM-DD/slug/: {path!r}")
        if markup not in MARKUPS:
            raise ValueError(f"unknown markup {markup!r}; known: {', '.join(MARKUPS)}")
        meta = self._meta_for(self._next_index)
        self._next_index += 1
        meta.update(path=path, published=published or _noon_of(path), modified=None, markup=markup)
        self._pinned.add(path)
        return self._publish(meta)

    def _publish(self, meta: dict) -> str:
        """Append an article after every other one (the newest in listings)."""
        self._meta.append(meta)
        self._by_path[meta["path"]] = meta
        self._position[meta["path"]] = len(self._meta) - 1
        self.__dict__.pop("paths", None)
        return meta["path"]

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
        modified = (
            published + timedelta(minutes=rng.randint(5, 60 * 24 * 3))
            if rng.random() < 0.4
            else None
        )
        section, section_slug = rng.choice(SECTIONS)
        topic = _topic(rng)
        subject, what, place = topic
        title = f"{subject} {rng.choice(_VERBS)} {what} {place}"
        slug = f"{translit(title)}-{index}"
        day = published.date().isoformat()
        return {
            "index": index,
            "path": f"/{day}/{slug}/",
            "title": title,
            "topic": topic,
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
        """Index of the article in publication order (0 = oldest); for a removed article,
        where it stood among the served ones (how many of them are older)."""
        if path in self._removed_by_path:
            when = self._removed_by_path[path]["published"]
            return sum(1 for m in self._meta if m["published"] < when)
        return self._position[path]

    def meta(self, path: str) -> dict:
        return self._by_path.get(path) or self._removed_by_path[path]

    def is_removed(self, path: str) -> bool:
        return path in self._removed_by_path

    @property
    def removed_paths(self) -> list[str]:
        """Articles the site published and no longer serves, oldest first."""
        return [m["path"] for m in self._removed]

    def removed(self) -> list[ArticleTruth]:
        """What the removed articles said while they were served (oldest first)."""
        return [self._build(m) for m in self._removed]

    def all(self) -> list[ArticleTruth]:
        return [self.get(p) for p in self.paths]

    def in_section(self, slug: str) -> list[str]:
        return [m["path"] for m in reversed(self._meta) if m["section_slug"] == slug]

    def with_tag(self, slug: str) -> list[str]:
        return [m["path"] for m in reversed(self._meta) if slug in (translit(t) for t in m["tags"])]

    def search(self, words: str) -> list[str]:
        needle = words.casefold().strip()
        return [
            m["path"] for m in reversed(self._meta) if needle and needle in m["title"].casefold()
        ]

    # ---------------------------------------------------------------- body

    def _build(self, meta: dict) -> ArticleTruth:
        url = self.base_url + meta["path"]
        source_line: str | None
        if meta["index"] == -1:
            shown = seed_paragraphs()
            body, source_line = shown[:-1], shown[-1]  # verbatim, kant.kg URL and all
            distinct = list(dict.fromkeys(body))
            repeated = body[len(distinct) :]
        else:
            rng = self._rng(meta["index"], "body")
            distinct = _distinct_paragraphs(rng, rng.randint(2, 9), meta["topic"])
            # About a quarter of pages repeat their middle paragraphs, as the seed does.
            repeated = distinct[1:3] if len(distinct) >= 4 and rng.random() < 0.25 else []
            source_line = SOURCE_LINK + url if rng.random() < 0.8 else None
        for n in range(self._edits.get(meta["path"], 0)):
            distinct = [
                *distinct,
                f"Материал дополнен ({n + 1}): уточнены данные о сроках "
                f"и участниках, приведены комментарии сторон.",
            ]
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
