#!/bin/sh
# make-bundle.sh PROGRAM... - assemble the GPU bundle (run by `make gpu-bundle`).
#
# Environment: BUILD (the build directory), STAGE (a scratch directory),
# BUNDLE (the result), SRC (the source tree), NVCC (empty without nvcc),
# NVCC_ARCHS.  PROGRAMS are the bundle's test programs and gpu_measure.
#
# The bundle is assembled in STAGE and renamed into place when complete:
#
#   gpu-check.sh check-bundle.sh MANIFEST
#   bin/        gpupager pagerstat gpupager-bench           RUNPATH $ORIGIN/../lib
#   tests/      test_cuda_* test_pager* pager_stress gpu_measure   (the same)
#   lib/        libgpupager.so.0 and every library those need that is not glibc
#               (liburing, libnuma, jansson, Criterion and its dependencies)
#                                                           RUNPATH $ORIGIN
#   lib/kernels/  gpupager-kernels-sim.so, gpupager-kernels.fatbin (nvcc)
#   lib/sim/      libcuda.so.1, the simulated device
#   include/    gpupager.h;  python/ and tests/python/ when python/ exists
set -eu

: "${BUILD:?}" "${STAGE:?}" "${BUNDLE:?}" "${SRC:?}"
NVCC=${NVCC:-}
here=$(cd "$(dirname "$0")" && pwd)

rm -rf "$STAGE"
mkdir -p "$STAGE/bin" "$STAGE/tests" "$STAGE/lib/kernels" "$STAGE/lib/sim" "$STAGE/include"

is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = 177ELF ]; }

# Debug info stays in the build tree; symbols stay for backtraces.
put() {
	cp -L "$1" "$2"
	chmod u+w "$2"
	if is_elf "$2"; then
		strip --strip-debug "$2"
	fi
}

for t in gpupager pagerstat gpupager-bench; do
	if [ -x "$BUILD/bin/$t" ]; then
		put "$BUILD/bin/$t" "$STAGE/bin/$t"
	fi
done
put "$BUILD/lib/libgpupager.so" "$STAGE/lib/libgpupager.so.0"
put "$BUILD/lib/libgpupager-preload.so" "$STAGE/lib/libgpupager-preload.so"
put "$BUILD/lib/sim/libcuda.so.1" "$STAGE/lib/sim/libcuda.so.1"
put "$BUILD/lib/kernels/gpupager-kernels-sim.so" "$STAGE/lib/kernels/gpupager-kernels-sim.so"
fatbin=no
if [ -f "$BUILD/lib/kernels/gpupager-kernels.fatbin" ]; then
	cp "$BUILD/lib/kernels/gpupager-kernels.fatbin" "$STAGE/lib/kernels/"
	fatbin=yes
else
	echo "make-bundle: warning: no gpupager-kernels.fatbin (nvcc not found): the bundle" \
		"cannot run kernels on a real GPU" >&2
fi
for p in "$@"; do
	put "$p" "$STAGE/tests/$(basename "$p")"
done
cp "$SRC/include/gpupager.h" "$STAGE/include/"
cp "$here/gpu-check.sh" "$here/check-bundle.sh" "$here/shim_torch.py" "$STAGE/"
chmod 0755 "$STAGE/gpu-check.sh" "$STAGE/check-bundle.sh"

# The Python package and its tests, as they are now (being written alongside).
python=no
if [ -d "$SRC/python/gpupager" ]; then
	mkdir -p "$STAGE/tests"
	(cd "$SRC" && tar cf - --exclude=__pycache__ --exclude='*.so*' --exclude='*.egg-info' \
		--exclude=build python $( [ -d tests/python ] && echo tests/python)) |
		(cd "$STAGE" && tar xf -)
	python=yes
fi

# Every shared library the ELF files need, except glibc's and the driver,
# found as this machine's loader finds them, copied in under its soname.
glibc_re='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|libmvec\.so\.1|libcuda\.so\.1)$'
elves=$(find "$STAGE" -type f | while read -r f; do
	if is_elf "$f"; then echo "$f"; fi
done)
for f in $elves; do
	ldd "$f" 2>/dev/null || true
done | awk '$2 == "=>" && $3 ~ /^\// { print $1, $3 }' | sort -u |
while read -r name path; do
	if echo "$name" | grep -Eq "$glibc_re"; then
		continue
	fi
	case $path in
	"$STAGE"/*) continue ;;
	esac
	[ -e "$STAGE/lib/$name" ] || put "$path" "$STAGE/lib/$name"
done

# Found through $ORIGIN: programs look in ../lib, libraries beside themselves.
for f in "$STAGE"/bin/* "$STAGE"/tests/*; do
	if [ -f "$f" ] && is_elf "$f"; then
		patchelf --set-rpath '$ORIGIN/../lib' "$f"
	fi
done
for f in "$STAGE"/lib/*.so*; do
	patchelf --set-rpath '$ORIGIN' "$f"
done

# What a reader of the report needs to know about the bundle.
glibc_max=$(for f in $elves; do
	objdump -T "$f" 2>/dev/null || true
done | grep -o 'GLIBC_[0-9][0-9.]*' | sed 's/GLIBC_//' | sort -t. -k1,1n -k2,2n -k3,3n -u | tail -n 1)
commit=$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo unknown)
dirty=$(git -C "$SRC" status --porcelain --untracked-files=no 2>/dev/null | head -n 1)
{
	echo "libgpupager GPU bundle"
	echo "version    $(sed -n 's/^#define GP_VERSION_STRING "\(.*\)"/\1/p' "$SRC/include/gpupager.h")"
	echo "commit     $commit${dirty:+ (with uncommitted changes)}"
	echo "built      $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(uname -n), $(ldd --version | head -n 1)"
	echo "needs      glibc >= ${glibc_max:-?}, an NVIDIA driver with CUDA >= 11.3 (libcuda.so.1)"
	if [ "$fatbin" = yes ]; then
		echo "kernels    gpupager-kernels.fatbin: $($NVCC --version 2>/dev/null | tail -n 1)"
		echo "           $NVCC_ARCHS"
	else
		echo "kernels    no fatbin (built without nvcc): real-GPU kernels missing"
	fi
	echo "python     $python"
	echo "files"
	(cd "$STAGE" && find . -type f | sort | sed 's|^\./||' | while read -r f; do
		printf '  %10d  %s\n' "$(wc -c < "$f")" "$f"
	done)
} > "$STAGE/MANIFEST"

sh "$STAGE/check-bundle.sh"

rm -rf "$BUNDLE"
mv "$STAGE" "$BUNDLE"
size=$(du -sk "$BUNDLE" | cut -f1)
echo "make-bundle: $BUNDLE: $(find "$BUNDLE" -type f | wc -l) files, $((size / 1024)) MiB"
if [ "$size" -ge $((48 * 1024)) ]; then
	echo "make-bundle: $BUNDLE is $((size / 1024)) MiB: over the 48 MiB limit" >&2
	exit 1
fi
