"""The village batch engine with real kernels, papermill, nbconvert and Dask.

One tiny demo study (6 villages × 20 households) has its stages run once per session
(``batch_stages`` in tests/conftest.py, built by tests/e2e_builds.py); each test copies that
output folder (run.json paths are relative, so the copy's stages are skipped) and
writes village reports into the copy. The fault tests (an exception, a dead kernel, a timeout, a
killed worker, SIGTERM) run tiny purpose-built village notebooks from tests/notebooks/ instead
of the real village report: the batch machinery is under test, not the report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import commands
import nbformat
import psutil
import pytest
from e2e_builds import BatchStudy as Study

from analysis.config import NOTEBOOKS_DIR
from analysis.demo.survey import write_demo
from analysis.inputs.study import load_study
from analysis.report.html_export import export_html
from analysis.run import fingerprint
from analysis.run.execute import execute, kernel_name
from analysis.run.kernels import WarmKernel
from analysis.run.pipeline import run_study, run_villages

BERDAYA = [sys.executable, "-m", "analysis.run.cli"]
TEST_NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
VILLAGES = ["0101", "0102", "0201", "0202", "0301", "0302"]
TEMPORARY = re.compile(r"^\..+\.(tmp|running\.ipynb)$")


def berdaya(*args: str) -> subprocess.CompletedProcess[str]:
    return commands.berdaya(*args, timeout=1200)


def berdaya_on_a_terminal(*args: str) -> tuple[int, str]:
    """Run berdaya with a pseudo-terminal as its stdout and stderr; returns (exit code, output)."""
    import fcntl
    import select
    import struct
    import termios

    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    env = {**os.environ, "PYTHONHASHSEED": "0"}
    proc = subprocess.Popen([*BERDAYA, *args], stdin=subprocess.DEVNULL, stdout=slave, stderr=slave, env=env)
    os.close(slave)
    chunks = []
    try:
        while True:
            ready, _, _ = select.select([master], [], [], 1.0)
            if ready:
                try:
                    data = os.read(master, 65536)
                except OSError:  # EIO: every writer has closed the terminal
                    break
                if not data:
                    break
                chunks.append(data)
            elif proc.poll() is not None:
                break
        proc.wait(timeout=1200)
    finally:
        os.close(master)
    return proc.returncode, b"".join(chunks).decode("utf-8", "replace")


def masked(page: Path) -> str:
    """A report's HTML without its one run-dependent line (run time, in English or Indonesian)."""
    return re.sub(r"(Run time|Waktu jalan|Waktu proses): [^<\n]*", r"\1: …", page.read_text())


def record(out: Path) -> dict:
    return json.loads((out / "run.json").read_text())


def results(out: Path) -> dict[str, dict]:
    return {v["village"]: v for v in record(out)["villages"]}


def index_row(index: str, village: str) -> str:
    """The index page's table row of one village."""
    row = re.search(rf'<tr [^>]*><td data-value="{re.escape(village)}">.*?</tr>', index)
    assert row is not None, village
    return row.group(0)


def temporary_files(out: Path) -> list[Path]:
    return [p for p in out.rglob(".*") if TEMPORARY.match(p.name)]


@pytest.fixture
def demo(batch_stages: Study) -> Study:
    """The session's batch study after its stages (``batch_stages`` in tests/conftest.py)."""
    return batch_stages


@pytest.fixture
def local_run(batch_local_run: Path) -> Path:
    """A copy of it with all six village reports written by `berdaya run` on 2 local workers."""
    return batch_local_run


# --- what a batch writes -------------------------------------------------------------------


@pytest.mark.e2e
def test_the_local_batch_writes_every_report_and_records_it(demo: Study, local_run: Path) -> None:
    out = local_run
    assert sorted(p.name for p in (out / "villages").glob("*.html")) == [f"{v}.html" for v in VILLAGES]
    assert sorted(p.name for p in (out / "notebooks" / "villages").glob("*.ipynb")) == [
        f"{v}.ipynb" for v in VILLAGES
    ]
    rec = record(out)
    stages = {s["name"]: s["status"] for s in rec["stages"]}
    # The copied output folder kept its fingerprints: no stage ran again.
    assert [stages[s] for s in ("clean_baseline", "clean_followup", "construct", "estimate")] == [
        "skipped"
    ] * 4
    assert stages["village_reports"] == "ok"
    for result in results(out).values():
        assert result["status"] == "ok" and result["reused"] is False
        assert len(result["key"]) == 64 and len(result["sha256"]) == 64
        assert result["peak_rss"] > 0
    batch = rec["incremental"]["batch"]
    assert batch["workers"] == 2 and batch["villages_run"] == 6
    assert 1 <= len(batch["peak_rss_per_worker"]) <= 2
    # The executed notebooks are ordinary papermill notebooks, ready to rerun in JupyterLab.
    nb = nbformat.read(out / "notebooks" / "villages" / "0201.ipynb", as_version=4)
    assert nb.metadata.papermill.parameters["village"] == "0201"
    assert any("injected-parameters" in c.metadata.get("tags", []) for c in nb.cells)
    assert nb.metadata.kernelspec.name == "berdaya"
    assert [c.execution_count for c in nb.cells if c.cell_type == "code"][:2] == [1, 2]
    assert not temporary_files(out)


@pytest.mark.e2e
def test_no_state_leaks_between_villages_in_one_kernel(demo: Study, local_run: Path, tmp_path: Path) -> None:
    study = load_study(demo.study)
    common = {"processed": demo.out / "processed", "tables": demo.out / "tables", "log": lambda m: None}
    # One worker: every village runs in the same kernel, the last one after all the others.
    batch = run_villages(study, VILLAGES, out=tmp_path / "batch", workers=1, **common)
    assert [r.status for r in batch] == ["ok"] * 6
    assert len({r.worker for r in batch}) == 1
    last = VILLAGES[-1]
    alone = run_villages(study, [last], out=tmp_path / "alone", workers=1, **common)
    assert alone[0].status == "ok"
    # And the classic way: a fresh papermill kernel, then the HTML export.
    nb = execute(
        NOTEBOOKS_DIR / "05_village_report.ipynb",
        tmp_path / "plain" / f"{last}.ipynb",
        parameters={
            "study_path": str(study.path),
            "village": last,
            "processed_dir": str(demo.out / "processed"),
            "tables_dir": str(demo.out / "tables"),
            "language": study.language,
        },
        cwd=NOTEBOOKS_DIR,
    )
    export_html(nb, tmp_path / "plain" / f"{last}.html", title=f"Desa {last}", language=study.language)
    in_batch = masked(tmp_path / "batch" / "villages" / f"{last}.html")
    assert in_batch == masked(tmp_path / "alone" / "villages" / f"{last}.html")
    assert in_batch == masked(tmp_path / "plain" / f"{last}.html")
    assert "data:image/png;base64," in in_batch
    # Every village of the one-kernel batch equals the same village from the two-worker run.
    for village in VILLAGES:
        assert masked(tmp_path / "batch" / "villages" / f"{village}.html") == masked(
            local_run / "villages" / f"{village}.html"
        ), village


PROBE = """\
import json, os, sys, warnings
import matplotlib
import numpy as np
import pandas as pd
print(json.dumps({
    "names": sorted(k for k in globals() if not k.startswith("_") and k not in ("In", "Out", "exit", "quit", "get_ipython", "json", "os", "sys", "warnings", "matplotlib", "np", "pd")),
    "cwd": os.getcwd(),
    "env": os.environ.get("BERDAYA_PROBE"),
    "path": sys.path[-1],
    "linewidth": matplotlib.rcParams["lines.linewidth"],
    "max_rows": pd.get_option("display.max_rows"),
    "filters": len(warnings.filters),
    "numpy": np.geterr()["divide"],
    "count": get_ipython().execution_count,
}, sort_keys=True))
"""

POLLUTE = """\
leak = village
os.chdir("/")
os.environ["BERDAYA_PROBE"] = village
sys.path.append("/nowhere")
matplotlib.rcParams["lines.linewidth"] = 9
pd.set_option("display.max_rows", 3)
warnings.simplefilter("ignore")
np.seterr(all="raise")
"""


@pytest.mark.e2e
def test_the_kernel_is_reset_to_its_post_import_state_before_each_notebook(tmp_path: Path) -> None:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "berdaya", "display_name": "Python (berdaya)", "language": "python"}
    params = nbformat.v4.new_code_cell('village: str = "x"')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [params, nbformat.v4.new_code_cell(PROBE), nbformat.v4.new_code_cell(POLLUTE)]
    path = tmp_path / "probe.ipynb"
    nbformat.write(nb, path)
    kernel = WarmKernel(kernel_name=kernel_name(), cwd=tmp_path)
    try:
        seen = []
        pids = set()
        for village in ("a", "b", "c"):
            done = kernel.execute(path, parameters={"village": village}, timeout=120)
            seen.append(json.loads(done.cells[2].outputs[0]["text"]))
            pids.add(kernel.pid)
    finally:
        kernel.close()
    assert len(pids) == 1 and kernel.starts == 1  # one kernel served all three
    # Each saw what a fresh papermill kernel sees, despite the pollution left by the last.
    fresh = execute(path, tmp_path / "fresh.ipynb", parameters={"village": "a"}, cwd=tmp_path)
    assert seen == [json.loads(fresh.cells[2].outputs[0]["text"])] * 3
    assert "leak" not in seen[0]["names"] and seen[0]["env"] is None and seen[0]["cwd"] == str(tmp_path)


# --- faults ---------------------------------------------------------------------------------


@pytest.mark.e2e
def test_each_fault_is_isolated_reported_and_retried(demo: Study, tmp_path: Path) -> None:
    # The notebook fails as the marker files in <out>/faults/ say: <village>.raise, .die or .hang.
    notebook = TEST_NOTEBOOKS / "village_faults.ipynb"
    out = demo.copy(tmp_path / "out")
    faults = out / "faults"
    faults.mkdir()
    for village, kind in {"0101": "raise", "0102": "die", "0201": "hang"}.items():
        (faults / f"{village}.{kind}").touch()
    # A report that cannot be written: a folder stands where the file must go.
    blocker = out / "villages" / "0202.html"
    blocker.mkdir(parents=True)
    (blocker / "keep").touch()
    messages: list[str] = []
    code = run_study(
        demo.study,
        out=out,
        workers=1,  # one kernel sees every fault, then must still write the last villages
        village_notebook=notebook,
        timeouts={"0201": 5},
        progress=False,
        log=messages.append,
    )
    assert code == 1
    got = results(out)
    assert {v: got[v]["failure"] for v in VILLAGES} == {
        "0101": "exception",
        "0102": "kernel_died",
        "0201": "timeout",
        "0202": "write_failed",
        "0301": None,
        "0302": None,
    }
    assert got["0101"]["error"] == "ValueError: injected failure"
    assert "SIGKILL" in got["0102"]["error"]
    assert got["0201"]["error"] == "took longer than 5 s"
    assert "cannot write villages/0202.html" in got["0202"]["error"]
    for village in ("0101", "0102", "0201"):
        # The failing (or running) cell is named, and the failed notebook shows it.
        assert got[village]["cell_source"] == "import os, pathlib, signal, time"
        failed = nbformat.read(out / got[village]["failed_notebook"], as_version=4)
        cell = next(c for c in failed.cells if c.get("execution_count") == got[village]["cell"])
        assert cell.source.startswith("import os, pathlib")
        assert any("papermill-error-cell-tag" in c.metadata.get("tags", []) for c in failed.cells)
        assert not (out / "villages" / f"{village}.html").exists()
    assert got["0202"]["failed_notebook"] == "villages/0202.failed.ipynb"
    assert (out / "villages" / "0202.failed.ipynb").is_file()
    for village in ("0301", "0302"):
        assert (out / "villages" / f"{village}.html").is_file()
    index = (out / "index.html").read_text()
    assert "took longer than 5 s" in index and "cannot write villages/0202.html" in index
    # The index opens with the run's summary: 2 of 6 reports available, 4 failed (issue 14).
    summary = re.search(r'<p class="run-summary failed" id="run-summary">([^<]*)<', index)
    assert summary is not None and re.findall(r"\d+", summary.group(1)) == ["2", "6", "4"]
    # The index names the failing cell and the error, each labelled (in the study's language),
    # and links the kept notebook relative to itself.
    row = index_row(index, "0101")
    cell = re.escape(f"In [{got['0101']['cell']}] `import os, pathlib, signal, time`")
    assert re.search(
        rf'<div class="failure-cell"><span class="note">[^<]+:</span> <code>{cell}</code></div>', row
    )
    assert re.search(
        r'<div class="failure-error"><span class="note">[^<]+:</span> ValueError: injected failure</div>', row
    )
    for village in ("0101", "0102", "0201", "0202"):
        links = re.findall(r'href="([^"]+)"', index_row(index, village))
        assert links == [f"villages/{village}.failed.ipynb"], village
        assert (out / links[0]).is_file()
    assert str(tmp_path) not in index
    assert any("FAILED village 0101" in m for m in messages)
    assert any("--retry-failed" in m for m in messages)
    assert not temporary_files(out)

    # Fix the causes, then rerun only the failures.
    for marker in faults.iterdir():
        marker.unlink()
    shutil.rmtree(blocker)
    written = {v: (out / "villages" / f"{v}.html").stat().st_mtime_ns for v in ("0301", "0302")}
    code = run_study(
        demo.study,
        out=out,
        workers=2,
        village_notebook=notebook,
        retry_failed=True,
        progress=False,
        log=messages.append,
    )
    assert code == 0
    got = results(out)
    assert all(r["status"] == "ok" for r in got.values())
    assert {v for v, r in got.items() if not r["reused"]} == {"0101", "0102", "0201", "0202"}
    assert {v: (out / "villages" / f"{v}.html").stat().st_mtime_ns for v in ("0301", "0302")} == written
    assert not list((out / "villages").glob("*.failed.ipynb"))
    assert ".failed.ipynb" not in (out / "index.html").read_text()


@pytest.mark.e2e
def test_a_killed_worker_process_costs_only_its_village(demo: Study, tmp_path: Path) -> None:
    # Not the kernel this time: the worker process that drives it is killed (as an out-of-memory
    # killer would). The pool notices the closed connection, reports that village, starts a new
    # worker and goes on with the rest. The notebook kills its kernel's parent for village 0102.
    notebook = TEST_NOTEBOOKS / "kill_worker.ipynb"
    out = demo.copy(tmp_path / "out")
    code = run_study(
        demo.study, out=out, workers=1, village_notebook=notebook, progress=False, log=lambda m: None
    )
    assert code == 1
    got = results(out)
    assert got["0102"]["status"] != "ok" and got["0102"]["failure"] == "worker_died"
    assert "worker process died" in got["0102"]["error"]
    assert {v for v, r in got.items() if r["status"] == "ok"} == set(VILLAGES) - {"0102"}
    for village in set(VILLAGES) - {"0102"}:
        assert (out / "villages" / f"{village}.html").is_file()
    assert not temporary_files(out)


@pytest.mark.e2e
def test_cli_exit_code_summary_and_retry_for_a_report_that_cannot_be_written(
    demo: Study, local_run: Path, tmp_path: Path
) -> None:
    # Every report of the local run is current but one, which cannot be written: a folder stands
    # where its file must go. Only that village runs.
    out = shutil.copytree(local_run, tmp_path / "out")
    blocker = out / "villages" / "0102.html"
    blocker.unlink()
    blocker.mkdir()
    (blocker / "keep").touch()
    run = berdaya("run", str(demo.study), "--out", str(out), "--workers", "2")
    assert run.returncode == 1, run.stderr[-3000:]
    assert "0 written, 5 unchanged, 1 failed (report could not be written: 1)" in run.stderr
    assert "FAILED village 0102: cannot write villages/0102.html" in run.stderr
    assert "--retry-failed" in run.stderr and "Traceback" not in run.stderr
    assert (out / "villages" / "0102.failed.ipynb").is_file()
    row = index_row((out / "index.html").read_text(), "0102")
    assert re.search(
        r'<div class="failure-error"><span class="note">[^<]+:</span> cannot write villages/0102\.html', row
    )
    assert 'href="villages/0102.failed.ipynb"' in row
    assert "elapsed," not in run.stderr  # no progress bar when stderr is not a terminal
    shutil.rmtree(blocker)
    # On a terminal, a progress bar shows villages done, failed and time left.
    code, shown = berdaya_on_a_terminal("run", str(demo.study), "--out", str(out), "--retry-failed")
    assert code == 0, shown[-3000:]
    assert "village reports: 1/1 done, 0 failed" in shown and " left" in shown
    got = results(out)
    assert {v for v, r in got.items() if not r["reused"]} == {"0102"}
    assert all(r["status"] == "ok" for r in got.values())
    assert 'href="villages/0102.html"' in (out / "index.html").read_text()


@pytest.mark.e2e
def test_unknown_village_codes_are_a_usage_error(demo: Study, tmp_path: Path) -> None:
    out = demo.copy(tmp_path / "out")
    run = berdaya("run", str(demo.study), "--out", str(out), "--villages", "0101,9999")
    assert run.returncode == 2
    assert run.stderr.splitlines()[-1].startswith("error: unknown village code(s) 9999; the study has 0101")


# --- incremental runs ---------------------------------------------------------------------


def stage_statuses(out: Path) -> dict[str, str]:
    return {s["name"]: s["status"] for s in record(out)["stages"]}


@pytest.mark.e2e
def test_an_unchanged_run_skips_everything_and_a_touched_input_changes_nothing(
    demo: Study, local_run: Path, tmp_path: Path
) -> None:
    study = demo.study
    out = shutil.copytree(local_run, tmp_path / "out")  # run.json paths are relative: still current
    mtimes = {p.name: p.stat().st_mtime_ns for p in (out / "villages").glob("*.html")}
    again = berdaya("run", str(study), "--out", str(out))
    assert again.returncode == 0, again.stderr[-3000:]
    assert set(stage_statuses(out).values()) == {"skipped"}
    assert "village reports: all 6 unchanged, skipped" in again.stderr
    assert all(r["reused"] for r in results(out).values())
    assert {p.name: p.stat().st_mtime_ns for p in (out / "villages").glob("*.html")} == mtimes

    # Touching an input (new mtime, same bytes) is not a change: hashes decide.
    raw = demo.study.parent / "baseline_2023.csv"
    os.utime(raw, (time.time() + 60, time.time() + 60))
    touched = berdaya("run", str(study), "--out", str(out))
    assert touched.returncode == 0
    assert set(stage_statuses(out).values()) == {"skipped"}
    assert {p.name: p.stat().st_mtime_ns for p in (out / "villages").glob("*.html")} == mtimes

    # A village whose report disappeared is written again, and only that one.
    (out / "villages" / "0201.html").unlink()
    one = berdaya("run", str(study), "--out", str(out), "--villages", "0201,0202")
    assert one.returncode == 0, one.stderr[-3000:]
    assert {v for v, r in results(out).items() if not r["reused"]} == {"0201"}
    assert len(results(out)) == 6  # the villages outside --villages are still listed

    # Changing the bytes of an input is a change, even a respondent's name that cleaning
    # drops: every report's provenance lists the inputs' SHA-256, so none is current now.
    # (On a copy of the study folder, so the other tests keep theirs.)
    study = shutil.copytree(demo.study.parent, tmp_path / "data") / "study.yml"
    raw = study.parent / "baseline_2023.csv"
    text = raw.read_text(encoding="utf-8")
    name = re.search(r'^"ya";"[^"]*";"[^"]*";"[^"]*";"[^"]*";"[^"]*";"([^"]+)"', text, re.M)
    assert name is not None
    raw.write_text(text.replace(f'"{name.group(1)}"', '"Nama Diganti"', 1), encoding="utf-8")
    edited = berdaya("run", str(study), "--out", str(out), "--no-village-reports")
    assert edited.returncode == 0, edited.stderr[-3000:]
    statuses = stage_statuses(out)
    assert {statuses[s] for s in ("clean_baseline", "construct", "estimate", "programme_report")} == {"ok"}
    assert record(out)["villages"] == []
    assert 'href="villages/' not in (out / "index.html").read_text()


# --- Dask --------------------------------------------------------------------------------------


@pytest.mark.e2e
def test_a_dask_local_cluster_writes_the_same_reports_as_the_local_pool(
    demo: Study, local_run: Path, tmp_path: Path
) -> None:
    from dask.distributed import LocalCluster

    out = demo.copy(tmp_path / "out")
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    ) as cluster:
        run = berdaya("run", str(demo.study), "--out", str(out), "--scheduler", cluster.scheduler_address)
        assert run.returncode == 0, run.stderr[-3000:]
        workers = set(cluster.scheduler_info["workers"])
    assert len(workers) == 2
    for village in VILLAGES:
        assert masked(out / "villages" / f"{village}.html") == masked(
            local_run / "villages" / f"{village}.html"
        )
    rec = record(out)
    assert rec["parameters"]["scheduler"].startswith("tcp://")
    assert all(r["status"] == "ok" for r in rec["villages"])
    assert (out / "notebooks" / "villages" / "0301.ipynb").is_file()


# --- interruption -------------------------------------------------------------------------

LAUNCH = """\
import sys
from pathlib import Path
from analysis.run.batch import Interrupted
from analysis.run.pipeline import run_study
try:
    code = run_study(sys.argv[1], out=sys.argv[2], workers=1, village_notebook=Path(sys.argv[3]), progress=False)
except Interrupted as exc:
    code = 128 + exc.signum
sys.exit(code)
"""


def alive(process: psutil.Process) -> bool:
    try:
        return process.is_running() and process.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.e2e
def test_sigterm_stops_a_running_batch_cleanly_and_the_next_run_resumes(demo: Study, tmp_path: Path) -> None:
    notebook = TEST_NOTEBOOKS / "slow_village.ipynb"  # 1.5 seconds a village
    out = demo.copy(tmp_path / "out")
    script = tmp_path / "launch.py"
    script.write_text(LAUNCH)
    args = [sys.executable, str(script), str(demo.study), str(out), str(notebook)]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 600  # a guard against a hang, not a performance limit
        while len(list((out / "villages").glob("*.html"))) < 2:
            assert proc.poll() is None, proc.communicate()[1][-3000:]
            assert time.monotonic() < deadline
            time.sleep(0.1)
        family = psutil.Process(proc.pid).children(recursive=True)
        assert any("ipykernel" in " ".join(p.cmdline()) for p in family)  # a kernel is running
        proc.send_signal(signal.SIGTERM)
        _, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == 128 + signal.SIGTERM, stderr[-3000:]
    assert "interrupted" in stderr
    # Workers and kernels are gone, and nothing is half-written.
    deadline = time.monotonic() + 30
    while any(alive(p) for p in family) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not [p.pid for p in family if alive(p)]
    assert not temporary_files(out)
    pages = sorted((out / "villages").glob("*.html"))
    assert 2 <= len(pages) < 6
    assert all(p.read_text().rstrip().endswith("</html>") for p in pages)
    rec = record(out)
    assert rec["interrupted"] == signal.SIGTERM
    assert {s["name"]: s["status"] for s in rec["stages"]}["village_reports"] == "interrupted"
    done = {v for v, r in results(out).items() if r["status"] == "ok"}
    # A report whose worker was stopped before it could say so is on disk but not recorded;
    # the next run simply writes it again.
    assert 2 <= len(done) and done <= {p.stem for p in pages}

    resumed = subprocess.run(args, capture_output=True, text=True, timeout=1200)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    got = results(out)
    assert {v for v, r in got.items() if r["reused"]} == done
    assert sorted(got) == VILLAGES and all(r["status"] == "ok" for r in got.values())


# --- fingerprints ----------------------------------------------------------------------------


def test_a_new_pseudonym_key_changes_the_fingerprint_and_no_key_file_is_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    write_demo(tmp_path / "data", villages=2, households=10, seed=7)  # a study with its own key
    study = load_study(tmp_path / "data" / "study.yml")
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("BERDAYA_PSEUDONYM_KEY", raising=False)
    keyless = replace(study, pseudonym_key=None, pseudonym_key_file=None)
    assert fingerprint.pseudonym_key_fingerprint(keyless) == "none"
    assert not (tmp_path / ".config").exists()  # deciding what to rerun creates nothing
    demo_key = fingerprint.pseudonym_key_fingerprint(study)
    monkeypatch.setenv("BERDAYA_PSEUDONYM_KEY", "another key")
    assert fingerprint.pseudonym_key_fingerprint(study) not in {demo_key, "none"}
    assert "another key" not in json.dumps(fingerprint.environment(study))
