#!/bin/sh
# check-bundle.sh - every ELF file of the GPU bundle resolves its shared
# libraries inside the bundle, except glibc's and libcuda.so.1 (the driver).
#
# Run by `make gpu-bundle`, by tests/test_gpu_check.c, and by gpu-check.sh's
# first step on the GPU machine.  Prints one line per problem and a closing
# line; exit 0 when there is none.  LD_LIBRARY_PATH is ignored (unset), so
# that only the bundle's own RUNPATHs count.
set -eu

dir=$(cd "$(dirname "$0")" && pwd -P)
glibc_re='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|/lib64/ld-linux-x86-64\.so\.2|libc\.so\.6|libm\.so\.6|libpthread\.so\.0|libdl\.so\.2|librt\.so\.1|libresolv\.so\.2|libutil\.so\.1|libanl\.so\.1|libmvec\.so\.1)$'
unset LD_LIBRARY_PATH LD_PRELOAD

files=0
bad=0
inside=0
outside=""
for f in $(find "$dir" -type f | sort); do
	[ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = 177ELF ] || continue
	files=$((files + 1))
	rel=${f#"$dir"/}
	if ! out=$(ldd "$f" 2>&1); then
		case $out in
		*"statically linked"*|*"not a dynamic executable"*) continue ;;
		esac
		echo "check-bundle: $rel: ldd failed: $out"
		bad=$((bad + 1))
		continue
	fi
	# "name => /path (addr)", "name => not found", "/lib64/ld-linux... (addr)", "linux-vdso.so.1 (addr)"
	res=$(printf '%s\n' "$out" | awk '
		$2 == "=>" { print $1, $3; next }
		NF >= 1 && $1 !~ /^statically/ { print $1, $1 }')
	while read -r name path; do
		[ -n "$name" ] || continue
		case $path in
		not)
			[ "$name" = libcuda.so.1 ] && continue
			echo "check-bundle: $rel: $name not found"
			bad=$((bad + 1))
			continue
			;;
		esac
		if echo "$name" | grep -Eq "$glibc_re"; then
			continue
		fi
		real=$(readlink -f "$path" 2>/dev/null || echo "$path")
		case $real in
		"$dir"/*)
			inside=$((inside + 1))
			;;
		*)
			[ "$name" = libcuda.so.1 ] && continue
			echo "check-bundle: $rel: $name resolves outside the bundle: $real"
			outside="$outside $name"
			bad=$((bad + 1))
			;;
		esac
	done <<EOF
$res
EOF
done

if [ "$files" -eq 0 ]; then
	echo "check-bundle: no ELF files under $dir"
	exit 1
fi
if [ "$bad" -ne 0 ]; then
	echo "check-bundle: $files ELF files, $bad problems: FAILED"
	exit 1
fi
echo "check-bundle: $files ELF files, $inside links resolved inside the bundle, only glibc outside: ok"
