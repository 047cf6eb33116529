"""Identical rebuilds: two fresh clones, one and two workers, byte-identical outputs.

Only the provenance run-time line of the HTML reports is masked. ``run.json`` (which records
times, paths and the worker count on purpose) and the executed notebooks (papermill stores cell
timings in them) are records of the run, not outputs, and are not compared.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from analysis.config import PROJECT_ROOT

RUN_TIME = re.compile(r"(Run time|Waktu jalan|Waktu proses)[^<\n]*")


def _clone_and_run(parent: Path, name: str, workers: int) -> Path:
    clone = parent / name
    subprocess.run(["git", "clone", "--quiet", str(PROJECT_ROOT), str(clone)], check=True, timeout=300)
    env = {**os.environ, "PYTHONPATH": str(clone / "src"), "TZ": "Asia/Jakarta" if workers == 1 else "UTC"}
    env["LC_ALL"] = "C.UTF-8" if workers == 1 else "C"
    cli = [sys.executable, "-m", "analysis.run.cli"]
    study = clone / "study"
    subprocess.run(
        [*cli, "demo-data", "--out", str(study), "--villages", "4", "--households", "15"],
        check=True,
        env=env,
        cwd=clone,
        timeout=300,
    )
    run = subprocess.run(
        [*cli, "run", str(study / "study.yml"), "--out", str(clone / "out"), "--workers", str(workers)],
        env=env,
        cwd=clone,
        capture_output=True,
        text=True,
        timeout=1200,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    return clone / "out"


def _outputs(out: Path) -> dict[str, bytes]:
    files = {}
    for path in sorted(out.rglob("*")):
        relative = path.relative_to(out).as_posix()
        if (
            not path.is_file()
            or relative == "run.json"
            or relative.startswith("notebooks/")
            or "/." in "/" + relative
        ):
            continue
        data = path.read_bytes()
        if path.suffix == ".html":
            data = RUN_TIME.sub("RUN-TIME-MASKED", data.decode()).encode()
        files[relative] = data
    return files


@pytest.mark.skipif(
    not (PROJECT_ROOT / ".git").exists(), reason="needs the project's git repository to clone"
)
def test_two_clones_one_and_two_workers_give_identical_outputs(tmp_path: Path) -> None:
    first = _outputs(_clone_and_run(tmp_path, "clone-a", workers=1))
    second = _outputs(_clone_and_run(tmp_path, "clone-b", workers=2))
    assert sorted(first) == sorted(second)
    assert any(name.startswith("tables/") for name in first) and any(name.endswith(".html") for name in first)
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"outputs differ between the clones: {differing}"
