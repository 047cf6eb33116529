"""environment.yml (conda), pyproject.toml (pip) and requirements.lock must agree."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~\[ ;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def _pyproject() -> list[str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return list(project["dependencies"]) + list(project["optional-dependencies"]["dev"])


def test_environment_yml_lists_the_same_requirements_as_pyproject() -> None:
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip_section = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    from_env = sorted(r for r in pip_section if r != "-e .")
    assert from_env == sorted(_pyproject())
    assert "-e ." in pip_section
    assert "python=3.11" in env["dependencies"]


def test_lock_file_pins_every_requirement_exactly() -> None:
    pinned = {
        _name(line.split("==")[0]): line.split("==")[1].split()[0]
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    missing = sorted({_name(r) for r in _pyproject()} - set(pinned))
    assert not missing, f"requirements.lock lacks {missing}: run `make lock`"


def test_nbconvert_is_pinned_past_the_html_advisories() -> None:
    # docs/bad-inputs.md §4.2: CVE-2026-39378 fixed in nbconvert 7.17.1.
    assert "nbconvert>=7.17.1" in _pyproject()
    lock = (ROOT / "requirements.lock").read_text()
    version = re.search(r"^nbconvert==([\d.]+)", lock, re.M)
    assert version is not None
    assert tuple(int(p) for p in version.group(1).split(".")) >= (7, 17, 1)


def test_locked_versions_satisfy_the_declared_ranges() -> None:
    # environment.yml carries pyproject's ranges (checked above); the lock must fall inside them,
    # so conda users and `make` users get compatible versions.
    from packaging.requirements import Requirement

    lock = {
        _name(line.split("==")[0]): line.split("==")[1].split()[0]
        for line in (ROOT / "requirements.lock").read_text().splitlines()
        if "==" in line and not line.lstrip().startswith("#")
    }
    outside = []
    for text in _pyproject():
        requirement = Requirement(text)
        version = lock[_name(requirement.name)]
        if not requirement.specifier.contains(version, prereleases=True):
            outside.append(f"{requirement} (locked {version})")
    assert not outside, outside
