"""The environment facts of a run: the git commit does not depend on the notebook filter."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from analysis.shared.versions import git_commit


def git(repo: Path, *argv: str) -> str:
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    done = subprocess.run(
        ["git", "-C", str(repo), *argv], capture_output=True, text=True, check=True, env=env
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A clone-like repository whose notebook filter fails, as a slow or missing nbstripout would."""
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q")
    (repo / ".gitattributes").write_text("*.ipynb filter=nbstripout\n")
    (repo / "a.ipynb").write_text('{"cells": []}\n')
    (repo / "b.py").write_text("x = 1\n")
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "first")
    # Set after the commit: every later read of a notebook would go through this command.
    git(repo, "config", "filter.nbstripout.clean", "false")
    git(repo, "config", "filter.nbstripout.required", "true")
    return repo


def test_a_clean_checkout_is_its_commit_whatever_the_notebook_filter_does(repo: Path) -> None:
    os.utime(repo / "a.ipynb")  # timestamps git must re-check: the filter would run
    assert git_commit(repo) == git(repo, "rev-parse", "HEAD")


def test_a_changed_notebook_or_module_marks_the_commit_dirty(repo: Path) -> None:
    head = git(repo, "rev-parse", "HEAD")
    (repo / "a.ipynb").write_text('{"cells": [], "outputs": [1]}\n')
    assert git_commit(repo) == f"{head}-dirty"
    (repo / "a.ipynb").write_text('{"cells": []}\n')  # back as committed
    assert git_commit(repo) == head
    (repo / "b.py").write_text("x = 2\n")
    assert git_commit(repo) == f"{head}-dirty"


def test_outside_git_there_is_no_commit(tmp_path: Path) -> None:
    assert git_commit(tmp_path) is None
