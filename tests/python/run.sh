#!/bin/sh
# run.sh PYTHON DIR - run the Python tests with pytest and close with one
# line "python: N passed, N failed" (skipped tests are listed by pytest).
set -u
py=$1
dir=$2
out=$("$py" -m pytest -q -p no:cacheprovider "$dir" 2>&1)
rc=$?
printf '%s\n' "$out" | tail -n 40
line=$(printf '%s\n' "$out" | tail -n 1)
p=$(printf '%s' "$line" | sed -n 's/.* \([0-9][0-9]*\) passed.*/\1/p;s/^\([0-9][0-9]*\) passed.*/\1/p' | head -n 1)
f=$(printf '%s' "$line" | sed -n 's/.* \([0-9][0-9]*\) failed.*/\1/p;s/^\([0-9][0-9]*\) failed.*/\1/p' | head -n 1)
e=$(printf '%s' "$line" | sed -n 's/.* \([0-9][0-9]*\) error.*/\1/p' | head -n 1)
p=${p:-0}; f=${f:-0}; e=${e:-0}
f=$((f + e))
[ "$rc" -ne 0 ] && [ "$f" -eq 0 ] && f=1
echo
echo "python: $p passed, $f failed"
[ "$rc" -eq 0 ]
