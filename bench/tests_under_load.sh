#!/usr/bin/env bash
# The README's test command, three times in a row, beside two busy processes (one per core here):
# the suite must stay green on a loaded machine. Prints each run's summary line and the wall time.
#   bash bench/tests_under_load.sh [extra pytest args, e.g. -m "not slow"]
set -uo pipefail
cd "$(dirname "$0")/.."
PY=${PYTHON:-.venv/bin/python}
busy() { timeout 4h "$PY" -c "while True: sum(i * i for i in range(10_000))" & }
busy; B1=$!; busy; B2=$!
trap 'kill $B1 $B2 2>/dev/null' EXIT
status=0
for run in 1 2 3; do
    start=$(date +%s)
    "$PY" -m pytest -q -p no:cacheprovider "$@" > "/tmp/portraitist-load-run-$run.log" 2>&1
    code=$?
    echo "run $run: exit $code in $(( $(date +%s) - start )) s: $(tail -n 1 "/tmp/portraitist-load-run-$run.log")"
    [ $code -ne 0 ] && status=1
done
exit $status
