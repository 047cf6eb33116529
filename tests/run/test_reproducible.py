"""Identical rebuilds: two fresh checkouts, one and two workers, two time zones, same bytes.

Each checkout is a copy, in its own temporary folder, of every file a clone of the working tree
would hold (tracked and new, not ignored). Both run the same demo study, kept inside the
checkout as a clone's user would: one with one worker in Jakarta time and ``LC_ALL=C.UTF-8``,
the other with two workers in UTC and ``LC_ALL=C`` (``checkouts`` in tests/conftest.py, built
by tests/e2e_builds.py).

Only the provenance run-time line of the HTML reports is masked. ``run.json`` (which records
times, paths and the worker count on purpose) and the executed notebooks (papermill stores cell
timings in them) are records of the run, not outputs, and are not compared.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from analysis.config import PROJECT_ROOT

RUN_TIME = re.compile(r"(Run time|Waktu jalan|Waktu proses)[^<\n]*")


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


@pytest.mark.e2e
@pytest.mark.skipif(
    not (PROJECT_ROOT / ".git").exists(), reason="needs the project's git repository to list its files"
)
def test_two_checkouts_one_and_two_workers_give_identical_outputs(checkouts: dict[str, Path]) -> None:
    first = _outputs(checkouts["checkout-a"])
    second = _outputs(checkouts["checkout-b"])
    assert sorted(first) == sorted(second)
    assert any(name.startswith("tables/") for name in first) and any(name.endswith(".html") for name in first)
    differing = [name for name in first if first[name] != second[name]]
    assert not differing, f"outputs differ between the checkouts: {differing}"
