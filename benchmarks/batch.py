"""Benchmark: village reports per minute, from a shell loop to the no-kernel floor.

Builds a demo study with ``berdaya demo-data`` (100 villages by default) and, in one run, times

(a) the naive loop: the ``papermill`` CLI, then ``jupyter nbconvert --to html --no-input``, per
    village (on an evenly spaced sample of villages, since every village costs the same two
    cold processes; ``--naive-villages 0`` times them all);
(b) ``berdaya run --workers 1`` writing every village report (the stages are already done and
    skipped, so this is the batch: worker start, kernel start, all villages, index);
(c) the same with ``--workers 2``;
(d) the floor: the village notebook's code run in this process, no kernel, no papermill, no
    HTML export (the same analysis and figures, with the displayed objects formatted as a
    kernel would).

It also times a second ``berdaya run`` with nothing changed against the first full run, and
prints the peak memory per worker (worker process plus its kernel) for 25 and for 100
villages. Ratios compare timings taken in this same run, on this same (possibly busy) machine.

    .venv/bin/python benchmarks/batch.py [--villages 100] [--naive-villages 15] [--keep DIR]
    make bench          # the same, through pytest -m slow benchmarks
"""

from __future__ import annotations

import argparse
import ast
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NOTEBOOK = ROOT / "notebooks" / "05_village_report.ipynb"


def run(cmd: list[str], *, check: bool = True) -> float:
    """Run a command; returns its wall time in seconds."""
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    elapsed = time.perf_counter() - start
    if check and done.returncode != 0:
        raise SystemExit(f"failed ({done.returncode}): {' '.join(cmd)}\n{done.stderr[-4000:]}")
    return elapsed


def berdaya(*args: str) -> float:
    return run([sys.executable, "-m", "analysis.run.cli", *args])


def forget_village_reports(out: Path) -> None:
    """Remove the village reports so that the next run writes them all again."""
    shutil.rmtree(out / "villages", ignore_errors=True)
    shutil.rmtree(out / "notebooks" / "villages", ignore_errors=True)


def batch_record(out: Path) -> dict[str, Any]:
    record = json.loads((out / "run.json").read_text())
    return dict(record["incremental"]["batch"])


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


@dataclass
class Timing:
    label: str
    villages: int
    seconds: float

    @property
    def per_village(self) -> float:
        return self.seconds / self.villages

    @property
    def per_minute(self) -> float:
        return 60 * self.villages / self.seconds


def naive_loop(villages: list[str], *, study: Path, out: Path, work: Path) -> Timing:
    """(a) papermill CLI, then jupyter nbconvert CLI, per village."""
    from analysis.inputs.study import load_study
    from analysis.run.execute import kernel_name

    language = load_study(study).language
    folder = work / "naive"
    folder.mkdir(parents=True, exist_ok=True)
    total = 0.0
    for village in villages:
        executed = folder / f"{village}.ipynb"
        total += run(
            [
                str(BIN / "papermill"),
                str(NOTEBOOK),
                str(executed),
                "-k",
                kernel_name(),
                "--cwd",
                str(NOTEBOOK.parent),
                "--no-progress-bar",
                # -r: raw strings, or papermill would read the village code 0101 as the number 101.
                *("-r", "study_path", str(study)),
                *("-r", "village", village),
                *("-r", "processed_dir", str(out / "processed")),
                *("-r", "tables_dir", str(out / "tables")),
                *("-r", "language", language),
            ]
        )
        total += run(
            [
                str(BIN / "jupyter"),
                "nbconvert",
                "--to",
                "html",
                "--no-input",
                str(executed),
                "--output-dir",
                str(folder),
            ]
        )
    return Timing("(a) naive papermill + nbconvert loop", len(villages), total)


def floor(villages: list[str], *, study: Path, out: Path) -> Timing:
    """(d) The village notebook's code in this process: no kernel, no papermill, no export."""
    import IPython.core.display_functions
    import IPython.display
    import nbformat
    from IPython.core.formatters import DisplayFormatter

    formatter = DisplayFormatter()
    shown: list[Any] = []

    def display(*objs: Any, **kwargs: Any) -> None:
        shown.extend(formatter.format(o) for o in objs)

    # The notebook imports `display` from IPython.display when its cell runs.
    IPython.display.display = display  # type: ignore[assignment]
    IPython.core.display_functions.display = display  # type: ignore[assignment]
    nb = nbformat.read(NOTEBOOK, as_version=4)
    cells = []
    for cell in nb.cells:
        if cell.cell_type != "code" or "parameters" in cell.metadata.get("tags", []):
            continue
        tree = ast.parse(cell.source)
        last = tree.body.pop() if tree.body and isinstance(tree.body[-1], ast.Expr) else None
        body = compile(tree, "<cell>", "exec")
        value = compile(ast.Expression(last.value), "<cell>", "eval") if last is not None else None
        cells.append((body, value))
    from analysis.inputs.study import load_study

    language = load_study(study).language

    def one(village: str) -> None:
        namespace: dict[str, Any] = {
            "study_path": str(study),
            "village": village,
            "processed_dir": str(out / "processed"),
            "tables_dir": str(out / "tables"),
            "language": language,
        }
        for body, value in cells:
            exec(body, namespace)
            if value is not None:
                result = eval(value, namespace)
                if result is not None:
                    shown.append(formatter.format(result))
        shown.clear()

    one(villages[0])  # imports and first-use caches: the floor is the warm cost
    start = time.perf_counter()
    for village in villages:
        one(village)
    return Timing("(d) floor: same code in-process, no kernel", len(villages), time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--villages", type=int, default=100)
    parser.add_argument("--households", type=int, default=40)
    parser.add_argument("--seed", type=int, default=20231)
    parser.add_argument("--naive-villages", type=int, default=15, help="sample size for (a); 0 = all")
    parser.add_argument("--keep", type=Path, default=None, help="work in this folder and keep it")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "src"))

    work = args.keep or Path(tempfile.mkdtemp(prefix="berdaya-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    data, out = work / "data", work / "out"
    shutil.rmtree(out, ignore_errors=True)
    print(f"benchmark folder: {work}  (cores: {os.cpu_count()}, load: {os.getloadavg()[0]:.1f})", flush=True)
    berdaya(
        "demo-data",
        "--out",
        str(data),
        "--villages",
        str(args.villages),
        "--households",
        str(args.households),
        "--seed",
        str(args.seed),
    )
    study = data / "study.yml"

    first = berdaya("run", str(study), "--out", str(out), "--workers", "2")
    second = berdaya("run", str(study), "--out", str(out), "--workers", "2")
    print(f"first full run (stages + {args.villages} villages, 2 workers): {first:.1f} s", flush=True)
    print(
        f"second run, nothing changed: {second:.2f} s = {100 * second / first:.1f}% of the first", flush=True
    )
    from analysis.run.pipeline import village_file_names  # noqa: F401  (fails early on a broken tree)

    villages = json.loads((out / "run.json").read_text())["incremental"]["village_list"]["villages"]

    timings: list[Timing] = []
    memory: dict[str, dict[str, int]] = {}
    for workers in (1, 2):
        forget_village_reports(out)
        seconds = berdaya("run", str(study), "--out", str(out), "--workers", str(workers))
        timings.append(
            Timing(
                f"({'b' if workers == 1 else 'c'}) berdaya run --workers {workers}", len(villages), seconds
            )
        )
        memory[f"{len(villages)} villages, {workers} worker(s)"] = batch_record(out)["peak_rss_per_worker"]
        print(f"{timings[-1].label}: {seconds:.1f} s", flush=True)
    berdaya2 = timings[-1]
    timings.append(floor(villages, study=study, out=out))
    print(f"{timings[-1].label}: {timings[-1].seconds:.1f} s", flush=True)

    subset = villages[:25]
    forget_village_reports(out)
    berdaya("run", str(study), "--out", str(out), "--workers", "2", "--villages", ",".join(subset))
    memory[f"{len(subset)} villages, 2 worker(s)"] = batch_record(out)["peak_rss_per_worker"]

    n = args.naive_villages or len(villages)
    step = max(1, len(villages) // n)
    sample = villages[::step][:n]
    naive = naive_loop(sample, study=study, out=out, work=work)
    timings.insert(0, naive)
    print(f"{naive.label}: {naive.seconds:.1f} s for {naive.villages} villages", flush=True)

    print()
    print(f"{'':46}{'s/village':>10}{'villages/min':>14}")
    for t in timings:
        print(f"{t.label:46}{t.per_village:>10.3f}{t.per_minute:>14.1f}")
    print()
    print("peak memory per worker (worker process + its kernel):")
    for label, peaks in memory.items():
        values = ", ".join(mib(v) for v in peaks.values())
        print(f"  {label}: {values}")
    print()
    x = naive.per_village / berdaya2.per_village
    y = berdaya2.per_village / timings[-1].per_village
    summary = {
        "timings": {
            t.label: {"seconds": t.seconds, "villages": t.villages, "per_minute": t.per_minute}
            for t in timings
        },
        "first_run_seconds": first,
        "second_run_seconds": second,
        "memory": memory,
        "naive_over_berdaya2": x,
        "berdaya2_over_floor": y,
    }
    (work / "benchmark.json").write_text(json.dumps(summary, indent=2) + "\n")
    print(f"naive/berdaya2 = {x:.1f}; berdaya2/floor = {y:.1f}", flush=True)
    if args.keep is None:
        shutil.rmtree(work, ignore_errors=True)
    return summary


if __name__ == "__main__":
    main()
