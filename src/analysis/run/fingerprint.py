"""Content hashes that decide what an incremental run may skip.

A step (a stage notebook, one village report) is skipped when the hash of everything it
depends on equals the hash recorded in ``run.json`` by the run that produced its outputs, and
those outputs are still on disk, unchanged. "Everything it depends on" is: the notebook's
bytes, its parameters, the study's input files, the outputs of the steps before it, and the
environment (package versions plus the source of the ``analysis`` package itself, since a
developer's edit to a report function changes reports without changing any version number).

This module imports no papermill, nbconvert or matplotlib, so that a second run with
nothing to do finishes in a fraction of the first.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import platform
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from analysis.shared.files import sha256_file
from analysis.shared.versions import package_versions

#: The folder of the ``analysis`` package, whose source is part of every fingerprint.
PACKAGE_DIR = Path(__file__).resolve().parents[1]


def digest(value: Any) -> str:
    """SHA-256 of a JSON-able value (keys sorted, so dict order never matters)."""
    text = json.dumps(value, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def source_digest(folder: Path = PACKAGE_DIR) -> str:
    """SHA-256 over the names and bytes of every file of the ``analysis`` package."""
    h = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        rel = path.relative_to(folder)
        if not path.is_file() or "__pycache__" in rel.parts or any(p.startswith(".") for p in rel.parts):
            continue
        h.update(str(rel).encode() + b"\0")
        h.update(path.read_bytes())
        h.update(b"\0")
    return h.hexdigest()


def pseudonym_key_fingerprint(study: Any) -> str:
    """A keyed fingerprint of the pseudonymization key in use, or ``"none"``.

    Cleaning output depends on the key, so a new key must re-run cleaning. The fingerprint is
    an HMAC of a constant under the key: it tells keys apart without storing anything that
    the pseudonyms themselves do not already expose.
    """
    from analysis.clean.deidentify import resolve_key
    from analysis.errors import BerdayaError

    try:
        # create=False: deciding whether to re-run must never create a key file.
        key = resolve_key(study, create=False)
    except BerdayaError:
        return "none"
    return hmac.new(key.secret, b"berdaya incremental-run fingerprint", hashlib.sha256).hexdigest()[:16]


def environment(study: Any) -> dict[str, Any]:
    """What outside the study's files can change results: versions, source, key, interpreter."""
    return {
        "packages": package_versions(),
        "analysis_source": source_digest(),
        "python": platform.python_version(),
        "pseudonym_key": pseudonym_key_fingerprint(study),
    }


class PathLabels:
    """Write paths in ``run.json`` relative to the output or study folder.

    A copied or moved output folder then keeps its fingerprints, and ``run.json`` does not
    depend on where the study happens to live.
    """

    def __init__(self, roots: Mapping[str, Path]) -> None:
        # Longest root first, so a study folder inside the output folder wins.
        self._roots = sorted(
            ((name, p.resolve()) for name, p in roots.items()), key=lambda r: -len(str(r[1]))
        )

    def label(self, path: Path) -> str:
        """``<name>/relative/path`` for a path under a root, else the absolute path."""
        resolved = path.resolve()
        for name, root in self._roots:
            try:
                rel = resolved.relative_to(root)
            except ValueError:
                continue
            return f"<{name}>/{rel.as_posix()}" if str(rel) != "." else f"<{name}>"
        return str(resolved)

    def path(self, label: str) -> Path:
        """The path a label stands for."""
        for name, root in self._roots:
            prefix = f"<{name}>"
            if label == prefix:
                return root
            if label.startswith(prefix + "/"):
                return root / label[len(prefix) + 1 :]
        return Path(label)

    def portable(self, value: Any) -> Any:
        """``value`` with every string that names a path under a root replaced by its label."""
        if isinstance(value, Mapping):
            return {k: self.portable(v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.portable(v) for v in value]
        if isinstance(value, str) and os.path.isabs(value):
            return self.label(Path(value))
        return value


def stat_tree(folders: Iterable[Path]) -> dict[Path, tuple[int, int, int]]:
    """``(mtime_ns, size, inode)`` of every visible file under ``folders``.

    Comparing two of these tells which files a stage wrote, even when it wrote the same bytes
    again (an atomic write always creates a new inode).
    """
    result: dict[Path, tuple[int, int, int]] = {}
    for folder in folders:
        if not folder.is_dir():
            continue
        for path in folder.rglob("*"):
            if path.name.startswith(".") or not path.is_file():
                continue
            st = path.stat()
            result[path.resolve()] = (st.st_mtime_ns, st.st_size, st.st_ino)
    return result


def written_between(before: Mapping[Path, Any], after: Mapping[Path, Any]) -> list[Path]:
    """Files that appeared or changed between two :func:`stat_tree` snapshots."""
    return sorted(p for p, s in after.items() if before.get(p) != s)


def files_intact(outputs: Mapping[str, str], labels: PathLabels) -> bool:
    """Whether every recorded output still exists with the recorded SHA-256."""
    for label, sha in outputs.items():
        path = labels.path(label)
        if not path.is_file() or sha256_file(path) != sha:
            return False
    return True
