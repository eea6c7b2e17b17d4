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


def _deployed(text: str, home) -> str:
    """A deploy line of the README, pointed at a temporary /srv/kantkg, with this
    interpreter standing for the server's virtualenv."""
    return (
        text.replace("/srv/kantkg/app/.venv/bin/kantkg", f"{sys.executable} -m kantkg")
        .replace(".venv/bin/kantkg", f"{sys.executable} -m kantkg")
        .replace("/srv/kantkg/app", str(ROOT))
        .replace("/srv/kantkg", str(home))
    )


def test_the_readmes_crontab_runs_quietly_as_written(tmp_path):
    """Each crontab line of the README, run as cron would (its environment lines, sh -c):
    a good crawl and a healthy archive print nothing, so cron mails nothing."""
    from kantkg.replica import Replica

    block = re.search(r"```cron\n(.*?)```", README, re.DOTALL).group(1)
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    jobs = []
    for line in block.splitlines():
        if re.match(r"^[A-Z_]+=", line):
            name, value = line.split("=", 1)
            env[name] = value
        elif line.strip():
            jobs.append(line.split(None, 5)[5])  # after the five time fields
    assert [job.split("kantkg ")[1].split()[0] for job in jobs] == ["crawl", "health"]
    with Replica(articles=5, seed=3) as site:
        env["KANT_BASE_URL"] = site.base_url  # (the one difference from the server)
        for job in jobs:
            result = subprocess.run(
                ["/bin/sh", "-c", _deployed(job, tmp_path)],
                env=env,
                capture_output=True,
                text=True,
                timeout=180,
                check=False,
            )
            assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), job
    assert (tmp_path / "data" / "kant.db").exists()


def test_the_readmes_systemd_service_runs_as_written(tmp_path):
    from kantkg.replica import Replica

    unit = README[README.index("# kantkg.service") : README.index("# kantkg.timer")]
    service = dict(re.findall(r"^(WorkingDirectory|ExecStart)=(.*)$", unit, re.MULTILINE))
    env = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    for name, value in re.findall(r"^Environment=([A-Z_]+)=(.*)$", unit, re.MULTILINE):
        env[name] = _deployed(value, tmp_path)
    with Replica(articles=5, seed=3) as site:
        env["KANT_BASE_URL"] = site.base_url
        result = subprocess.run(
            shlex.split(_deployed(service["ExecStart"], tmp_path)),
            cwd=_deployed(service["WorkingDirectory"], tmp_path),
            env=env,
            capture_output=True,
            text=True,
            timeout=180,
            check=False,
        )
    assert (result.returncode, result.stdout, result.stderr) == (0, "", "")
    assert (tmp_path / "data" / "kant.db").exists()


def test_make_install_installs_no_dev_tools():
    """The README's promise for a server: `make install` without pytest, ruff or mypy."""
    makefile = (ROOT / "Makefile").read_text(encoding="utf-8")
    recipe = makefile[makefile.index("$(STAMP): pyproject.toml") :].split("\n\n")[0]
    extras = re.findall(r"-e '\.\[([^\]]*)\]'", recipe)
    assert extras and all("dev" not in e.split(",") for e in extras)
    assert "install: $(STAMP)" in makefile
