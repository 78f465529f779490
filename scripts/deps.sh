#!/bin/sh
# deps.sh - install the Debian packages libgpupager builds with, only those missing.
# As root it runs apt-get; otherwise it prints the exact command and fails.
set -eu

PACKAGES="gcc make pkg-config liburing-dev libnuma-dev libcriterion-dev libjansson-dev"
[ -n "${GP_EXTRA_PACKAGES:-}" ] && PACKAGES="$PACKAGES $GP_EXTRA_PACKAGES"
CUDA_HOME="${CUDA_HOME:-/usr/local/cuda}"

missing=""
for p in $PACKAGES; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done

if [ -n "$missing" ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: missing packages:$missing" >&2
		echo "deps: run as root:  apt-get install -y$missing" >&2
		exit 1
	fi
	echo "deps: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	# A fresh machine may have no package lists yet: update once and retry.
	if ! apt-get install -y -qq $missing >/dev/null 2>&1; then
		apt-get update -qq
		apt-get install -y -qq $missing >/dev/null
	fi
fi

if [ ! -f "$CUDA_HOME/include/cuda.h" ]; then
	echo "deps: cuda.h not found at $CUDA_HOME/include/cuda.h" >&2
	echo "deps: install the CUDA Toolkit headers, or set CUDA_HOME=/path/to/cuda" >&2
	exit 1
fi
