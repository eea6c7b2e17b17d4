"""The README's commands, tried as printed: what a newcomer types after `make demo`."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys

import pytest

from tests.conftest import ROOT, run_kantkg

README = (ROOT / "README.md").read_text(encoding="utf-8")


def block_after(marker: str) -> list[str]:
    """The command lines of the first ```sh block after `marker` (comments dropped)."""
    rest = README[README.index(marker) :]
    block = re.search(r"```sh\n(.*?)```", rest, re.DOTALL)
    assert block, marker
    return [line.split("  #")[0].strip() for line in block.group(1).splitlines() if line.strip()]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    """`kantkg demo`, into a directory of its own standing for the checkout."""
    home = tmp_path_factory.mktemp("checkout")
    result = run_kantkg(
        "demo", "--articles", "30", "--db", str(home / "data" / "demo.db"), timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return home, result.stdout


def test_the_demo_prints_next_commands_that_are_the_readmes(demo):
    _, out = demo
    printed = [
        line.split("  #")[0].strip()
        for line in out.splitlines()
        if line.strip().startswith(".venv/bin/kantkg")
    ]
    readme = block_after("After `make demo`")
    as_in_readme = [re.sub(r"--db \S+", "--db data/demo.db", command) for command in printed]
    assert len(printed) == 4 and set(as_in_readme) <= set(readme)


@pytest.mark.parametrize("line", block_after("After `make demo`"))
def test_each_command_after_make_demo_works_as_printed(demo, line):
    home, _ = demo
    argv = shlex.split(line)
    assert argv[0] == ".venv/bin/kantkg"
    if argv[1] == "serve":  # a server until stopped: tests/test_datasette.py runs it
        pytest.skip("serve runs until stopped")
    result = subprocess.run(
        [sys.executable, "-m", "kantkg", *argv[1:]],
        cwd=home,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, (line, result.stderr)
    assert result.stdout or (home / "demo.csv").exists(), line
    assert "Traceback" not in result.stderr
