"""The README's tree of src/analysis names exactly the package's folders, and the tests mirror them."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "src" / "analysis"


def subpackages() -> set[str]:
    return {p.parent.name for p in PACKAGE.glob("*/__init__.py")}


def readme_tree_folders() -> set[str]:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = text[text.index("src/analysis/ ") :]
    block = block[: block.index("```")]
    # Folder lines of the package are indented by two spaces: "  run/   running a study ...".
    return set(re.findall(r"^  ([a-z_]+)/ ", block, flags=re.M))


def test_the_readme_tree_lists_every_folder_of_the_package_and_no_other() -> None:
    folders = {p.name for p in PACKAGE.iterdir() if p.is_dir() and not p.name.startswith(("_", "."))}
    assert subpackages() <= folders
    assert readme_tree_folders() == folders


def test_every_subpackage_has_a_mirrored_test_folder() -> None:
    tests = {p.name for p in (ROOT / "tests").iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    assert subpackages() <= tests


def test_the_package_has_no_flat_modules_left_but_errors_and_config() -> None:
    flat = {p.stem for p in PACKAGE.glob("*.py")} - {"__init__"}
    assert flat == {"errors", "config"}
