#!/bin/bash
# gpu-check.sh - the project's check on a real GPU, from the carried bundle.
#
#   gpu-check.sh [--out DIR] [--quick] [--dry-run] [--simulator]
#                [--only STEPS] [--skip STEPS] [--work DIR] [--model-gib N]
#                [--keep] [--deadline SECONDS]
#
# Steps (each under a hard timeout, all under one deadline):
#   0 bundle    the bundle's ldd check, glibc and driver present
#   1 device    device, driver version, PCIe link, NUMA node, free memory
#   2 tests     the real-driver test programs (make test-real-cuda's set)
#   3 measure   pinned/pageable H2D/D2H bandwidth, cuMemMap/cuMemUnmap/
#               cuMemSetAccess cost per chunk at 2 and 32 MiB, checksum kernel rate
#   4 run       gpupager run --verify --json on a generated model at 25/50/100%
#               budgets with each policy; one larger than VRAM if the disk allows
#   5 shim      PyTorch under the LD_PRELOAD shim (gpupager exec), over budget
#   5b python   the Python package's tests with this machine's python3 (torch)
#   6 report    OUT/gpu-check.json, OUT/gpu-check.txt, OUT/gpu-check-logs.tar.gz
#
# --simulator runs the same steps on the bundle's simulated device
# (GPUPAGER_CUDA_LIB=lib/sim/libcuda.so.1), sized down: `make test` does so.
# --out defaults to $OUT when set, else ./gpu-check-out.  Exit status: 0 when
# no step failed (skipped steps are not failures), 1 otherwise, 2 on usage.
set -eu

B=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd -P)
# Run from inside a Criterion test (test_gpu_check), its sandbox variables
# would make the bundle's Criterion programs act as that test's workers.
if [ -n "${IS_SANDBOX:-}" ]; then
	unset BXFI_MAP IS_SANDBOX GMON_OUT_PREFIX
fi
STEPS="bundle device tests measure run shim python"

usage() {
	cat <<'EOF'
usage: gpu-check.sh [--out DIR] [--quick] [--dry-run] [--simulator]
                    [--only STEPS] [--skip STEPS] [--work DIR] [--model-gib N]
                    [--keep] [--deadline SECONDS]

  --out DIR        where gpu-check.json, gpu-check.txt and the logs go
                   (default $OUT when set, else ./gpu-check-out)
  --quick          smaller sizes and shorter limits (under 3 minutes on a GPU)
  --dry-run        list the steps and what each would run; run nothing
  --simulator      use the bundle's simulated device instead of libcuda.so.1
  --only STEPS     run only these steps (comma-separated names: bundle, device,
                   tests, measure, run, shim, python)
  --skip STEPS     skip these steps
  --work DIR       scratch directory for generated models (default
                   /var/tmp/gpupager-check, or $TMPDIR/gpupager-check)
  --model-gib N    size of step 4's model in GiB (default: sized to the machine)
  --keep           keep the generated models (reused by a later run)
  --deadline S     the whole run's limit in seconds (default 470, --quick 170)
EOF
}

# ---------------------------------------------------------------- helpers

now() { date +%s; }

# A JSON string literal of $1 (control characters dropped).
json_str() {
	local s
	s=$(printf '%s' "$1" | LC_ALL=C tr -d '\000-\010\013\014\016-\037')
	s=${s//\\/\\\\}
	s=${s//\"/\\\"}
	s=${s//$'\t'/\\t}
	s=${s//$'\r'/}
	s=${s//$'\n'/\\n}
	printf '"%s"' "$s"
}

# A JSON number of $1, or null.
json_num() {
	if [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$ ]]; then
		printf '%s' "$1"
	else
		printf 'null'
	fi
}

# The first value of "key": in an indented JSON file ($3: which match, default 1).
jget() {
	sed -n "s/^ *\"$1\": \"\{0,1\}\([^\",]*\)\"\{0,1\},\{0,1\}\$/\1/p" "$2" | sed -n "${3:-1}p"
}

# printf "%.Nf" of $1, or "?" when it is not a number.
fmt() { printf "%.${2:-1}f" "$1" 2>/dev/null || printf '?'; }

in_list() { [[ ",$2," == *",$1,"* ]]; }

min() { if [ "$1" -lt "$2" ]; then echo "$1"; else echo "$2"; fi; }

# The step's own time left, in seconds.
left() { echo $(( GC_STEP_END - $(now) )); }

# Run a command under a timeout no longer than the step's time left, its
# stderr appended to LOG (stdout is the caller's).
# limited LIMIT LOG cmd...: rc of the command, 124 when it timed out.
limited() {
	local lim=$1 log=$2 l
	shift 2
	l=$(( $(left) - 3 ))
	lim=$(min "$lim" "$l")
	if [ "$lim" -lt 2 ]; then
		echo "not started: no time left in the step" >>"$log"
		return 124
	fi
	local rc=0
	timeout -k 5 "$lim" "$@" 2>>"$log" || rc=$?
	[ "$rc" -eq 137 ] && rc=124
	return "$rc"
}

# A step's result: status (pass, fail, skip), a one-line summary, JSON data.
# Data are published only by a step that finishes: a step killed at its
# limit leaves its complete records in $SD/items (comma-separated JSON).
finish() {
	if [ -f "$SD/data.part" ]; then
		mv "$SD/data.part" "$SD/data.json"
	fi
	printf '%s\n' "$1" >"$SD/status"
	printf '%s\n' "$2" >"$SD/line"
	exit 0
}

kb_of() { awk -v k="$1:" '$1 == k { print $2 }' /proc/meminfo; }

disk_free_bytes() { df -Pk "$1" 2>/dev/null | awk 'NR == 2 { printf "%.0f", $4 * 1024 }'; }

sanitize() { printf '%s' "$1" | LC_ALL=C tr -c 'A-Za-z0-9 ._:/()%,+=-' '?'; }

# --------------------------------------------------------------- the steps

# 0: the ldd check, glibc and the driver.
step_bundle() {
	local ok=pass line glibc need drv
	if ! sh "$B/check-bundle.sh" >"$SD/log" 2>&1; then
		ok=fail
	fi
	line=$(tail -n 1 "$SD/log")
	glibc=$(ldd --version 2>/dev/null | head -n 1 | grep -o '[0-9][0-9]*\.[0-9][0-9]*$' || true)
	need=$(sed -n 's/^needs *glibc >= \([0-9.]*\).*/\1/p' "$B/MANIFEST" 2>/dev/null || true)
	if [ "$GC_SIM" = 1 ]; then
		drv="simulator: $B/lib/sim/libcuda.so.1"
	elif ldconfig -p 2>/dev/null | grep -q 'libcuda\.so\.1 '; then
		drv="libcuda.so.1: $(ldconfig -p | awk '/libcuda\.so\.1 / { print $NF; exit }')"
	else
		drv="libcuda.so.1 not in the loader cache (LD_LIBRARY_PATH may still find it)"
	fi
	if [ "$GC_SIM" != 1 ] && [ ! -f "$B/lib/kernels/gpupager-kernels.fatbin" ]; then
		ok=fail
		line="$line; no gpupager-kernels.fatbin in the bundle (built without nvcc)"
	fi
	{
		printf '{"check": %s, "glibc": %s, "glibc_needed": %s, "driver": %s, "manifest": %s}\n' \
			"$(json_str "$line")" "$(json_str "$glibc")" "$(json_str "$need")" \
			"$(json_str "$drv")" "$(json_str "$(sed -n '1,8p' "$B/MANIFEST" 2>/dev/null)")"
	} >"$SD/data.part"
	finish "$ok" "$line; glibc ${glibc:-?} (needs ${need:-?}); $drv"
}

# 1: the device as the driver and nvidia-smi see it; the kernel's features.
step_device() {
	local rc=0 smi="null" line kernel runtime cpus memt mema disk
	limited 60 "$SD/log" env GPUPAGER_CUDA_LIB="$GC_CUDA_ABS" GPUPAGER_KERNELS="$B/lib/kernels" \
		"$B/tests/gpu_measure" --info --kv "$GC_W/device.kv" >"$SD/measure.json" || rc=$?
	if [ "$GC_SIM" != 1 ] && command -v nvidia-smi >/dev/null; then
		local q="name,driver_version,pci.bus_id,pcie.link.gen.current,pcie.link.gen.max,pcie.link.width.current,pcie.link.width.max,memory.total,memory.used,memory.free,compute_cap,power.limit,clocks.max.sm,persistence_mode,compute_mode"
		# An older driver may not know a field: then the fields every driver has.
		if ! timeout 30 nvidia-smi --query-gpu="$q" --format=csv,noheader >"$SD/smi.csv" 2>>"$SD/log"; then
			q="name,driver_version,pci.bus_id,pcie.link.gen.current,pcie.link.gen.max,pcie.link.width.current,pcie.link.width.max,memory.total,memory.used,memory.free"
			timeout 30 nvidia-smi --query-gpu="$q" --format=csv,noheader >"$SD/smi.csv" 2>>"$SD/log" ||
				rm -f "$SD/smi.csv"
		fi
		if [ -s "$SD/smi.csv" ]; then
			smi=$(awk -F', *' -v q="$q" 'NR == 1 {
				n = split(q, k, ","); printf "{"
				for (i = 1; i <= n; i++) {
					v = $i; gsub(/["\\]/, "", v)
					printf "%s\"%s\": \"%s\"", i > 1 ? ", " : "", k[i], v
				}
				printf "}" }' "$SD/smi.csv")
		fi
		timeout 30 nvidia-smi -q >"$SD/nvidia-smi-q.txt" 2>&1 || true
		timeout 30 nvidia-smi topo -m >>"$SD/nvidia-smi-q.txt" 2>&1 || true
	fi
	kernel=$(uname -r)
	runtime=unknown
	[ "$kernel" = 4.4.0 ] && runtime="gVisor (the kernel reports 4.4.0)"
	grep -qi firecracker /proc/cmdline /sys/class/dmi/id/product_name 2>/dev/null &&
		runtime=Firecracker
	cpus=$(nproc 2>/dev/null || echo 0)
	memt=$(kb_of MemTotal)
	mema=$(kb_of MemAvailable)
	disk=$(disk_free_bytes "$GC_WORK")
	{
		printf '{"driver_view": '
		if [ -s "$SD/measure.json" ]; then cat "$SD/measure.json"; else printf 'null'; fi
		printf ', "nvidia_smi": %s, "kernel": %s, "runtime": %s, "cpus": %s,' "$smi" \
			"$(json_str "$kernel")" "$(json_str "$runtime")" "$(json_num "$cpus")"
		printf ' "mem_total_bytes": %s, "mem_available_bytes": %s, "work_dir": %s,' \
			"$(json_num "$((${memt:-0} * 1024))")" "$(json_num "$((${mema:-0} * 1024))")" \
			"$(json_str "$GC_WORK")"
		printf ' "work_disk_free_bytes": %s}\n' "$(json_num "${disk:-x}")"
	} >"$SD/data.part"
	if [ "$rc" -ne 0 ] || [ ! -s "$GC_W/device.kv" ]; then
		finish fail "no device through ${GC_CUDA_ABS}: $(grep -m1 'gpu_measure' "$SD/log" || tail -n 1 "$SD/log")"
	fi
	# shellcheck disable=SC1090,SC1091
	. "$GC_W/device.kv"
	if [ "$GC_SIM" != 1 ] && [ "$dev_simulated" = 1 ]; then
		finish fail "libcuda.so.1 is the simulator, not a GPU: $dev_name"
	fi
	line="$dev_name, CUDA $((dev_driver_version / 1000)).$((dev_driver_version % 1000 / 10)), PCI $dev_pci"
	if [ -s "$SD/smi.csv" ]; then
		line="$line, driver $(cut -d, -f2 "$SD/smi.csv" | tr -d ' '), PCIe gen $(cut -d, -f4 "$SD/smi.csv" | tr -d ' ')/$(cut -d, -f5 "$SD/smi.csv" | tr -d ' ') x$(cut -d, -f6 "$SD/smi.csv" | tr -d ' ')/$(cut -d, -f7 "$SD/smi.csv" | tr -d ' ')"
	fi
	line="$line, NUMA node $dev_numa_node, $((dev_free_bytes >> 20)) of $((dev_total_bytes >> 20)) MiB free; io_uring $dev_io_uring, userfaultfd $dev_userfaultfd; kernel $kernel, $cpus CPUs"
	finish pass "$line"
}

# 2: the real-driver test programs, from the bundle's root (GP_BUILD_DIR=".").
step_tests() {
	local p name rc tested passed failed crashed t0 dt status=pass total_p=0 total_f=0 n=0 bad=""
	local lim=$(( GC_QUICK == 1 ? 60 : 120 ))
	: >"$SD/items"
	for p in "$B"/tests/test_*; do
		[ -x "$p" ] || continue
		name=${p##*/}
		t0=$(date +%s.%N)
		rc=0
		(cd "$B" && limited "$lim" "$SD/$name.log" env GPUPAGER_CUDA_LIB="$GC_CUDA_REL" \
			GPUPAGER_KERNELS="$B/lib/kernels" "./tests/$name" --jobs=4 >>"$SD/$name.log") || rc=$?
		dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
		line=$(grep 'Synthesis:' "$SD/$name.log" | tail -n 1 || true)
		tested=$(sed -n 's/.*Tested: \([0-9]*\).*/\1/p' <<<"$line")
		passed=$(sed -n 's/.*Passing: \([0-9]*\).*/\1/p' <<<"$line")
		failed=$(sed -n 's/.*Failing: \([0-9]*\).*/\1/p' <<<"$line")
		crashed=$(sed -n 's/.*Crashing: \([0-9]*\).*/\1/p' <<<"$line")
		tested=${tested:-0}; passed=${passed:-0}; failed=${failed:-0}; crashed=${crashed:-0}
		skipped=$(grep -c 'SKIP\|Skipping' "$SD/$name.log" || true)
		if [ "$rc" -ne 0 ] || [ -z "$line" ]; then
			status=fail
			bad="$bad $name"
			if [ "$rc" -eq 124 ]; then bad="$bad(timeout)"; fi
			[ "$failed" -eq 0 ] && [ "$crashed" -eq 0 ] && failed=1
		fi
		total_p=$((total_p + passed))
		total_f=$((total_f + failed + crashed))
		n=$((n + 1))
		printf '%s{"program": %s, "rc": %d, "tested": %d, "passed": %d, "failed": %d, "crashed": %d, "skip_lines": %d, "seconds": %s}' \
			"$([ -s "$SD/items" ] && printf ',\n')" "$(json_str "$name")" "$rc" "$tested" \
			"$passed" "$failed" "$crashed" "${skipped:-0}" "$dt" >>"$SD/items"
		printf '  %-22s %4d passed, %d failed  %6.2f s\n' "$name" "$passed" \
			"$((failed + crashed))" "$dt" >>"$SD/table"
	done
	printf '[%s]\n' "$(cat "$SD/items")" >"$SD/data.part"
	[ "$n" -gt 0 ] || finish fail "no test programs in $B/tests"
	finish "$status" "$n programs: $total_p passed, $total_f failed${bad:+; failing:$bad}"
}

# 3: link bandwidth, map costs and the checksum kernel: on the device, and on
# the bundle's simulator for the side-by-side.
step_measure() {
	local rc=0 simrc=0 size line args=()
	[ "$GC_QUICK" = 1 ] && args+=(--quick)
	if [ "$GC_SIM" = 1 ]; then
		args=(--quick --size-mib 64)
	fi
	limited $(( GC_QUICK == 1 ? 40 : 90 )) "$SD/log" env GPUPAGER_CUDA_LIB="$GC_CUDA_ABS" \
		GPUPAGER_KERNELS="$B/lib/kernels" "$B/tests/gpu_measure" "${args[@]}" \
		>"$SD/device.json" || rc=$?
	if [ "$GC_SIM" != 1 ]; then
		limited 40 "$SD/sim.log" env GPUPAGER_CUDA_LIB="$B/lib/sim/libcuda.so.1" \
			GPUPAGER_KERNELS="$B/lib/kernels" "$B/tests/gpu_measure" --quick --size-mib 64 \
			>"$SD/simulator.json" || simrc=$?
	fi
	{
		printf '{"device": '
		if [ -s "$SD/device.json" ]; then cat "$SD/device.json"; else printf 'null'; fi
		printf ', "simulator": '
		if [ -s "$SD/simulator.json" ]; then cat "$SD/simulator.json"; else printf 'null'; fi
		printf ', "rc": %d, "simulator_rc": %d}\n' "$rc" "$simrc"
	} >"$SD/data.part"
	if [ "$rc" -ne 0 ] || [ ! -s "$SD/device.json" ]; then
		finish fail "gpu_measure failed (rc $rc): $(grep -m1 'gpu_measure' "$SD/log" || tail -n 1 "$SD/log")"
	fi
	local f="$SD/device.json"
	line="pinned H2D $(fmt "$(jget pinned_h2d_gbps "$f")") D2H $(fmt "$(jget pinned_d2h_gbps "$f")") GB/s"
	line="$line, pageable H2D $(fmt "$(jget pageable_h2d_gbps "$f")") D2H $(fmt "$(jget pageable_d2h_gbps "$f")") GB/s"
	line="$line; map/set access/unmap per chunk $(fmt "$(jget map_us "$f" 1)" 0)/$(fmt "$(jget set_access_us "$f" 1)" 0)/$(fmt "$(jget unmap_us "$f" 1)" 0) us at 2 MiB"
	line="$line, $(fmt "$(jget map_us "$f" 2)" 0)/$(fmt "$(jget set_access_us "$f" 2)" 0)/$(fmt "$(jget unmap_us "$f" 2)" 0) us at 32 MiB"
	line="$line; checksum kernel $(fmt "$(jget checksum_gbps "$f")") GB/s"
	if [ -s "$SD/simulator.json" ]; then
		line="$line (simulator: pinned H2D $(fmt "$(jget pinned_h2d_gbps "$SD/simulator.json")") GB/s, map $(fmt "$(jget map_us "$SD/simulator.json" 1)" 0) us)"
	fi
	finish pass "$line"
}

# The model for step 4: wan2.1-14b at the scale whose size is nearest $1 bytes.
# make_model BYTES DIRNAME -> prints the directory; sets MODEL_SCALE, MODEL_SECS
make_model() {
	local want=$1 name=$2 scale dir t0 rc=0
	# wan2.1-14b is 28561145856 tensor bytes at scale 1; bytes grow as scale^2.
	scale=$(awk -v w="$want" 'BEGIN { s = sqrt(w / 28561145856); if (s > 1) s = 1;
		if (s < 0.02) s = 0.02; printf "%.3f", s }')
	dir="$GC_WORK/$name-wan2.1-14b-$scale"
	MODEL_SCALE=$scale
	MODEL_SECS=0
	if [ ! -f "$dir/.complete" ]; then
		rm -rf "$dir"
		t0=$(date +%s.%N)
		limited $(( GC_QUICK == 1 ? 60 : 150 )) "$SD/mkmodel.log" "$B/bin/gpupager" mkmodel \
			--arch wan2.1-14b --scale "$scale" --shard-size 4G "$dir" >>"$SD/mkmodel.log" || rc=$?
		MODEL_SECS=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
		[ "$rc" -eq 0 ] || return "$rc"
		touch "$dir/.complete"
	fi
	MODEL_DIR=$dir
}

# One gpupager run; appends its record to $SD/runs.json.  Sets RUN_OK.
RUN_N=0
one_run() {
	local dir=$1 policy=$2 budget=$3 steps=$4 label=$5 lim=$6 extra_env=$7
	local out="$SD/run-$RUN_N.json" log="$SD/run-$RUN_N.log" rc=0 t0 dt reader mism status
	RUN_N=$((RUN_N + 1))
	t0=$(date +%s.%N)
	# shellcheck disable=SC2086
	limited "$lim" "$log" env GPUPAGER_CUDA_LIB="$GC_CUDA_ABS" GPUPAGER_KERNELS="$B/lib/kernels" \
		GPUPAGER_LOG=info $extra_env "$B/bin/gpupager" run "$dir" --budget "$budget%" \
		--policy "$policy" --steps "$steps" --verify --json >"$out" || rc=$?
	dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }')
	LAST_RUN_SECS=${dt%.*}
	reader=$(sed -n 's/.*gpupager: info: io: \([^,]*\),.*/\1/p' "$log" | head -n 1)
	[ -n "$reader" ] || reader=$(grep -m1 -o 'io_uring unavailable[^;]*' "$log" || echo unknown)
	mism=$(jget mismatches "$out")
	status=pass
	if [ "$rc" -eq 124 ]; then
		status=timeout
	elif [ "$rc" -ne 0 ] || [ "${mism:-x}" != 0 ]; then
		status=fail
	fi
	RUN_OK=$([ "$status" = pass ] && echo 1 || echo 0)
	[ -s "$SD/items" ] && printf ',\n' >"$SD/rec"
	printf '{"model": %s, "policy": %s, "budget_percent": %d, "steps": %d, "status": %s, "rc": %d, "seconds": %s, "reader": %s, "error": %s, "result": ' \
		"$(json_str "$label")" "$(json_str "$policy")" "$budget" "$steps" "$(json_str "$status")" \
		"$rc" "$dt" "$(json_str "$reader")" \
		"$(json_str "$(grep -m1 '^gpupager run:' "$log" || true)")" >>"$SD/rec"
	if [ -s "$out" ]; then cat "$out" >>"$SD/rec"; else printf 'null' >>"$SD/rec"; fi
	printf '}' >>"$SD/rec"
	cat "$SD/rec" >>"$SD/items"
	rm -f "$SD/rec"
	printf '  %-6s %-6s %3d%%  %-7s %7s s  step %s s  ratio %s  mismatches %s\n' "$label" \
		"$policy" "$budget" "$status" "$dt" "$(fmt "$(jget step_seconds "$out")" 3)" \
		"$(fmt "$(jget ratio_to_bound "$out")" 2)" "${mism:-?}" >>"$SD/table"
}

# 4: gpupager run --verify on generated models.
step_run() {
	local want cap memb diskb vramb big_need steps lim policy budget n_ok=0 n_fail=0 n_skip=0
	local main_dir big_note reader
	[ -f "$GC_W/device.kv" ] || limited 60 "$SD/log" env GPUPAGER_CUDA_LIB="$GC_CUDA_ABS" \
		"$B/tests/gpu_measure" --info --kv "$GC_W/device.kv" >/dev/null || true
	[ -f "$GC_W/device.kv" ] || finish fail "no device (gpu_measure --info failed)"
	# shellcheck disable=SC1090,SC1091
	. "$GC_W/device.kv"
	mkdir -p "$GC_WORK"
	memb=$(( $(kb_of MemAvailable) * 1024 ))
	diskb=$(disk_free_bytes "$GC_WORK")
	vramb=$dev_free_bytes
	if [ -n "$GC_MODEL_GIB" ]; then
		want=$(awk -v g="$GC_MODEL_GIB" 'BEGIN { printf "%.0f", g * 1073741824 }')
	elif [ "$GC_SIM" = 1 ]; then
		want=$(( GC_QUICK == 1 ? 40 << 20 : 96 << 20 ))
	else
		want=$(( GC_QUICK == 1 ? 2 << 30 : 8 << 30 ))
	fi
	# Room for it: 40% of the free disk, a quarter of the free RAM, half the free VRAM.
	cap=$(awk -v d="$diskb" -v m="$memb" -v v="$vramb" -v w="$want" 'BEGIN {
		c = w; if (0.4 * d < c) c = 0.4 * d; if (0.25 * m < c) c = 0.25 * m;
		if (0.5 * v < c) c = 0.5 * v; printf "%.0f", c }')
	if ! make_model "$cap" main; then
		printf '{"model": null, "error": %s}\n' "$(json_str "$(tail -n 3 "$SD/mkmodel.log")")" \
			>"$SD/data.part"
		finish fail "gpupager mkmodel failed: $(tail -n 1 "$SD/mkmodel.log")"
	fi
	main_dir=$MODEL_DIR
	local model_json
	model_json=$(printf '{"dir": %s, "arch": "wan2.1-14b", "scale": %s, "bytes": %s, "mkmodel_seconds": %s, "sizing": {"wanted_bytes": %s, "capped_bytes": %s, "disk_free_bytes": %s, "mem_available_bytes": %s, "vram_free_bytes": %s}}' \
		"$(json_str "$main_dir")" "$MODEL_SCALE" "$(du -sb "$main_dir" | cut -f1)" \
		"$MODEL_SECS" "$(json_num "$want")" "$(json_num "$cap")" "$(json_num "$diskb")" \
		"$(json_num "$memb")" "$(json_num "$vramb")")
	steps=$(( GC_QUICK == 1 ? 2 : 3 ))
	lim=$(( GC_QUICK == 1 ? 45 : 120 ))
	: >"$SD/items"
	LAST_RUN_SECS=0
	for policy in auto lru clock static; do
		for budget in 25 50 100; do
			# Start a run only with time for it (the last one's, and 3 s).
			if [ "$(left)" -lt $(( LAST_RUN_SECS * 6 / 5 + 3 )) ]; then
				n_skip=$((n_skip + 1))
				printf '  main   %-6s %3d%%  not run: no time left\n' "$policy" "$budget" >>"$SD/table"
				continue
			fi
			one_run "$main_dir" "$policy" "$budget" "$steps" main "$lim" ""
			if [ "$RUN_OK" = 1 ]; then n_ok=$((n_ok + 1)); else n_fail=$((n_fail + 1)); fi
		done
	done

	# A model larger than the device's memory, paged at 25% and 50%.  The
	# simulator's memory is made small for it; a GPU's needs the disk.
	local big_env="" big_vram=$dev_total_bytes
	if [ "$GC_SIM" = 1 ]; then
		big_vram=$((192 << 20))
		big_env="GPUPAGER_SIM_VRAM=192M GPUPAGER_VRAM_HEADROOM=16M"
	fi
	big_need=$(( big_vram / 4 * 5 ))
	if [ "$(awk -v n="$big_need" -v d="$diskb" 'BEGIN { print (n < 0.45 * d) ? 1 : 0 }')" != 1 ]; then
		big_note="skipped: a model larger than VRAM ($((big_vram >> 30)) GiB) needs $((big_need >> 30)) GiB of disk, $((diskb >> 30)) GiB free"
		printf '  big    skipped: %s\n' "$big_note" >>"$SD/table"
	elif [ "$(left)" -lt $(( LAST_RUN_SECS * 4 + 10 )) ]; then
		big_note="skipped: no time left"
		printf '  big    not run: no time left\n' >>"$SD/table"
	elif make_model "$big_need" big; then
		big_note="$(du -sb "$MODEL_DIR" | cut -f1) bytes (scale $MODEL_SCALE) over $big_vram bytes of VRAM"
		for budget in 25 50; do
			one_run "$MODEL_DIR" auto "$budget" 2 big "$lim" "$big_env"
			if [ "$RUN_OK" = 1 ]; then n_ok=$((n_ok + 1)); else n_fail=$((n_fail + 1)); fi
		done
	else
		big_note="gpupager mkmodel failed: $(tail -n 1 "$SD/mkmodel.log")"
		n_fail=$((n_fail + 1))
	fi
	printf '{"model": %s, "runs": [%s], "over_vram": %s}\n' "$model_json" "$(cat "$SD/items")" \
		"$(json_str "$big_note")" >"$SD/data.part"
	reader=$(grep -o '"reader": "[^"]*"' "$SD/items" | cut -d'"' -f4 | sort -u | tr '\n' ',')
	local line="$n_ok runs verified, $n_fail failed, $n_skip not run; model $(basename "$main_dir") ($(du -sh "$main_dir" 2>/dev/null | cut -f1)); reader ${reader%,}; over VRAM: $big_note"
	if [ "$GC_KEEP" != 1 ]; then
		rm -rf "$GC_WORK"/main-wan2.1-14b-* "$GC_WORK"/big-wan2.1-14b-*
	fi
	[ "$n_ok" -gt 0 ] && [ "$n_fail" -eq 0 ] && finish pass "$line"
	finish fail "$line"
}

# 5: the LD_PRELOAD shim (gpupager exec) under a CUDA-runtime client:
# PyTorch allocating 1.5x a 2 GiB budget, every tensor summed on the device
# twice (shim_torch.py).  The runtime cannot start on the simulator.
step_shim() {
	local py=${GPUPAGER_PYTHON:-python3} budget=$((2 << 30)) rc=0 line
	if [ ! -f "$B/lib/libgpupager-preload.so" ]; then
		printf '{"shim": "not built"}\n' >"$SD/data.part"
		finish skip "not built: the LD_PRELOAD shim (gpupager exec) is not in this bundle; the PyTorch program under the shim not run"
	fi
	if [ "$GC_SIM" = 1 ]; then
		printf '{"shim": "present", "torch": null}\n' >"$SD/data.part"
		finish skip "simulator: the CUDA runtime (PyTorch) cannot start on the simulated device; the shim's own tests ran in make test"
	fi
	if ! command -v "$py" >/dev/null ||
	   ! timeout -k 5 60 "$py" -c 'import torch' >/dev/null 2>&1; then
		printf '{"shim": "present", "torch": null}\n' >"$SD/data.part"
		finish skip "not run: $py cannot import torch"
	fi
	limited $(( GC_QUICK == 1 ? 50 : 110 )) "$SD/log" env GPUPAGER_LOG=info \
		GPUPAGER_CUDA_LIB="$GC_CUDA_ABS" "$B/bin/gpupager" exec --budget "$budget" --evict all \
		--host-budget 8G --stats -- "$py" "$B/shim_torch.py" "$budget" >"$SD/out" || rc=$?
	line=$(grep '^{' "$SD/out" | tail -n 1 || true)
	printf '{"shim": "present", "rc": %d, "result": %s, "stats": %s}\n' "$rc" "${line:-null}" \
		"$(json_str "$(grep 'gpupager shim:' "$SD/log" | tail -n 1)")" >"$SD/data.part"
	[ "$rc" -eq 0 ] && finish pass "PyTorch under the shim: $line"
	[ "$rc" -eq 124 ] && finish fail "timed out: $(tail -n 2 "$SD/log" | tr '\n' ' ')"
	finish fail "PyTorch under the shim: exit $rc ${line:-$(tail -n 2 "$SD/log" | tr '\n' ' ')}"
}

# 5b: the Python package's tests with this machine's python3 (and its torch).
step_python() {
	local py=${GPUPAGER_PYTHON:-python3} rc=0 torch last p f s
	if [ ! -d "$B/python/gpupager" ] || [ ! -d "$B/tests/python" ]; then
		printf '{"python": null}\n' >"$SD/data.part"
		finish skip "not built: no python/ package in this bundle"
	fi
	if ! command -v "$py" >/dev/null ||
	   ! timeout -k 5 60 "$py" -c 'import pytest' >/dev/null 2>&1; then
		printf '{"python": %s}\n' "$(json_str "$py")" >"$SD/data.part"
		finish skip "not run: $py cannot import pytest"
	fi
	torch=$(timeout 60 "$py" -c 'import torch; print(torch.__version__, "cuda" if torch.cuda.is_available() else "no-cuda")' 2>/dev/null || echo "no torch")
	(cd "$B" && limited $(( GC_QUICK == 1 ? 60 : 150 )) "$SD/log" env \
		GPUPAGER_BUILD="$B" GPUPAGER_LIB="$B/lib/libgpupager.so.0" \
		GPUPAGER_CUDA_LIB="$GC_CUDA_ABS" GPUPAGER_KERNELS="$B/lib/kernels" PYTHONDONTWRITEBYTECODE=1 \
		"$py" -m pytest -q -p no:cacheprovider tests/python >>"$SD/log") || rc=$?
	last=$(grep -E '(passed|failed|error|skipped)' "$SD/log" | tail -n 1 || true)
	p=$(grep -o '[0-9]* passed' <<<"$last" | cut -d' ' -f1 || true)
	f=$(grep -o '[0-9]* failed' <<<"$last" | cut -d' ' -f1 || true)
	s=$(grep -o '[0-9]* skipped' <<<"$last" | cut -d' ' -f1 || true)
	printf '{"python": %s, "torch": %s, "rc": %d, "passed": %s, "failed": %s, "skipped": %s, "last_line": %s}\n' \
		"$(json_str "$py")" "$(json_str "$torch")" "$rc" "$(json_num "${p:-0}")" \
		"$(json_num "${f:-0}")" "$(json_num "${s:-0}")" "$(json_str "$last")" >"$SD/data.part"
	[ "$rc" -eq 0 ] && finish pass "torch $torch: $last"
	[ "$rc" -eq 124 ] && finish fail "timed out (torch $torch): $last"
	finish fail "torch $torch: ${last:-pytest exit $rc}"
}

# ---------------------------------------------- a step, in its own process

if [ "${1:-}" = --step ]; then
	SD="$GC_W/steps/$2"
	mkdir -p "$SD"
	"step_$2"
	exit 0
fi

# ------------------------------------------------------------------- main

OUT_DIR=${OUT:-}
[ -n "$OUT_DIR" ] || OUT_DIR=$PWD/gpu-check-out
QUICK=0 DRY=0 SIM=0 ONLY="" SKIP="" WORK="" MODEL_GIB="" KEEP=0 DEADLINE=""
while [ $# -gt 0 ]; do
	case $1 in
	--out) [ $# -ge 2 ] || { usage >&2; exit 2; }; OUT_DIR=$2; shift ;;
	--quick) QUICK=1 ;;
	--dry-run) DRY=1 ;;
	--simulator) SIM=1 ;;
	--only) [ $# -ge 2 ] || { usage >&2; exit 2; }; ONLY=$2; shift ;;
	--skip) [ $# -ge 2 ] || { usage >&2; exit 2; }; SKIP=$2; shift ;;
	--work) [ $# -ge 2 ] || { usage >&2; exit 2; }; WORK=$2; shift ;;
	--model-gib) [ $# -ge 2 ] || { usage >&2; exit 2; }; MODEL_GIB=$2; shift ;;
	--keep) KEEP=1 ;;
	--deadline) [ $# -ge 2 ] || { usage >&2; exit 2; }; DEADLINE=$2; shift ;;
	-h|--help) usage; exit 0 ;;
	*) echo "gpu-check.sh: unknown option '$1'" >&2; usage >&2; exit 2 ;;
	esac
	shift
done
for s in ${ONLY//,/ } ${SKIP//,/ }; do
	in_list "$s" "${STEPS// /,}" || { echo "gpu-check.sh: no step '$s' (steps: $STEPS)" >&2; exit 2; }
done
if [ -n "$MODEL_GIB" ] && ! [[ $MODEL_GIB =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
	echo "gpu-check.sh: --model-gib: not a number: '$MODEL_GIB'" >&2
	exit 2
fi
if [ -n "$DEADLINE" ] && ! [[ $DEADLINE =~ ^[0-9]+$ ]]; then
	echo "gpu-check.sh: --deadline: not a number of seconds: '$DEADLINE'" >&2
	exit 2
fi
[ -n "$DEADLINE" ] || DEADLINE=$(( QUICK == 1 ? 170 : 470 ))
if [ -z "$WORK" ]; then
	if [ -n "${TMPDIR:-}" ]; then WORK=$TMPDIR/gpupager-check; else WORK=/var/tmp/gpupager-check; fi
fi

# Step limits in seconds: full, quick.
declare -A LIMIT=( [bundle]="30 20" [device]="60 40" [tests]="150 60" [measure]="90 40"
	[run]="240 70" [shim]="60 20" [python]="150 60" )
declare -A NUMBER=( [bundle]=0 [device]=1 [tests]=2 [measure]=3 [run]=4 [shim]=5 [python]=5b )
declare -A WHAT=(
	[bundle]="check-bundle.sh (ldd: only glibc and libcuda.so.1 outside the bundle), glibc version, driver"
	[device]="tests/gpu_measure --info; nvidia-smi --query-gpu (name, driver, PCIe link, memory); NUMA node; io_uring and userfaultfd"
	[tests]="tests/test_cuda_* test_pager test_pager_threads on the driver (make test-real-cuda's set)"
	[measure]="tests/gpu_measure: pinned/pageable H2D/D2H GB/s, cuMemMap/cuMemSetAccess/cuMemUnmap us per chunk at 2 and 32 MiB, checksum kernel GB/s; also on the simulator"
	[run]="gpupager mkmodel wan2.1-14b sized to the machine; gpupager run --verify --json at 25/50/100% x auto/lru/clock/static; a model larger than VRAM at 25/50% if the disk allows"
	[shim]="PyTorch (a CUDA-runtime client) allocating 1.5x a 2 GiB budget under gpupager exec, every tensor summed twice"
	[python]="pytest tests/python with python3 (\$GPUPAGER_PYTHON) and its torch"
)
step_limit() { set -- ${LIMIT[$1]}; if [ "$QUICK" = 1 ]; then echo "$2"; else echo "$1"; fi; }
selected() { { [ -z "$ONLY" ] || in_list "$1" "$ONLY"; } && ! in_list "$1" "$SKIP"; }
present() {
	case $1 in
	shim) if ls "$B"/lib/libgpupager-preload.so* >/dev/null 2>&1; then echo present; else echo "not built"; fi ;;
	python) if [ -d "$B/python/gpupager" ]; then echo present; else echo "not built"; fi ;;
	tests) echo "$(ls "$B"/tests/test_* 2>/dev/null | wc -l) programs" ;;
	*) echo present ;;
	esac
}

if [ "$SIM" = 1 ]; then
	MODE=simulator
	export GC_CUDA_REL=./lib/sim/libcuda.so.1 GC_CUDA_ABS=$B/lib/sim/libcuda.so.1
else
	MODE=real
	export GC_CUDA_REL=libcuda.so.1 GC_CUDA_ABS=libcuda.so.1
fi

if [ "$DRY" = 1 ]; then
	echo "gpu-check.sh --dry-run: bundle $B, driver $GC_CUDA_ABS ($MODE), $([ "$QUICK" = 1 ] && echo quick || echo full)"
	echo "out $OUT_DIR, work $WORK, deadline ${DEADLINE} s"
	for s in $STEPS; do
		if selected "$s"; then state="$(step_limit "$s") s limit"; else state="skipped (--only/--skip)"; fi
		printf '%-3s %-8s %-22s %s\n' "${NUMBER[$s]}" "$s" "$state" "[$(present "$s")]"
		printf '             %s\n' "${WHAT[$s]}"
	done
	printf '%-3s %-8s %s\n' 6 report "$OUT_DIR/gpu-check.json, gpu-check.txt, gpu-check-logs.tar.gz"
	exit 0
fi

mkdir -p "$OUT_DIR" "$WORK"
OUT_DIR=$(cd "$OUT_DIR" && pwd -P)
WORK=$(cd "$WORK" && pwd -P)
W=$(mktemp -d "${TMPDIR:-/tmp}/gpu-check.XXXXXX")
trap 'rm -rf "$W"' EXIT
export GC_W=$W GC_SIM=$SIM GC_QUICK=$QUICK GC_WORK=$WORK GC_MODEL_GIB=$MODEL_GIB GC_KEEP=$KEEP
START=$(now)
END_AT=$(( START + DEADLINE ))
STARTED=$(date -u +%Y-%m-%dT%H:%M:%SZ)

echo "gpu-check: $(sed -n 's/^commit *//p' "$B/MANIFEST" 2>/dev/null | head -n 1) on $(uname -n), driver $GC_CUDA_ABS ($MODE), $([ "$QUICK" = 1 ] && echo quick || echo full), deadline $DEADLINE s"

passed=0 failed=0 skipped=0
: >"$W/summary"
for s in $STEPS; do
	mkdir -p "$W/steps/$s"
	t0=$(date +%s.%N)
	if ! selected "$s"; then
		st=skip line="not selected (--only/--skip)" rc=0
	else
		lim=$(step_limit "$s")
		room=$(( END_AT - $(now) - 5 ))
		[ "$room" -lt "$lim" ] && lim=$room
		if [ "$lim" -lt 5 ]; then
			st=skip line="not run: the ${DEADLINE} s deadline is reached" rc=0
		else
			rc=0
			GC_STEP_END=$(( $(now) + lim )) timeout -k 10 "$lim" "$B/gpu-check.sh" --step "$s" \
				</dev/null >"$W/steps/$s/stdout" 2>&1 || rc=$?
			st=$(cat "$W/steps/$s/status" 2>/dev/null || echo fail)
			line=$(cat "$W/steps/$s/line" 2>/dev/null || true)
			if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
				st=fail line="timed out after $lim s${line:+; $line}"
			elif [ "$rc" -ne 0 ]; then
				st=fail line="the step's script failed (exit $rc): $(tail -n 1 "$W/steps/$s/stdout")"
			fi
		fi
	fi
	dt=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	case $st in
	pass) passed=$((passed + 1)) ;;
	skip) skipped=$((skipped + 1)) ;;
	*) st=fail; failed=$((failed + 1)) ;;
	esac
	printf '%s\n%s\n%s\n' "$st" "$dt" "$line" >"$W/steps/$s/result"
	printf '%-3s %-8s %-5s %6s s  %s\n' "${NUMBER[$s]}" "$s" "$st" "$dt" "$line" | tee -a "$W/summary"
	if [ -f "$W/steps/$s/table" ]; then
		tee -a "$W/summary" <"$W/steps/$s/table"
	fi
done
TOTAL=$(( $(now) - START ))
OK=$([ "$failed" -eq 0 ] && echo true || echo false)

# 6: the report.
{
	printf '{\n  "gpu_check": 1,\n  "mode": %s,\n  "quick": %s,\n' "$(json_str "$MODE")" \
		"$([ "$QUICK" = 1 ] && echo true || echo false)"
	printf '  "started": %s,\n  "seconds": %d,\n  "host": %s,\n  "bundle": %s,\n' \
		"$(json_str "$STARTED")" "$TOTAL" "$(json_str "$(uname -n)")" \
		"$(json_str "$(sed -n '1,7p' "$B/MANIFEST" 2>/dev/null)")"
	printf '  "steps": [\n'
	first=1
	for s in $STEPS; do
		{ read -r st; read -r dt; read -r line; } <"$W/steps/$s/result"
		[ "$first" = 1 ] || printf ',\n'
		first=0
		printf '    {"step": %s, "number": %s, "status": %s, "seconds": %s, "summary": %s, "data": ' \
			"$(json_str "$s")" "$(json_str "${NUMBER[$s]}")" "$(json_str "$st")" "$dt" \
			"$(json_str "$line")"
		if [ -s "$W/steps/$s/data.json" ]; then
			cat "$W/steps/$s/data.json"
		elif [ -s "$W/steps/$s/items" ]; then
			printf '{"partial": true, "items": [%s]}' "$(cat "$W/steps/$s/items")"
		else
			printf 'null'
		fi
		printf '}'
	done
	printf '\n  ],\n  "passed": %d,\n  "failed": %d,\n  "skipped": %d,\n  "ok": %s\n}\n' \
		"$passed" "$failed" "$skipped" "$OK"
} >"$OUT_DIR/gpu-check.json"
{
	echo "gpu-check $STARTED on $(uname -n): $MODE driver, $([ "$QUICK" = 1 ] && echo quick || echo full), $TOTAL s"
	cat "$W/summary"
	echo "$passed passed, $failed failed, $skipped skipped"
} >"$OUT_DIR/gpu-check.txt"
tar czf "$OUT_DIR/gpu-check-logs.tar.gz" -C "$W" steps 2>/dev/null || true
echo "gpu-check: $passed passed, $failed failed, $skipped skipped in $TOTAL s; report $OUT_DIR/gpu-check.json"
[ "$failed" -eq 0 ]
