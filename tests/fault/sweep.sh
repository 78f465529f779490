#!/bin/bash
# sweep.sh - fault sweep over the engine: `gpupager run --verify` on a small
# paged model, with the Nth call of one kind failing, for N = 1, 2, ...
#
#   alloc        the Nth heap allocation (tests/fault/failalloc.c, LD_PRELOAD)
#   sim:NAME     the Nth call of driver function NAME (GPUPAGER_SIM_FAIL=NAME:N),
#                for every function a clean run calls
#   io:eio       the Nth read completion fails with EIO (GPUPAGER_IO_FAIL)
#   io:short     the Nth read completion comes back short (GPUPAGER_IO_FAIL)
#   pread:eio    the same EIO with the pread thread pool (GPUPAGER_IO=pread)
#
# A clean run (every injector counting into GPUPAGER_FAULT_LOG) says how
# many calls of each kind there are.  POINTS=all tries every N up to that
# count; POINTS=K tries at most K (N = 1 .. K/2, then spread to the last).
# Then N goes on past the count until a run's injector no longer fires.
#
# Each run must end in one of two ways: exit 0 with the verify line saying
# 0 mismatches, or exit 1 with a "gpupager run: ..." line on stderr.  A
# signal, a sanitizer report (leaks included: SAN=1 builds run with
# detect_leaks=1), a timeout, a mismatch or an unexplained exit fails the
# sweep.  Environment: BUILD (the build directory), POINTS (default 12),
# JOBS (runs at once, default 2), SAN (1: the build has ASan), KEEP=1 keeps
# the work directory.
set -u

BUILD=${BUILD:?BUILD must name the build directory}
POINTS=${POINTS:-12}
JOBS=${JOBS:-2}
SAN=${SAN:-}
GPUPAGER=$BUILD/bin/gpupager
FAILALLOC=$BUILD/tests/libfailalloc.so
RUN_TIMEOUT=${RUN_TIMEOUT:-60}
# Failing a destroy leaves the simulator's own object behind (driver-objects.supp).
SUPP=$(cd "$(dirname "$0")" && pwd)/driver-objects.supp

export GPUPAGER_CUDA_LIB=$BUILD/lib/sim/libcuda.so.1
# Under ASan the preloaded allocator comes first; leaks end the run with a report.
export ASAN_OPTIONS=detect_leaks=1:verify_asan_link_order=0:abort_on_error=0
export UBSAN_OPTIONS=print_stacktrace=1
unset GPUPAGER_SIM_FAIL GPUPAGER_IO_FAIL GPUPAGER_FAULT_LOG FAILALLOC_N GPUPAGER_IO

work=$(mktemp -d /tmp/gp-fault-sweep-XXXXXX) || exit 1
cleanup() { [ "${KEEP:-}" = 1 ] || rm -rf "$work"; }
trap cleanup EXIT
model=$work/model
results=$work/results
: > "$results"
start=$(date +%s)

if ! "$GPUPAGER" mkmodel --arch llama3-8b --scale 0.01 --shard-size 1M "$model" \
	> "$work/mkmodel.out" 2>&1; then
	cat "$work/mkmodel.out"
	echo "fault sweep: cannot write the model"
	exit 1
fi
RUN_ARGS=(run "$model" --budget 40% --steps 2 --verify --compute-ms-per-gb 0)

# One run.  $1: kind, $2: N, $3: run id; then VAR=VALUE settings for env.
# Appends "kind N outcome fired detail" to $results.
one_run() {
	local kind=$1 n=$2 id=$3 dir=$work/runs/$3 rc outcome fired detail
	shift 3
	mkdir -p "$dir"
	timeout -k 5 "$RUN_TIMEOUT" env GPUPAGER_FAULT_LOG="$dir/log" "$@" \
		"$GPUPAGER" "${RUN_ARGS[@]}" > "$dir/out" 2> "$dir/err" < /dev/null
	rc=$?
	fired=0
	grep -q ' fired ' "$dir/log" 2> /dev/null && fired=1
	detail=$(grep -m1 '^gpupager run: ' "$dir/err" | cut -c15-140 | tr -s ' \t' '__')
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		outcome=hang
	elif [ "$kind" = alloc ] && grep -q 'in __asan::AsanThread::' "$dir/err" &&
	     grep -q 'CHECK failed' "$dir/err"; then
		# ASan's pthread_create interceptor cannot survive glibc failing the new
		# thread's TLS allocation; without ASan pthread_create returns EAGAIN.
		outcome=asan_thread
	elif [ "$kind" = alloc ] && grep -q 'cannot allocate memory for thread-local data' "$dir/err"; then
		# glibc's dynamic loader aborts when it cannot allocate a thread's TLS
		# block for a dlopen()ed library (dl-tls.c): no program can catch it.
		outcome=glibc_tls
	elif grep -q 'LeakSanitizer' "$dir/err"; then
		outcome=leak
	elif [ "$rc" -gt 128 ] || grep -qE 'Sanitizer|runtime error:' "$dir/err"; then
		outcome=crash
	elif grep -q 'device checksum' "$dir/err" ||
	     { grep -q '^verify' "$dir/out" && ! grep -q ' 0 mismatches' "$dir/out"; }; then
		outcome=wrong
	elif [ "$rc" -eq 0 ] && grep -q '^verify.* 0 mismatches: data intact' "$dir/out"; then
		outcome=verified
	elif [ "$rc" -eq 1 ] && [ -n "$detail" ] &&
	     [ "$(grep -c '^gpupager run: ' "$dir/err")" -eq 1 ]; then
		outcome=failed
	else
		outcome=unclear
	fi
	[ -n "$detail" ] || detail=-
	echo "$kind $n $outcome $fired rc=$rc $detail" >> "$results"
	case $id/$outcome in
	clean/*) ;;
	*/verified|*/failed) rm -rf "$dir" ;;
	esac
}

# Clean, counting run: which kinds there are and how many calls each.
mkdir -p "$work/runs"
one_run clean 0 clean LD_PRELOAD="$FAILALLOC"
if ! grep -q '^clean 0 verified' "$results"; then
	cat "$work/runs/clean/err"
	echo "fault sweep: the run without faults does not verify"
	exit 1
fi
counts=$work/counts
{
	sed -n 's/^alloc calls allocations \([0-9]*\)$/alloc \1/p' "$work/runs/clean/log"
	sed -n 's/^sim calls \([A-Za-z0-9_]*\) \([0-9]*\)$/sim:\1 \2/p' "$work/runs/clean/log"
	sed -n 's/^io calls completions \([0-9]*\)$/io:eio \1\nio:short \1\npread:eio \1/p' \
		"$work/runs/clean/log"
} | sort > "$counts"
for k in alloc sim:cuMemCreate io:eio; do
	if ! grep -q "^$k " "$counts"; then
		cat "$work/runs/clean/log"
		echo "fault sweep: the clean run counted no $k calls: is GPUPAGER_FAULT_LOG working?"
		exit 1
	fi
done
rm -rf "$work/runs/clean"

# The N to try for a kind with c calls in the clean run.
points() {
	local c=$1 dense i
	if [ "$POINTS" = all ] || [ "$c" -le "$POINTS" ]; then
		seq 1 "$c"
		return
	fi
	dense=$((POINTS / 2))
	seq 1 "$dense"
	for i in $(seq 1 $((POINTS - dense))); do
		echo $((dense + (c - dense) * i / (POINTS - dense)))
	done | uniq
}

# The environment that makes the Nth call of a kind fail.
fault_env() {
	case $1 in
	alloc) echo "LD_PRELOAD=$FAILALLOC FAILALLOC_N=$2" ;;
	sim:*Destroy | sim:*Release | sim:*Unload | sim:*Free | sim:*Unregister)
		echo "GPUPAGER_SIM_FAIL=${1#sim:}:$2 LSAN_OPTIONS=suppressions=$SUPP" ;;
	sim:*) echo "GPUPAGER_SIM_FAIL=${1#sim:}:$2" ;;
	io:*) echo "GPUPAGER_IO_FAIL=${1#io:}:$2" ;;
	pread:*) echo "GPUPAGER_IO=pread GPUPAGER_IO_FAIL=${1#pread:}:$2" ;;
	esac
}

running=0
launch() {
	local kind=$1 n=$2
	# shellcheck disable=SC2046
	one_run "$kind" "$n" "${kind//:/_}_$n" $(fault_env "$kind" "$n") &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
}

while read -r kind c; do
	for n in $(points "$c"); do
		launch "$kind" "$n"
	done
done < "$counts"
wait
running=0

# Past the clean run's count: on until the injector does not fire (counts
# vary between runs where the engine polls: cuEventQuery, cuCtxGetCurrent),
# at most max(8, count / 5) further calls.
past_count() {
	local kind=$1 c=$2 n=$(($2 + 1)) extra=$(($2 / 5 > 8 ? $2 / 5 : 8))
	while [ "$n" -le $((c + extra)) ]; do
		# shellcheck disable=SC2046
		one_run "$kind" "$n" "${kind//:/_}_$n" $(fault_env "$kind" "$n")
		grep -q "^$kind $n [a-z]* 0 " "$results" && return
		n=$((n + 1))
	done
	echo "$kind $n unbounded 1 rc=- still_firing_past_the_count" >> "$results"
}
while read -r kind c; do
	past_count "$kind" "$c" &
	running=$((running + 1))
	if [ "$running" -ge "$JOBS" ]; then
		wait -n
		running=$((running - 1))
	fi
done < "$counts"
wait

elapsed=$(($(date +%s) - start))
echo "fault sweep: gpupager ${RUN_ARGS[*]}, POINTS=$POINTS${SAN:+, SAN=1}" | sed "s|$work/||"
awk -v counts="$counts" '
	BEGIN { while ((getline l < counts) > 0) { split(l, a, " "); calls[a[1]] = a[2] } }
	$3 == "asan_thread" || $3 == "glibc_tls" { print "PLATFORM (not counted as bad): " $0 }
	$3 != "verified" && $3 != "failed" && $3 != "asan_thread" && $3 != "glibc_tls" {
		print "BAD: " $0
	}
	{
		k = $1; pts[k]++; cnt[$3]++
		if ($4 == 1) hit[k]++
		if ($3 == "verified") ver[k]++
		else if ($3 == "failed") fail[k]++
		else if ($3 != "asan_thread" && $3 != "glibc_tls") bad[k]++
	}
	END {
		printf "%-30s %6s %6s %6s %9s %7s %4s\n", "kind", "calls", "runs", "fired",
			"verified", "failed", "bad"
		for (k in pts) printf "%-30s %6d %6d %6d %9d %7d %4d\n", k, calls[k], pts[k],
			hit[k], ver[k], fail[k], bad[k] | "sort"
		close("sort")
		printf "total: %d runs, %d verified, %d failed cleanly; %d crashes, %d hangs, " \
			"%d leaks, %d wrong data, %d unclear, %d unbounded; %d ASan thread-start " \
			"checks, %d glibc TLS aborts\n", NR, cnt["verified"], cnt["failed"],
			cnt["crash"], cnt["hang"], cnt["leak"], cnt["wrong"], cnt["unclear"],
			cnt["unbounded"], cnt["asan_thread"], cnt["glibc_tls"]
	}' "$results" | tee "$work/summary"
# A kind sums over several driver functions: one line for all of sim.
awk '$1 ~ /^sim:/ { r += $3; f += $4; v += $5; c += $6; b += $7; n++ }
	END { printf "sim (%d functions): %d runs, %d fired, %d verified, %d failed cleanly, %d bad\n",
		n, r, f, v, c, b }' "$work/summary"
echo "fault sweep: ${elapsed} s"
if grep -q '^BAD: ' "$work/summary"; then
	[ -n "${KEEP:-}" ] || echo "(KEEP=1 keeps each bad run's out, err and log under /tmp)"
	exit 1
fi
exit 0
