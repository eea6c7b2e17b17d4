"""The architecture, checked: which group of modules may import which, where Scrapy may
appear, and that each rule named in the design has one home."""

import ast
import re
from pathlib import Path

import pytest

from tests.conftest import ROOT

# Every module belongs to one group; a group imports only from itself and from the
# groups listed for it. Lower groups know nothing of the ones above them.
GROUPS = {
    # shared primitives: the site's knowledge, URL identity, the item, bounds, "now"
    "base": (
        "kantkg.site",
        "kantkg.urls",
        "kantkg.items",
        "kantkg.bounds",
        "kantkg.clock",
        "kantkg.whitespace",
    ),
    # HTML -> article: extraction, dates, paragraphs, and extract_article over them
    "extraction": ("kantkg", "kantkg.extract", "kantkg.dates", "kantkg.paragraphs"),
    # the SQLite archive: schema, writes, crawl log, search
    "archive": ("kantkg.archive",),
    # crawl operations: running, discovery, judging a run, reparse; Scrapy's settings
    "crawl": ("kantkg.crawl", "kantkg.settings"),
    # the Scrapy adapters: spider, middlewares, extension, pipelines
    "adapters": ("spiders", "pipelines"),
    # what people use: the command, Datasette, doctor
    "interfaces": ("kantkg.cli", "kantkg.__main__"),
    # the loopback kant.kg, for the demo, the tests and the benchmarks
    "replica": ("kantkg.replica",),
}
MAY_IMPORT = {
    "base": set(),
    "extraction": {"base"},
    "archive": {"base"},
    "crawl": {"base", "extraction", "archive"},
    "adapters": {"base", "extraction", "archive", "crawl"},
    "interfaces": {"base", "extraction", "archive", "crawl", "replica"},
    "replica": {"base"},
}
# Scrapy and Twisted stay in the adapters; kantkg.crawl.process is what starts a crawl.
SCRAPY_ALLOWED = {"adapters"}
SCRAPY_MODULES = {"kantkg.crawl.process"}


def _modules() -> dict[str, Path]:
    found = {}
    for folder in ("kantkg", "spiders", "pipelines"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


def group_of(module: str) -> str | None:
    """The group of a module: the longest prefix named in GROUPS."""
    best, length = None, -1
    for group, prefixes in GROUPS.items():
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > length:
                best, length = group, len(prefix)
    return best


def _imports(path: Path, module: str) -> list[tuple[int, str]]:
    """(line, module imported) for every import in the file, function-level ones too."""
    found = []
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base]) if base else ".".join(anchor)
            # `from kantkg import archive` imports the module kantkg.archive (and the
            # package only for names that are no modules of it)
            names = [f"{base}.{alias.name}" for alias in node.names]
            found += [(node.lineno, name) for name in names if name in _MODULES]
            if any(name not in _MODULES for name in names):
                found.append((node.lineno, base))
    return found


_MODULES = _modules()


def test_every_module_belongs_to_a_group():
    assert [m for m in _MODULES if group_of(m) is None] == []


def test_imports_go_only_down_the_layers():
    offenders = []
    for module, path in _MODULES.items():
        mine = group_of(module)
        for line, imported in _imports(path, module):
            theirs = group_of(imported)
            if theirs is None or theirs == mine:
                continue
            if theirs not in MAY_IMPORT[mine]:
                offenders.append(
                    f"{path.relative_to(ROOT)}:{line} ({mine}) imports {imported} ({theirs})"
                )
    assert offenders == []


def test_scrapy_stays_in_the_adapters():
    offenders = []
    for module, path in _MODULES.items():
        if group_of(module) in SCRAPY_ALLOWED or module in SCRAPY_MODULES:
            continue
        for line, imported in _imports(path, module):
            if imported.split(".")[0] in ("scrapy", "twisted"):
                offenders.append(f"{path.relative_to(ROOT)}:{line} imports {imported}")
    assert offenders == []


def test_the_layering_test_sees_a_wrong_import(tmp_path):
    """(The checks above can fail: an archive module importing the crawl is caught.)"""
    bad = tmp_path / "bad.py"
    bad.write_text("from kantkg.crawl import outcome\nimport scrapy\n")
    imported = _imports(bad, "kantkg.archive.bad")
    assert [group_of(name) for _, name in imported] == ["crawl", None]
    assert "crawl" not in MAY_IMPORT[group_of("kantkg.archive.bad")]


# ---------------------------------------------------------------- one home per rule

_STATS_KEY = re.compile(r"""["']kantkg/[a-z_]""")


@pytest.mark.parametrize("folder", ["kantkg", "spiders", "pipelines"])
def test_stats_keys_are_spelled_only_in_kantkg_crawl_stats(folder):
    """A `kantkg/...` stats key written out anywhere else is a second spelling that can
    drift from what kantkg.crawl.outcome reads back."""
    home = ROOT / "kantkg" / "crawl" / "stats.py"
    offenders = []
    for path in sorted((ROOT / folder).rglob("*.py")):
        if path == home:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _STATS_KEY.search(line) and "__version__" not in line:
                offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []


def test_environment_is_read_only_by_the_settings_module():
    """Every KANT_* setting is read in kantkg/settings.py (-s, then the environment, then
    the default): os.environ / os.getenv of a KANT_ name anywhere else is a second home."""
    reads = re.compile(r"""(environ(\.get)?\(|environ\[|getenv\()\s*["']KANT_""")
    offenders = []
    for folder in ("kantkg", "spiders", "pipelines"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            if path == ROOT / "kantkg" / "settings.py":
                continue
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                if reads.search(line):
                    offenders.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert offenders == []
