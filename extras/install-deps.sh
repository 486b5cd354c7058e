#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Install the Debian packages that lttng-hyper's build and tests need.
# Only missing packages are installed, so a second run takes a second.
set -eu

PACKAGES=(
	# build
	build-essential gcc make autoconf automake libtool pkg-config
	liblttng-ust-dev libbabeltrace2-dev libpopt-dev libjson-c-dev libncurses-dev
	# run and test: the LTTng daemons, the trace reader, namespaces
	# (unshare), the guest roles' loopback (ip) and wrong clocks (faketime)
	lttng-tools babeltrace2 util-linux iproute2 faketime socat
	# the man pages
	man-db
	# the benchmarks; jq: bench/soak.sh reads the relay's status
	bc jq
	# test_graph.sh: renders the page of lttng-hyper graph headless
	chromium
	# test_top.sh: lttng-hyper top on a terminal
	tmux
	# the fuzz targets and their smoke test in make check (tests/fuzz/):
	# clang with libFuzzer
	clang libclang-rt-dev
	# real guests: QEMU, the guest image (busybox, cpio, zstd) and the guest
	# kernel's lttng-modules build (kmod for depmod and modinfo, patch)
	qemu-system-x86 busybox-static cpio zstd kmod patch binutils
	# the stacks of a test guest's QEMU that hangs (tests' lh_vm_snapshot)
	gdb
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$pkg" 2>/dev/null | grep -q ' installed$'; then
		missing+=("$pkg")
	fi
done
if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages present"
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: must run as root to install packages" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
# No recommends: lttng-tools recommends lttng-modules-dkms, whose build
# fails on some kernels and leaves dpkg half-configured.
apt-get install -y -q --no-install-recommends "${missing[@]}"
