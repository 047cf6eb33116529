#!/usr/bin/env bash
# Makes git strip notebooks as it reads them (the nbstripout filter named in .gitattributes):
# outputs, execution counts and the metadata JupyterLab adds when a notebook is opened and its
# kernel starts (language_info, cell execution times, scrolling) never show as changes, and are
# never committed. `make` runs this once per clone; run it by hand after a conda install:
#   bash scripts/strip-notebooks.sh [PYTHON]
# PYTHON is the interpreter that has nbstripout (default: the project's .venv).
set -euo pipefail
python="${1:-.venv/bin/python}"
if ! git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  exit 0  # an unpacked archive, not a clone: nothing to set up
fi
# --attributes keeps the committed .gitattributes as the one place that names the filter.
"$python" -m nbstripout --install --attributes .gitattributes --python "$python"
git config filter.nbstripout.extrakeys "metadata.language_info"
# Without .venv (deleted, not yet rebuilt) git keeps working on notebooks, unstripped; the
# notebook tests still refuse a committed output.
git config --unset filter.nbstripout.required || true
