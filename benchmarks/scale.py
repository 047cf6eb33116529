"""Benchmark: the clean → construct → estimate data stages at national scale.

For each size (20,000, 50,000 and 200,000 households by default) it writes a demo study with
``analysis.demo.survey.write_demo`` (the same faults as the small demo), then, in a fresh process so
that peak memory is that size's own:

* the floor: reading both raw exports with pyarrow's CSV reader, every column as text;
* the data stages, called in-process exactly as the stage notebooks call them;
* the real command, ``berdaya run STUDY --no-village-reports --out OUT``, from the command line:
  the same stages through their notebooks and kernels, plus the programme report.

It prints wall time and peak memory per size, the ratios in-process/floor and command/in-process,
and the growth from 50,000 to 200,000 households against linear growth (4×). Timings are ratios
taken in the same run, because the machine is shared and noisy; nothing here fails on a time
limit. ``--profile N`` adds one more in-process run under cProfile and prints the N functions of
``analysis`` with the largest cumulative time.

    .venv/bin/python benchmarks/scale.py [--sizes 20000,50000,200000] [--keep DIR] [--profile 3]
    make bench
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HOUSEHOLDS_PER_VILLAGE = 100

_CHILD = r"""
import json, resource, sys, time
from pathlib import Path

mode, study, out = sys.argv[1], Path(sys.argv[2]), Path(sys.argv[3])
profiler = None
if mode == "profile":
    import cProfile
    profiler = cProfile.Profile()
    profiler.enable()
start = time.perf_counter()
stages = {}
if mode == "floor":
    import pyarrow.csv as pv
    for name in ("baseline_2023.csv", "followup_2025.csv"):
        with open(study.parent / name, "rb") as handle:
            header = handle.readline().decode("utf-8-sig").strip().split(";")
        table = pv.read_csv(
            study.parent / name,
            parse_options=pv.ParseOptions(delimiter=";", newlines_in_values=True),
            convert_options=pv.ConvertOptions(column_types={c.strip('"'): "string" for c in header}),
        )
        stages[name] = table.num_rows
else:
    from analysis.stages import clean_stage, construct_stage, estimate_stage
    for round_name in ("baseline", "followup"):
        t = time.perf_counter()
        clean_stage(study, round_name, out / "processed")
        stages[f"clean_{round_name}"] = time.perf_counter() - t
    t = time.perf_counter()
    construct_stage(study, out / "processed")
    stages["construct"] = time.perf_counter() - t
    t = time.perf_counter()
    estimate_stage(study, out / "processed", out / "tables")
    stages["estimate"] = time.perf_counter() - t
seconds = time.perf_counter() - start
if profiler is not None:
    profiler.disable()
    out.mkdir(parents=True, exist_ok=True)
    profiler.dump_stats(str(out / "stages.prof"))
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"seconds": seconds, "peak_bytes": peak, "stages": stages}))
"""


def _cpu_of_children() -> float:
    """CPU seconds (user + system) of every finished child process, kernels included."""
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _child(mode: str, study: Path, out: Path) -> dict[str, Any]:
    cpu = _cpu_of_children()
    done = subprocess.run(
        [sys.executable, "-c", _CHILD, mode, str(study), str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{mode} run failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    # CPU time says less about the shared machine's load than wall time does.
    result["cpu_seconds"] = _cpu_of_children() - cpu
    return result


def _berdaya() -> list[str]:
    """The command line of this environment's ``berdaya`` (the venv's script, else the module)."""
    script = Path(sys.executable).with_name("berdaya")
    if script.is_file() and os.access(script, os.X_OK):
        return [str(script)]
    return [sys.executable, "-m", "analysis.run.cli"]


def _command(study: Path, out: Path) -> dict[str, Any]:
    """Time ``berdaya run STUDY --no-village-reports --out OUT`` as a user runs it."""
    started, cpu = time.perf_counter(), _cpu_of_children()
    done = subprocess.run(
        [*_berdaya(), "run", str(study), "--no-village-reports", "--out", str(out)],
        capture_output=True,
        text=True,
        check=False,
    )
    seconds, cpu = time.perf_counter() - started, _cpu_of_children() - cpu
    if done.returncode != 0:
        raise RuntimeError(f"berdaya run failed (exit {done.returncode}):\n{done.stderr[-3000:]}")
    record = json.loads((out / "run.json").read_text())
    stages = {s["name"]: s["seconds"] for s in record.get("stages", [])}
    return {"seconds": seconds, "cpu_seconds": cpu, "stages": stages}


def profile_top(path: Path, n: int) -> list[tuple[str, float, float]]:
    """The ``n`` functions of ``analysis`` with the largest cumulative time in a cProfile dump.

    Returns (``module:line(function)``, cumulative seconds, own seconds), largest first. The
    stage entry points (``analysis/stages/``) are left out: they contain everything.
    """
    import pstats

    stats: Any = pstats.Stats(str(path)).stats
    rows = []
    for (file, line, name), (_, _, own, cumulative, _) in stats.items():
        where = file.replace(os.sep, "/")
        if "/analysis/" not in where or "/analysis/stages/" in where:
            continue
        module = where.split("/analysis/", 1)[1].removesuffix(".py").replace("/", ".")
        rows.append((f"{module}:{line}({name})", cumulative, own))
    rows.sort(key=lambda r: -r[1])
    return rows[:n]


def measure(
    households: int,
    *,
    work: Path,
    seed: int = 20231,
    command: bool = True,
    profile: int = 0,
    reuse: bool = False,
) -> dict[str, Any]:
    """Generate a study of ``households`` households; time the floor, the stages and the command.

    With ``reuse``, a study of that size already in ``work`` (from ``--keep``) is timed again
    rather than generated anew; its outputs are written afresh.
    """
    from analysis.demo.survey import write_demo

    villages = max(2, households // HOUSEHOLDS_PER_VILLAGE)
    folder = work / f"h{households}"
    started = time.perf_counter()
    study = folder / "study" / "study.yml"
    if reuse and study.is_file():
        for previous in ("floor", "out", "cli", "profiled"):
            shutil.rmtree(folder / previous, ignore_errors=True)
    else:
        write_demo(folder / "study", villages=villages, households=HOUSEHOLDS_PER_VILLAGE, seed=seed)
    generation = time.perf_counter() - started
    floor = _child("floor", study, folder / "floor")
    stages = _child("stages", study, folder / "out")
    impact = (folder / "out" / "tables" / "impact.csv").read_text()
    truth = json.loads((folder / "study" / "truth.json").read_text())
    cli = _command(study, folder / "cli") if command else None
    top: list[tuple[str, float, float]] = []
    if profile:
        _child("profile", study, folder / "profiled")
        top = profile_top(folder / "profiled" / "stages.prof", profile)
    return {
        "households": villages * HOUSEHOLDS_PER_VILLAGE,
        "villages": villages,
        "generation_s": generation,
        "floor_s": floor["seconds"],
        "pipeline_s": stages["seconds"],
        "pipeline_cpu_s": stages["cpu_seconds"],
        "peak_gib": stages["peak_bytes"] / 2**30,
        "stages": stages["stages"],
        "cli_s": cli["seconds"] if cli else None,
        "cli_cpu_s": cli["cpu_seconds"] if cli else None,
        "cli_stages": cli["stages"] if cli else {},
        "profile": top,
        "covered": _coverage(impact, truth),
        "z": {k: z for k, (_, z) in _index_errors(impact, truth).items()},
    }


def _coverage(impact_csv: str, truth: dict[str, float]) -> dict[str, bool]:
    """Whether each family index's DiD and ANCOVA intervals cover its true effect."""
    return {key: covered for key, (covered, _) in _index_errors(impact_csv, truth).items()}


def _index_errors(impact_csv: str, truth: dict[str, float]) -> dict[str, tuple[bool, float]]:
    """Per family index and estimator: covered, and (estimate - truth) / standard error."""
    import io

    import pandas as pd

    table = pd.read_csv(io.StringIO(impact_csv))
    rows = table.loc[table["outcome"].str.startswith("index_") & table["estimator"].isin(["did", "ancova"])]
    return {
        f"{r.outcome}/{r.estimator}": (
            bool(r.ci_low <= truth[r.outcome] <= r.ci_high),
            float((r.estimate - truth[r.outcome]) / r.std_error),
        )
        for r in rows.itertuples()
        if r.outcome in truth
    }


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run the benchmark and print its report; returns the measurements."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="20000,50000,200000", help="households, comma-separated")
    parser.add_argument("--keep", default=None, help="keep the generated studies in this folder")
    parser.add_argument(
        "--seed", type=int, default=20231, help="seed of the generated studies (default: the demo's)"
    )
    parser.add_argument(
        "--no-command", action="store_true", help="do not time `berdaya run` from the command line"
    )
    parser.add_argument(
        "--profile", type=int, default=0, metavar="N", help="print the top N functions of a cProfile run"
    )
    parser.add_argument(
        "--reuse",
        action="store_true",
        help="time the studies already in the --keep folder again instead of generating them",
    )
    args = parser.parse_args(argv)
    sizes = [int(s) for s in args.sizes.split(",")]
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="berdaya-scale-"))
    work.mkdir(parents=True, exist_ok=True)
    results = []
    try:
        for size in sizes:
            result = measure(
                size,
                work=work,
                seed=args.seed,
                command=not args.no_command,
                profile=args.profile,
                reuse=args.reuse,
            )
            results.append(result)
            print(
                f"{result['households']:>8,} households: pipeline {result['pipeline_s']:6.1f} s, "
                f"floor {result['floor_s']:5.2f} s, ratio {result['pipeline_s'] / result['floor_s']:5.1f}, "
                f"peak {result['peak_gib']:.2f} GiB, generation {result['generation_s']:.1f} s",
                flush=True,
            )
            print(
                "    stages: " + ", ".join(f"{k} {v:.1f} s" for k, v in result["stages"].items()), flush=True
            )
            if result["cli_s"] is not None:
                print(
                    f"    command: berdaya run --no-village-reports {result['cli_s']:6.1f} s, "
                    f"command/in-process {result['cli_s'] / result['pipeline_s']:.2f}, "
                    f"in-process/floor {result['pipeline_s'] / result['floor_s']:.1f}",
                    flush=True,
                )
                print(
                    f"    CPU seconds: command {result['cli_cpu_s']:.1f}, in-process {result['pipeline_cpu_s']:.1f} "
                    f"(ratio {result['cli_cpu_s'] / result['pipeline_cpu_s']:.2f}); "
                    f"load average {os.getloadavg()[0]:.2f}",
                    flush=True,
                )
                print(
                    "    run.json stages: "
                    + ", ".join(f"{k} {v:.1f} s" for k, v in result["cli_stages"].items()),
                    flush=True,
                )
            for name, cumulative, own in result["profile"]:
                print(f"    profile: {cumulative:6.1f} s cumulative, {own:5.1f} s own  {name}", flush=True)
            missed = [f"{k} z = {result['z'][k]:+.2f}" for k, ok in result["covered"].items() if not ok]
            print(
                f"    family indices covering the truth: {sum(result['covered'].values())}/{len(result['covered'])}"
                + (f" (missed: {', '.join(missed)})" if missed else ""),
                flush=True,
            )
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    by_size = {r["households"]: r for r in results}
    summary: dict[str, Any] = {"results": results}
    if 50_000 in by_size and 200_000 in by_size:
        growth = by_size[200_000]["pipeline_s"] / by_size[50_000]["pipeline_s"]
        summary["growth_50k_to_200k"] = growth
        print(f"growth 50,000 → 200,000 households: {growth:.2f}× (linear = 4.00×, +25% = 5.00×)")
    largest = results[-1]
    summary["ratio_to_floor"] = largest["pipeline_s"] / largest["floor_s"]
    print(f"pipeline/floor at {largest['households']:,} households = {summary['ratio_to_floor']:.1f}")
    if largest["cli_s"] is not None:
        summary["command_s"] = largest["cli_s"]
        summary["command_over_pipeline"] = largest["cli_s"] / largest["pipeline_s"]
        print(
            f"berdaya run/in-process at {largest['households']:,} households = "
            f"{summary['command_over_pipeline']:.2f} ({largest['cli_s']:.1f} s against {largest['pipeline_s']:.1f} s)"
        )
    return summary


if __name__ == "__main__":
    main()
