"""The rounds cleaned at once, one in the stage kernel and one in a side kernel (``--workers 2``):
the same files, records and errors as cleaning them in turn (``--workers 1``).

The end-to-end tests run ``berdaya run`` in-process on a 60-household study without villages.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import nbformat
import pytest

from analysis.run import cli
from analysis.run.execute import kernel_name
from analysis.run.kernels import ExecutionFailure, WarmKernel


def small_study(folder: Path, *, unreadable_treatment: tuple[str, ...] = ()) -> Path:
    """Two rounds of 60 households; the rounds named get a treatment column of ``x``."""
    folder.mkdir(parents=True, exist_ok=True)
    for round_name, shift in (("baseline", 0), ("followup", 3)):
        rows = ["hhid,treat,income,got"]
        for i in range(60):
            treat = "x" if round_name in unreadable_treatment else str(i % 2)
            rows.append(f"{i + 1},{treat},{100 + shift + i % 7 + 5 * (i % 2)},{i % 2}")
        (folder / f"{round_name}.csv").write_text("\n".join(rows) + "\n")
    study = folder / "study.yml"
    study.write_text(
        "name: Side by side\nrounds: {baseline: baseline.csv, followup: followup.csv}\nid: hhid\n"
        "treatment: treat\npseudonym_key: test-key-not-secret\nwild_bootstrap_reps: 99\n"
        "outcomes:\n  - {name: income, column: income, family: income}\n"
        "  - {name: participation, column: got, family: participation}\n"
    )
    return study


def run(study: Path, out: Path, workers: int, capsys: pytest.CaptureFixture[str]) -> tuple[int, list[str]]:
    """``berdaya run`` without village reports or PDFs: the exit code and the lines on stderr."""
    code = cli.main(
        ["run", str(study), "--out", str(out), "--no-village-reports", "--no-pdf", "--workers", str(workers)]
    )
    return code, capsys.readouterr().err.splitlines()


def record(out: Path) -> dict[str, Any]:
    result: dict[str, Any] = json.loads((out / "run.json").read_text())
    return result


def test_a_killed_kernel_is_not_started_again(tmp_path: Path) -> None:
    # An interrupted run kills the side kernel while its thread may be starting it: the thread
    # must then stop, not start a fresh kernel and clean the whole round before the run ends.
    notebook = tmp_path / "n.ipynb"
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("value = 1", metadata={"tags": ["parameters"]})]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(notebook))
    kernel = WarmKernel(kernel_name=kernel_name(), cwd=tmp_path, recycle_after=0, warm_up="import json")
    try:
        kernel.launch()
        kernel.kill_now()
        with pytest.raises(ExecutionFailure, match="the kernel was stopped"):
            kernel.execute(notebook, parameters={"value": 2}, timeout=60)
        assert kernel.starts == 1 and kernel.km is None
    finally:
        kernel.close()


@pytest.mark.e2e
def test_rounds_cleaned_at_once_write_and_record_what_rounds_cleaned_in_turn_do(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = small_study(tmp_path / "study")
    logs, records = {}, {}
    for workers in (1, 2):
        code, logs[workers] = run(study, tmp_path / f"workers{workers}", workers, capsys)
        assert code == 0, logs[workers]
        records[workers] = record(tmp_path / f"workers{workers}")

    def done(lines: list[str], message: str) -> int:
        return next(i for i, line in enumerate(lines) if line.startswith(f"{message}: done in "))

    # In turn, the follow-up starts once the baseline is done; at once, before that.
    assert done(logs[1], "clean baseline") < logs[1].index("clean followup ...")
    assert logs[2].index("clean followup ...") < done(logs[2], "clean baseline")
    # The run records list the rounds in their order, whichever finished first.
    names = [s["name"] for s in records[2]["stages"]]
    assert names == [s["name"] for s in records[1]["stages"]]
    assert names[:2] == ["clean_baseline", "clean_followup"]
    # Each round's step records its own files only, with the same hashes as in turn: the later
    # steps, whose keys hash these outputs, then decide as they would after rounds in turn.
    steps = {w: records[w]["incremental"]["stages"] for w in (1, 2)}
    for round_name in ("baseline", "followup"):
        outputs = steps[2][f"clean_{round_name}"]["outputs"]
        assert outputs and outputs == steps[1][f"clean_{round_name}"]["outputs"]
        assert all(Path(label).name.startswith(f"{round_name}_") for label in outputs)
    for later in ("construct", "estimate"):
        assert steps[2][later]["outputs"] == steps[1][later]["outputs"]
    tables = sorted((tmp_path / "workers1" / "tables").glob("*.csv"))
    assert tables
    for table in tables:
        assert (tmp_path / "workers2" / "tables" / table.name).read_bytes() == table.read_bytes(), table.name


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("workers", "broken", "statuses"),
    [
        (2, ("followup",), {"clean_baseline": "ok", "clean_followup": "failed"}),
        # At once, the follow-up fails too, but the baseline's error is the one reported.
        (2, ("baseline", "followup"), {"clean_baseline": "failed", "clean_followup": "failed"}),
        # In turn, the follow-up is never started.
        (1, ("baseline", "followup"), {"clean_baseline": "failed"}),
    ],
)
def test_the_first_round_that_fails_is_the_one_line_error(
    workers: int,
    broken: tuple[str, ...],
    statuses: dict[str, str],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    study = small_study(tmp_path / "study", unreadable_treatment=broken)
    code, lines = run(study, tmp_path / "out", workers, capsys)
    assert code == 2
    assert lines[-1].startswith(f"error: {broken[0]}.csv column treat: the treatment is written as 'x'")
    assert not any("Traceback" in line for line in lines)
    assert {s["name"]: s["status"] for s in record(tmp_path / "out")["stages"]} == statuses
