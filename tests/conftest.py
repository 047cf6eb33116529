"""Runs that several tests read, each built once per pytest session.

End-to-end runs, through the real ``berdaya`` command (kernels, nbconvert, the village batch):

- ``demo_run``: a small demo, plus one village and the programme report in English
  (tests/report_demo.py); read by the pipeline, privacy, report, browser and tutorial tests;
- ``hostile_run``: the same with village codes and names that are XSS and path payloads;
- ``batch_stages`` and ``batch_local_run``: the batch tests' study after its stages, and after a
  two-worker batch of its six village reports (tests/e2e_builds.py);
- ``safety_demo`` and ``safety_without_a_village``: the run-safety tests' key-less study and its
  rerun after a village left the data;
- ``checkouts``: one study built in two fresh checkouts of the project (test_reproducible).

In-process runs of the data stages (no notebooks):

- ``tiers_run``: the shrunk study of the disclosure tests (tests/tiers_demo.py);
- ``demo_stages``: the bundled demo (data/raw/demo) through clean, construct and estimate.

Every run writes into a ``tmp_path_factory`` folder, processed data included, and is shared
read-only: a test that changes files copies them first (``shutil.copytree``).

The end-to-end builds only start processes, so the session starts those its selected tests need
in one background thread, in the order the tests need them, when the first test starts: they
use the second core while the in-process tests run on the first. A fixture waits for its build
(or builds it then, if it was not started). Commands still running when the session ends are
stopped with their workers and kernels.

Tiers: a test that uses an end-to-end fixture is marked ``e2e`` here, whatever its module says,
so that ``make test-fast`` (``-m "not slow and not e2e"``) never builds one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, wait
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import commands
import pytest
from e2e_builds import (
    BatchStudy,
    SafetyDemo,
    build_batch_local_run,
    build_batch_stages,
    build_checkouts,
    build_safety_demo,
    build_without_a_village,
)
from report_demo import DemoRun, build_demo, build_hostile
from tiers_demo import Run, build_tiers

from analysis.config import DEMO_DIR, DEMO_STUDY
from analysis.shared.files import sha256_file
from analysis.stages import clean_stage, construct_stage, estimate_stage

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
)
E2E_FIXTURES = frozenset(E2E_BUILDS)
#: The build each of these copies and runs again.
DEPENDS = {"batch_local_run": "batch_stages", "safety_without_a_village": "safety_demo"}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Mark every test that uses an end-to-end fixture ``e2e``."""
    for item in items:
        if E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.e2e)


class Builds:
    """The end-to-end builds of this session, each run once in one background thread."""

    def __init__(self, factory: pytest.TempPathFactory, env: Mapping[str, str]) -> None:
        self._factory = factory
        # The environment when the session began: a test's monkeypatched HOME or key must not
        # reach a build that happens to start during that test.
        self._env = dict(env)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="e2e-build")
        self._futures: dict[str, Future[Any]] = {}

    def _recipe(self, name: str) -> Callable[[], Any]:
        """What building ``name`` does, its folders made now (in the calling thread)."""
        env, mktemp = self._env, self._factory.mktemp
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
        raise KeyError(name)

    def start(self, name: str) -> None:
        """Queue ``name`` (after the builds it depends on), unless it is queued already."""
        if name in self._futures:
            return
        if name in DEPENDS:
            self.start(DEPENDS[name])
        self._futures[name] = self._pool.submit(self._recipe(name))

    def result(self, name: str) -> Any:
        """Wait for ``name`` (starting it now if no test asked for it at the session's start)."""
        self.start(name)
        future = self._futures[name]
        while True:
            try:
                # In short waits: an endless one would not let Ctrl-C through to pytest.
                return future.result(timeout=0.5)
            except FutureTimeout:
                continue

    def close(self) -> None:
        """Drop the builds not started; stop the one running (the session ended early)."""
        for future in self._futures.values():
            future.cancel()
        while not all(future.done() for future in self._futures.values()):
            commands.stop_all()  # again: a build may have started its next command meanwhile
            wait(self._futures.values(), timeout=0.5)
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="session", autouse=True)
def e2e_builds(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Builds]:
    """Start the end-to-end builds the selected tests need, in the order they need them."""
    builds = Builds(tmp_path_factory, os.environ)
    first_use: dict[str, int] = {}
    for index, item in enumerate(request.session.items):
        for name in E2E_FIXTURES & set(getattr(item, "fixturenames", ())):
            first_use.setdefault(name, index)
    for name in sorted(first_use, key=lambda n: (first_use[n], E2E_BUILDS.index(n))):
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
def tiers_run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    """The disclosure tests' study: a programme village of one household, a comparison one of three."""
    return build_tiers(tmp_path_factory.mktemp("tiers"))


@dataclass(frozen=True)
class DemoStages:
    """The bundled demo after the data stages, and the SHA-256 of its raw folder before them."""

    processed: Path
    tables: Path
    raw_before: dict[str, str]


@pytest.fixture(scope="session")
def demo_stages(tmp_path_factory: pytest.TempPathFactory) -> DemoStages:
    """data/raw/demo/study.yml through clean, construct and estimate, in-process."""
    before = {p.name: sha256_file(p) for p in sorted(DEMO_DIR.iterdir())}
    out = tmp_path_factory.mktemp("demo_stages")
    processed, tables = out / "processed", out / "tables"
    for round_name in ("baseline", "followup"):
        clean_stage(DEMO_STUDY, round_name, processed)
    construct_stage(DEMO_STUDY, processed)
    estimate_stage(DEMO_STUDY, processed, tables)
    return DemoStages(processed, tables, before)
