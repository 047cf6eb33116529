#!/usr/bin/env bash
# `make test` after ruff and the import contracts: mypy on src/ beside pytest, then both verdicts.
#
# Why beside: mypy takes about 35 s on a fresh clone (no cache) and uses one core, while pytest
# leaves a core idle for about a quarter of its run (kernels starting, builds handing over), so
# together they finish about half a minute sooner than one after the other. mypy's report is
# printed after pytest's, so the two never interleave; the exit status fails if either failed.
#
# Usage: scripts/test.sh BIN [PYTEST ARGS...]
set -uo pipefail
bin="$1"
shift
report="$(mktemp)"
"$bin/mypy" >"$report" 2>&1 &
mypy_pid=$!
trap 'kill "$mypy_pid" 2>/dev/null; rm -f "$report"' EXIT
# Ctrl-C stops both now (a background job ignores SIGINT in a script, so mypy would run on).
trap 'exit 130' INT TERM
"$bin/python" -m pytest "$@"
pytest_status=$?
wait "$mypy_pid"
mypy_status=$?
echo "mypy (on src/, run beside pytest):"
cat "$report"
if [ "$mypy_status" -ne 0 ]; then
    echo "mypy failed (exit $mypy_status)" >&2
    exit "$mypy_status"
fi
exit "$pytest_status"
