"""The environment a run happened in: package versions, the git commit, the platform."""

from __future__ import annotations

import platform
import subprocess
import sys
from collections.abc import Iterable
from importlib import metadata
from pathlib import Path

from analysis.config import PROJECT_ROOT

#: Packages whose versions change numbers or reports.
TRACKED_PACKAGES = (
    "berdaya",
    "numpy",
    "pandas",
    "scipy",
    "statsmodels",
    "wildboottest",
    "pyfixest",
    "matplotlib",
    "seaborn",
    "papermill",
    "nbconvert",
    "nbclient",
    "ipykernel",
    "pyarrow",
    "babel",
)


def package_versions(names: Iterable[str] = TRACKED_PACKAGES) -> dict[str, str]:
    """Installed versions of the packages that matter for results."""
    versions = {"python": platform.python_version()}
    for name in names:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def git_commit(root: Path = PROJECT_ROOT) -> str | None:
    """The checked-out commit of the project, with ``-dirty`` when files are modified; None outside git."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
        # The notebook filter (nbstripout, set up by scripts/strip-notebooks.sh) starts a Python
        # per notebook whose timestamps git cannot trust, as on a fresh clone: 10 s and more, so
        # a run's commit depended on the timeout. Notebooks are committed stripped, so comparing
        # their bytes as they are (``cat``) tells the same story, and a notebook saved with
        # outputs counts as modified, as it is.
        dirty = subprocess.run(
            [
                "git",
                "-C",
                str(root),
                "-c",
                "filter.nbstripout.clean=cat",
                "-c",
                "filter.nbstripout.required=false",
                "status",
                "--porcelain",
                "--untracked-files=no",
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=10,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return f"{commit}-dirty" if dirty else commit


def platform_info() -> dict[str, str]:
    """The machine, for telling runs apart (not for results: those must not depend on it)."""
    return {
        "system": platform.system(),
        "release": platform.release(),
        "machine": platform.machine(),
        "python_implementation": platform.python_implementation(),
        "executable": sys.executable,
    }
