"""The run record (``run.json``): what went in, what ran, and how long it took.

Everything needed to say why two runs differ is recorded: input file hashes, parameters,
package versions, the git commit and the platform.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from analysis.shared import layout
from analysis.shared.versions import git_commit, package_versions, platform_info


@dataclass
class StageRecord:
    """One stage's status and time."""

    name: str
    status: str = "pending"
    seconds: float = 0.0
    detail: str = ""


@dataclass
class RunRecord:
    """Accumulates ``run.json`` while a run goes on."""

    study: str
    parameters: dict[str, Any]
    inputs: dict[str, str]
    started: str = field(default_factory=lambda: time.strftime("%Y-%m-%dT%H:%M:%S%z"))
    stages: list[StageRecord] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    @contextmanager
    def stage(self, name: str) -> Iterator[StageRecord]:
        """Time a stage and record whether it succeeded."""
        record = StageRecord(name=name, status="running")
        self.stages.append(record)
        start = time.perf_counter()
        try:
            yield record
        except BaseException as exc:
            record.status = "failed"
            record.detail = f"{type(exc).__name__}: {exc}"[:500]
            raise
        finally:
            record.seconds = round(time.perf_counter() - start, 3)
        if record.status == "running":
            record.status = "ok"

    def to_dict(self) -> dict[str, Any]:
        """The JSON-ready record."""
        return {
            "study": self.study,
            "started": self.started,
            "finished": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "parameters": self.parameters,
            "inputs_sha256": self.inputs,
            "packages": package_versions(),
            "git_commit": git_commit(),
            "platform": platform_info(),
            "stages": [vars(s) for s in self.stages],
            **self.extra,
        }


#: Fields of the cleaning summaries copied into ``run.json``: counts and column names only.
_ROUND_FIELDS = ("file", "counts", "reasons", "notes", "dropped_columns", "hashed_columns",
                 "quality_flags", "duplicate_groups", "form_versions")  # fmt: skip


def data_summaries(processed: Path, rounds: Iterable[str]) -> dict[str, Any]:
    """What cleaning and linkage did, for ``run.json``: why two runs on "the same" data differ.

    Reads ``<round>_summary.json`` (rows clean, quarantined and excluded, and why; columns
    dropped or hashed) and ``linkage_summary.json`` (households by arm and linkage) from the
    processed folder. The per-village linkage is left out: it is in ``tables/villages.csv``
    and grows with the number of villages. A missing file gives no entry.
    """
    out: dict[str, Any] = {}
    for round_name in rounds:
        path = processed / layout.summary_json(round_name)
        if path.is_file():
            summary = json.loads(path.read_text(encoding="utf-8"))
            out[round_name] = {k: summary[k] for k in _ROUND_FIELDS if k in summary}
    linkage = processed / layout.LINKAGE_SUMMARY_JSON
    if linkage.is_file():
        summary = json.loads(linkage.read_text(encoding="utf-8"))
        out["linkage"] = {k: v for k, v in summary.items() if k != "by_village"}
    return out


def changed_inputs(previous: Path, current: dict[str, str]) -> list[str]:
    """Input files whose hash differs from the previous run's ``run.json`` (empty if none)."""
    if not previous.is_file():
        return []
    try:
        before = json.loads(previous.read_text()).get("inputs_sha256", {})
    except (OSError, json.JSONDecodeError):
        return []
    return sorted(name for name, digest in current.items() if name in before and before[name] != digest)
