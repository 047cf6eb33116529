"""Runs that several tests read, each built once per pytest session.

End-to-end runs, through the real ``berdaya`` command (kernels, nbconvert, the village batch):

- ``demo_run``: a small demo, plus one village and the programme report in English
  (tests/report_demo.py); read by the pipeline, privacy, report, browser and tutorial tests;
- ``hostile_run``: the same with village codes and names that are XSS and path payloads;
- ``batch_stages`` and ``batch_local_run``: the batch tests' study after its stages, and after a
  two-worker batch of its six village reports (tests/e2e_builds.py);
- ``safety_demo`` and ``safety_without_a_village``: the run-safety tests' key-less study and its
  rerun after a village left the data;
- ``checkouts``: one study built in two fresh checkouts of the project (test_reproducible);
- ``one_cluster_pilot``: the pipeline, notebooks included, on a study with one programme village
  (test_one_treated_cluster; tests/jobs.py);
- ``stage_notebook_runs``: each stage notebook through papermill's command line, from the project
  root and from notebooks/, on copies of ``demo_stages`` (test_notebook_params);
- ``tutorial_runs``: both tutorials through papermill on ``demo_run``'s study (tests/jobs.py);
- ``multi_round_runs``: the three-round demo run, packaged and verified, and two repeated
  cross-sections run (test_multi_round_run; tests/e2e_builds.py).

In-process runs of the data stages and commands, run one after another in one background
process (jobs, tests/background.py; not end to end, so ``make test-fast`` runs them too):

- ``demo_stages``: the bundled demo (data/raw/demo) through clean, construct and estimate;
- ``tiers_run``: the shrunk study of the disclosure tests (tests/tiers_demo.py);
- ``one_cluster_stages``: the stages on the one-programme and one-comparison-village studies;
- ``replication_packages``: ``berdaya package`` with and without ``--include-raw``, and
  ``berdaya verify`` on the package and on a copy with one value changed (``main``);
- ``scale_run``: the demo at 5,000 households through the stages (test_scale_correctness);
- ``layout_stages`` and ``user_text_stages``: the small studies of tests/shared/test_layout.py
  and test_user_text.py through the stages;
- ``monte_carlo_small``: the 20 + 20 draws of tests/methods/test_monte_carlo.py
  (tests/monte_carlo.py), in four parts of ten draws. Its module runs last, and when it starts
  the tests' lane takes the parts the background has not begun, from the end, while the
  background takes them from the front: whichever lane is free draws, and both finish together.

Every run writes into a ``tmp_path_factory`` folder, processed data included, and is shared
read-only: a test that changes files copies them first (``shutil.copytree``).

The end-to-end builds and the background jobs only start processes, so the session starts those
its selected tests need in one background thread, in the order the tests need them, when the
first test starts: they use the second core while the in-process tests run on the first. A
fixture waits for its build (or builds it then, if it was not started). Commands still running
when the session ends are stopped with their workers and kernels.

Tiers: a test that uses an end-to-end fixture is marked ``e2e`` here, whatever its module says,
so that ``make test-fast`` (``-m "not slow and not e2e"``) never builds one.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from pathlib import Path
from typing import Any

import commands
import pandas as pd
import pytest
from background import JobServer
from e2e_builds import (
    BatchStudy,
    MultiRoundRuns,
    NotebookRun,
    SafetyDemo,
    build_batch_local_run,
    build_batch_stages,
    build_checkouts,
    build_multi_round_runs,
    build_safety_demo,
    build_stage_notebook_runs,
    build_without_a_village,
)
from jobs import DemoStages, OneClusterStages, Packages
from monte_carlo import EFFECT_SEED, NULL_SEED, draw_part
from report_demo import DemoRun, build_demo, build_hostile
from tiers_demo import Run

#: The end-to-end builds, in the order to start them when several are first needed by one test:
#: a build's dependencies come before it.
E2E_BUILDS = (
    "demo_run",
    "hostile_run",
    "batch_stages",
    "batch_local_run",
    "safety_demo",
    "safety_without_a_village",
    "checkouts",
    "one_cluster_pilot",
    "stage_notebook_runs",
    "tutorial_runs",
    "multi_round_runs",
)
E2E_FIXTURES = frozenset(E2E_BUILDS)
#: In-process work, each run as ``module.function(folder)`` in the session's job process
#: (tests/background.py): not end to end, so ``make test-fast`` runs it too.
JOBS = {
    "demo_stages": ("jobs", "build_demo_stages"),
    "tiers_run": ("tiers_demo", "build_tiers"),
    "one_cluster_stages": ("jobs", "build_one_cluster_stages"),
    "replication_packages": ("jobs", "build_packages"),
    "scale_run": ("jobs", "build_scale_run"),
    "layout_stages": ("jobs", "build_layout_stages"),
    "user_text_stages": ("jobs", "build_user_text_stages"),
}
#: The always-run Monte Carlo's parts: (effect scale, first seed, draws), 20 + 20 draws in all.
MONTE_CARLO_PARTS = {
    "monte_carlo_effect_1": (1.0, EFFECT_SEED, 10),
    "monte_carlo_effect_2": (1.0, EFFECT_SEED + 10, 10),
    "monte_carlo_null_1": (0.0, NULL_SEED, 10),
    "monte_carlo_null_2": (0.0, NULL_SEED + 10, 10),
}
#: Fixtures whose result is built in parts (each part a background job the tests' lane may take).
PARTS = {"monte_carlo_small": tuple(MONTE_CARLO_PARTS)}
BACKGROUND = E2E_BUILDS + tuple(JOBS) + tuple(MONTE_CARLO_PARTS)
#: Background results whose modules run after all the others: they take long on one core.
LATE = frozenset({"monte_carlo_small"})
#: The build each of these copies and runs again.
DEPENDS = {
    "batch_local_run": "batch_stages",
    "safety_without_a_village": "safety_demo",
    "stage_notebook_runs": "demo_stages",
    "tutorial_runs": "demo_run",
}
#: Each background build's (name, start, seconds), from the session's start: printed at the end,
#: so that a slow suite shows whether the tests or the background builds held it up.
TIMINGS: list[tuple[str, float, float]] = []
#: Each wait of a test for a background result: (name, when, seconds), when it took over 0.5 s.
#: Time the tests' lane spent idle, so a slow suite shows which build to start earlier.
WAITS: list[tuple[str, float, float]] = []
SESSION_START = time.perf_counter()


def _fixtures(item: pytest.Item) -> set[str]:
    """The fixtures ``item`` uses, with the parts of those built in parts."""
    names = set(getattr(item, "fixturenames", ()))
    return names.union(*(PARTS[n] for n in names & set(PARTS)))


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses an end-to-end fixture ``e2e``; run the LATE modules last."""
    for item in items:
        if E2E_FIXTURES & _fixtures(item):
            item.add_marker(pytest.mark.e2e)
    # Whole modules move (in their own order), so module-scoped fixtures are still set up once.
    late = {item.module for item in items if LATE & _fixtures(item) and hasattr(item, "module")}
    items.sort(key=lambda item: getattr(item, "module", None) in late)


class Builds:
    """The end-to-end builds and background jobs of this session, each run once in one background thread.

    Each name has one result future, set by whichever lane runs its recipe: the background
    thread, in queue order, or (for :data:`MONTE_CARLO_PARTS`) a test that needs it before the
    background has begun it (:meth:`take`).
    """

    def __init__(self, factory: pytest.TempPathFactory, env: Mapping[str, str]) -> None:
        self._factory = factory
        # The environment when the session began: a test's monkeypatched HOME or key must not
        # reach a build that happens to start during that test.
        self._env = dict(env)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2e-build")
        self._futures: dict[str, Future[Any]] = {}
        self._queued: list[Future[Any]] = []
        self._claimed: set[str] = set()
        self._claim_lock = threading.Lock()
        # One process for the in-process jobs, started by the first: the imports are paid once.
        self._jobs = JobServer(factory.mktemp("jobs") / "jobs.log", env=self._env)

    def _recipe(self, name: str) -> Callable[[], Any]:
        """What building ``name`` does, its folders made now (in the calling thread)."""
        env, mktemp, jobs = self._env, self._factory.mktemp, self._jobs
        if name == "demo_run":
            folder = mktemp("demo")
            return lambda: build_demo(folder, env=env)
        if name == "hostile_run":
            folder = mktemp("hostile")
            return lambda: build_hostile(folder, env=env)
        if name == "batch_stages":
            folder = mktemp("batch")
            return lambda: build_batch_stages(folder, env=env)
        if name == "batch_local_run":
            stages, folder = self._futures["batch_stages"], mktemp("local")
            return lambda: build_batch_local_run(stages.result(), folder, env=env)
        if name == "safety_demo":
            folder = mktemp("safety")
            return lambda: build_safety_demo(folder, env=env)
        if name == "safety_without_a_village":
            demo, folder = self._futures["safety_demo"], mktemp("removed")
            return lambda: build_without_a_village(demo.result(), folder, env=env)
        if name == "checkouts":
            folder = mktemp("checkouts")
            return lambda: build_checkouts(folder, env=env)
        if name == "stage_notebook_runs":
            stages, folder = self._futures["demo_stages"], mktemp("papermill")

            def notebooks() -> dict[tuple[str, str], NotebookRun]:
                done = stages.result()
                return build_stage_notebook_runs(done.processed, done.tables, folder, env=env)

            return notebooks
        if name == "tutorial_runs":
            demo, folder = self._futures["demo_run"], mktemp("tutorials")
            return lambda: jobs.run("jobs", "run_tutorials", demo.result().study, folder)
        if name == "multi_round_runs":
            folder = mktemp("rounds")
            return lambda: build_multi_round_runs(folder, env=env)
        if name == "one_cluster_pilot":
            folder = mktemp("pilot")
            return lambda: jobs.run("jobs", "build_one_cluster_pilot", folder)
        if name in MONTE_CARLO_PARTS:
            return lambda: jobs.run("monte_carlo", "draw_part", *MONTE_CARLO_PARTS[name])
        if name in JOBS:
            module, function = JOBS[name]
            folder = mktemp(name)
            return lambda: jobs.run(module, function, folder)
        raise KeyError(name)

    def start(self, name: str) -> None:
        """Queue ``name`` (after the builds it depends on), unless it is queued already."""
        if name in self._futures:
            return
        if name in DEPENDS:
            self.start(DEPENDS[name])
        recipe = self._recipe(name)
        self._futures[name] = Future()
        self._queued.append(self._pool.submit(self._run, name, recipe, lane="background"))

    def _run(self, name: str, recipe: Callable[[], Any], *, lane: str) -> None:
        """Run ``recipe`` into ``name``'s future, unless a lane has claimed it (or the session ended)."""
        with self._claim_lock:
            if name in self._claimed:
                return
            self._claimed.add(name)
        future = self._futures[name]
        if not future.set_running_or_notify_cancel():
            return
        began = time.perf_counter()
        try:
            future.set_result(recipe())
        except BaseException as exc:
            future.set_exception(exc)
        finally:
            label = name if lane == "background" else f"{name} (in the tests' lane)"
            TIMINGS.append((label, began - SESSION_START, time.perf_counter() - began))

    def take(self, names: tuple[str, ...]) -> dict[str, Any]:
        """The results of ``names``, running here, from the last, those the background has not begun."""
        for name in names:
            self.start(name)
        for name in reversed(names):
            if name in MONTE_CARLO_PARTS:
                # In this process: the job process may be busy with the background's part.
                self._run(name, lambda name=name: draw_part(*MONTE_CARLO_PARTS[name]), lane="tests")
        return {name: self.result(name) for name in names}

    def result(self, name: str) -> Any:
        """Wait for ``name`` (starting it now if no test asked for it at the session's start)."""
        self.start(name)
        future = self._futures[name]
        began = time.perf_counter()
        try:
            while True:
                try:
                    # In short waits: an endless one would not let Ctrl-C through to pytest.
                    return future.result(timeout=0.5)
                except FutureTimeout:
                    continue
        finally:
            waited = time.perf_counter() - began
            if waited > 0.5:
                WAITS.append((name, began - SESSION_START, waited))

    def close(self) -> None:
        """Drop the builds not started; stop the one running (the session ended early)."""
        for future in [*self._queued, *self._futures.values()]:
            future.cancel()
        while not all(future.done() for future in self._queued):
            commands.stop_all()  # again: a build may have started its next command meanwhile
            wait(self._queued, timeout=0.5)
        self._pool.shutdown(wait=True)
        self._jobs.close()


@pytest.fixture(scope="session", autouse=True)
def e2e_builds(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    """Start the builds and jobs the selected tests need, in the order they need them."""
    builds = Builds(tmp_path_factory, os.environ)
    first_use: dict[str, int] = {}
    for index, item in enumerate(request.session.items):
        for name in set(BACKGROUND) & _fixtures(item):
            first_use.setdefault(name, index)
    for name in sorted(first_use, key=lambda n: (first_use[n], BACKGROUND.index(n))):
        builds.start(name)
    try:
        yield builds
    finally:
        builds.close()


@pytest.fixture(scope="session")
def demo_run(e2e_builds: Builds) -> DemoRun:
    """The small demo's reports (Indonesian), with one village and the programme in English."""
    return e2e_builds.result("demo_run")


@pytest.fixture(scope="session")
def hostile_run(e2e_builds: Builds) -> DemoRun:
    """Reports of a demo whose village codes and names are XSS and path-traversal payloads."""
    return e2e_builds.result("hostile_run")


@pytest.fixture(scope="session")
def batch_stages(e2e_builds: Builds) -> BatchStudy:
    """The batch tests' study (6 villages × 20 households) after ``--no-village-reports``."""
    return e2e_builds.result("batch_stages")


@pytest.fixture(scope="session")
def batch_local_run(e2e_builds: Builds, batch_stages: BatchStudy) -> Path:
    """A copy of ``batch_stages`` with all six village reports, written on two local workers."""
    return e2e_builds.result("batch_local_run")


@pytest.fixture(scope="session")
def safety_demo(e2e_builds: Builds) -> SafetyDemo:
    """The run-safety tests' key-less study after its first full run (which made the key)."""
    return e2e_builds.result("safety_demo")


@pytest.fixture(scope="session")
def safety_without_a_village(e2e_builds: Builds, safety_demo: SafetyDemo) -> tuple[Path, str]:
    """A copy of ``safety_demo``'s reports rerun with ``--villages 0101`` after village 0301 left."""
    return e2e_builds.result("safety_without_a_village")


@pytest.fixture(scope="session")
def checkouts(e2e_builds: Builds) -> dict[str, Path]:
    """The output folders of one study built in two fresh checkouts of the project."""
    return e2e_builds.result("checkouts")


@pytest.fixture(scope="session")
def monte_carlo_small(e2e_builds: Builds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The Monte Carlo's 20 draws with the programme effect and 20 without (tests/monte_carlo.py)."""
    parts = e2e_builds.take(PARTS["monte_carlo_small"])
    effect = [parts[n] for n, (scale, *_) in MONTE_CARLO_PARTS.items() if scale == 1.0]
    null = [parts[n] for n, (scale, *_) in MONTE_CARLO_PARTS.items() if scale == 0.0]
    return pd.concat(effect, ignore_index=True), pd.concat(null, ignore_index=True)


@pytest.fixture(scope="session")
def one_cluster_pilot(e2e_builds: Builds) -> tuple[Path, Path, Path, Path, int]:
    """The pipeline on one programme village: study, processed, tables, output folder, exit code."""
    return e2e_builds.result("one_cluster_pilot")


@pytest.fixture(scope="session")
def stage_notebook_runs(e2e_builds: Builds, demo_stages: DemoStages) -> dict[tuple[str, str], NotebookRun]:
    """Each stage notebook run by papermill from the root and from notebooks/, by (notebook, where)."""
    return e2e_builds.result("stage_notebook_runs")


@pytest.fixture(scope="session")
def tutorial_runs(e2e_builds: Builds, demo_run: DemoRun) -> dict[str, tuple[Path, Path, str]]:
    """Both tutorials executed on ``demo_run``'s study: by name, the notebook, its work folder, its error."""
    return e2e_builds.result("tutorial_runs")


@pytest.fixture(scope="session")
def multi_round_runs(e2e_builds: Builds) -> MultiRoundRuns:
    """The three-round demo (run, package, verify) and two repeated cross-sections, run once."""
    return e2e_builds.result("multi_round_runs")


@pytest.fixture(scope="session")
def tiers_run(e2e_builds: Builds) -> Run:
    """The disclosure tests' study: a programme village of one household, a comparison one of three."""
    return e2e_builds.result("tiers_run")


@pytest.fixture(scope="session")
def demo_stages(e2e_builds: Builds) -> DemoStages:
    """data/raw/demo/study.yml through clean, construct and estimate, in-process (tests/jobs.py)."""
    return e2e_builds.result("demo_stages")


@pytest.fixture(scope="session")
def one_cluster_stages(e2e_builds: Builds) -> OneClusterStages:
    """The data stages on a study with one programme village and on one with one comparison village."""
    return e2e_builds.result("one_cluster_stages")


@pytest.fixture(scope="session")
def replication_packages(e2e_builds: Builds) -> Packages:
    """The replication tests' study and its package, without and with the raw exports."""
    return e2e_builds.result("replication_packages")


@pytest.fixture(scope="session")
def layout_stages(e2e_builds: Builds) -> tuple[Path, Path]:
    """A small demo through the stages, for the file names they write: (processed, tables)."""
    return e2e_builds.result("layout_stages")


@pytest.fixture(scope="session")
def user_text_stages(e2e_builds: Builds) -> tuple[Path, Path, Path]:
    """The demo with formula-like village codes and bidi controls: (study, processed, tables)."""
    return e2e_builds.result("user_text_stages")


@pytest.fixture(scope="session")
def scale_run(e2e_builds: Builds) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The demo at 50 villages × 100 households through the stages: its panel and impact table."""
    return e2e_builds.result("scale_run")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """The background builds: when each started and how long it took (the second core's lane)."""
    if not TIMINGS:
        return
    terminalreporter.section("background builds (start and seconds from the session's start)")
    for name, start, seconds in sorted(TIMINGS, key=lambda t: t[1]):
        terminalreporter.write_line(f"{start:7.1f} s  {seconds:6.1f} s  {name}")
    last = max(start + seconds for _, start, seconds in TIMINGS)
    taken = sum(seconds for name, _, seconds in TIMINGS if name.endswith("(in the tests' lane)"))
    busy = sum(seconds for *_, seconds in TIMINGS) - taken
    terminalreporter.write_line(
        f"background busy {busy:.0f} s (and {taken:.0f} s of its parts in the tests' lane); "
        f"the last ended {last:.0f} s into the session"
    )
    if WAITS:
        terminalreporter.write_line("the tests waited for:")
        for name, start, seconds in WAITS:
            terminalreporter.write_line(f"{start:7.1f} s  {seconds:6.1f} s  {name}")
        terminalreporter.write_line(f"waited {sum(s for *_, s in WAITS):.0f} s in all")
