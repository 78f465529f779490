#!/bin/sh
# run.sh - run each Criterion test program, show failures, and print one
# closing line "N passed, N failed" summed over all programs.
set -u

passed=0
failed=0
bad_programs=""
for t in "$@"; do
	name=$(basename "$t")
	out=$("$t" --jobs=2 2>&1)
	rc=$?
	# Criterion's closing line: "[====] Synthesis: Tested: 5 | Passing: 5 | Failing: 0 | Crashing: 0"
	line=$(printf '%s\n' "$out" | grep 'Synthesis:' | tail -n 1)
	p=$(printf '%s' "$line" | sed -n 's/.*Passing: \([0-9]*\).*/\1/p')
	f=$(printf '%s' "$line" | sed -n 's/.*Failing: \([0-9]*\).*/\1/p')
	c=$(printf '%s' "$line" | sed -n 's/.*Crashing: \([0-9]*\).*/\1/p')
	p=${p:-0}; f=${f:-0}; c=${c:-0}
	if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
		printf '%s\n' "$out"
		[ "$f" -eq 0 ] && [ "$c" -eq 0 ] && f=1
		bad_programs="$bad_programs $name"
	fi
	printf '%-28s %4d passed, %d failed\n' "$name" "$p" "$((f + c))"
	passed=$((passed + p))
	failed=$((failed + f + c))
done
echo
[ -n "$bad_programs" ] && echo "failing programs:$bad_programs"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
