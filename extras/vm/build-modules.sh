#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build lttng-modules for the test guest's kernel and install them into a
# guest root: Debian's lttng-modules-dkms source, our patches, the kernel's
# own linux-headers packages (fetched with the kernel by build-guest.sh).
#
# The DKMS package is unpacked, never installed: its install runs DKMS at
# once, and a failed build leaves dpkg half-configured. The stripped modules
# are cached under the kernel's version, lttng-modules' version and a hash
# of the patches and the module set, so a second run takes a second.

set -eu -o pipefail

prog=${0##*/}
srcdir=$(cd "$(dirname "$0")" && pwd)
. "$srcdir/../lib.sh"

usage()
{
	cat <<EOF
Usage: $prog [OPTIONS] ROOT

Build the LTTng kernel modules for a cached guest kernel, install them in
ROOT/lib/modules/ABI/extra/ and run depmod on ROOT.

Options:
  -c, --cache DIR         cache folder (default: \${XDG_CACHE_HOME:-\$HOME/.cache}/lttng-hyper)
  -k, --kernel-abi ABI    kernel release, e.g. 6.1.0-56-amd64, fetched by build-guest.sh
                          into the cache (default: the newest cached)
  -s, --suite SUITE       lttng-modules-dkms of Debian SUITE (e.g. sid), through a
                          private apt list in the cache (default: the machine's list)
      --kvm               add the probe of KVM's x86 events (kvm_x86_hypercall...):
                          it needs KVM's private headers, which the linux-headers
                          packages lack, so the kernel's linux-source package is
                          fetched too (140 MB, kept in the cache)
  -h, --help              show this help
EOF
}

cache=${XDG_CACHE_HOME:-$HOME/.cache}/lttng-hyper
kabi=
suite=
root=
kvm=0

while [ $# -gt 0 ]; do
	case "$1" in
	-c|--cache)
		cache=${2:?$1 needs a value}
		shift 2
		;;
	-k|--kernel-abi)
		kabi=${2:?$1 needs a value}
		shift 2
		;;
	-s|--suite)
		suite=${2:?$1 needs a value}
		shift 2
		;;
	--kvm)
		kvm=1
		shift
		;;
	-h|--help)
		usage
		exit 0
		;;
	-*)
		usage >&2
		die "unknown option '$1'"
		;;
	*)
		[ -z "$root" ] || die "only one ROOT, please"
		root=$1
		shift
		;;
	esac
done
[ -n "$root" ] || {
	usage >&2
	die "no ROOT given"
}
[ -d "$root" ] || die "$root is not a folder"

# What the guest's lttng-sessiond needs to trace the kernel with the sched
# probes: the ring-buffer clients (required by sessiond), the sched probe,
# and whatever these depend on (found in the modules themselves). System
# call tracing is in lttng-tracer.
MODULES=(lttng-ring-buffer-client-discard lttng-ring-buffer-client-overwrite
	lttng-ring-buffer-metadata-client lttng-ring-buffer-client-mmap-discard
	lttng-ring-buffer-client-mmap-overwrite lttng-ring-buffer-metadata-mmap-client
	lttng-probe-sched)
# KVM's x86 probe depends on the kernel's kvm module, which build-guest.sh
# installs for nested runs.
if [ "$kvm" -eq 1 ]; then
	MODULES+=(lttng-probe-kvm-x86)
fi
# Where --suite fetches its package list.
MIRROR=http://deb.debian.org/debian

need_cmd apt-get apt
need_cmd dpkg-deb dpkg
need_cmd patch patch
need_cmd make make
need_cmd strip binutils
need_cmd depmod kmod
need_cmd modinfo kmod
if [ "$kvm" -eq 1 ]; then
	need_cmd xz xz-utils
fi

if [ -z "$kabi" ]; then
	kabi=$(find "$cache/kernel" -mindepth 1 -maxdepth 1 -type d ! -name '*.tmp' \
		-printf '%f\n' 2> /dev/null | sort -V | tail -n 1)
	[ -n "$kabi" ] || die "no kernel in $cache/kernel: run build-guest.sh first"
fi
kdir=$cache/kernel/$kabi
[ -f "$kdir/versions" ] || die "kernel $kabi is not in $cache/kernel: run build-guest.sh first"
kver=$(awk -v p="linux-image-$kabi" '$1 == p { print $2 }' "$kdir/versions")
[ -n "$kver" ] || die "no linux-image-$kabi in $kdir/versions"

workdir=
partial=
trap 'rm -rf "$workdir" "$partial"' EXIT
workdir=$(mktemp -d "${TMPDIR:-/tmp}/lttng-hyper-modules.XXXXXX")

# lttng-modules-dkms: the candidate of the package list, else the newest
# cached. The package is kept, since the archive moves on.
debdir=$cache/lttng-modules${suite:+-$suite}
mkdir -p "$debdir" || die "cannot create $debdir"
apt_opts=(-q -o APT::Sandbox::User=root)
if [ -n "$suite" ]; then
	# Another suite's list, private: the machine's apt sources, lists and
	# preferences are neither read nor changed.
	aptdir=$cache/apt-$suite
	mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" ||
		die "cannot create $aptdir"
	echo "deb $MIRROR $suite main" > "$aptdir/sources.list"
	apt_opts+=(-o "Dir::Etc::SourceList=$aptdir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
		-o Acquire::Languages=none)
	log "updating a private apt list of $suite in $aptdir"
	apt-get "${apt_opts[@]}" update > "$workdir/apt.log" 2>&1 ||
		log "apt-get update of $suite failed, trying the cache:" \
			"$(tail -n 1 "$workdir/apt.log")"
fi
lmver=$({ apt-cache "${apt_opts[@]}" show --no-all-versions lttng-modules-dkms 2> /dev/null ||
	true; } | sed -n 's/^Version: //p' | head -n 1)
if [ -z "$lmver" ]; then
	lmdeb=$(find "$debdir" -name 'lttng-modules-dkms_*_all.deb' | sort -V | tail -n 1)
	[ -n "$lmdeb" ] || die "no lttng-modules-dkms in the package list or in $debdir: apt-get update"
	lmver=$(dpkg-deb -f "$lmdeb" Version)
	log "no package list: using the cached lttng-modules-dkms $lmver"
else
	lmdeb=$debdir/lttng-modules-dkms_${lmver//:/%3a}_all.deb
	if [ ! -f "$lmdeb" ]; then
		log "downloading lttng-modules-dkms $lmver"
		(cd "$workdir" && apt-get "${apt_opts[@]}" download \
			"lttng-modules-dkms=$lmver") > "$workdir/apt.log" 2>&1 ||
			die "apt-get download lttng-modules-dkms failed:
$(tail -n 5 "$workdir/apt.log")"
		mv "$workdir"/lttng-modules-dkms_*.deb "$lmdeb"
	fi
fi

# Patches are made for one upstream series (2.13, ...): the next may carry
# the fix, or need another.
series=$(echo "${lmver#*:}" | cut -d . -f 1,2)
mapfile -t patches < <(find "$srcdir/patches" -maxdepth 1 -name "lttng-modules-$series-*.patch" \
	2> /dev/null | LC_ALL=C sort)
key=$( (echo "${MODULES[*]}"; for p in "${patches[@]}"; do echo "${p##*/}"; cat "$p"; done) |
	sha256sum | cut -c 1-12)
out=$cache/modules/$kabi-$kver-lttng-modules-$lmver-$key

# kvm_headers SRCTREE: KVM's private headers (arch/x86/kvm, virt/kvm), which
# lttng-modules' KVM x86 probe includes, from the kernel's linux-source
# package of the same version, into the unpacked headers' source tree.
kvm_headers()
{
	local pkg deb tarball

	pkg=linux-source-$(echo "$kabi" | cut -d . -f 1,2)
	deb=$kdir/debs/${pkg}_${kver}_all.deb
	if [ ! -f "$deb" ]; then
		log "downloading $pkg $kver, for KVM's headers (about 140 MB)"
		(cd "$workdir" && apt-get "${apt_opts[@]}" download "$pkg=$kver") \
			> "$workdir/apt.log" 2>&1 ||
			die "apt-get download $pkg=$kver failed:
$(tail -n 5 "$workdir/apt.log")"
		mv "$workdir/${pkg}_${kver}_all.deb" "$deb"
	fi
	log "unpacking KVM's headers from $pkg"
	tarball=./usr/src/$pkg.tar.xz
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$workdir" "$tarball" ||
		die "no $tarball in $deb"
	xz -dc "$workdir/$tarball" | tar -x -C "$workdir" --wildcards \
		"$pkg/arch/x86/kvm/*.h" "$pkg/virt/kvm/*.h" ||
		die "no KVM headers in $deb"
	rm -f "$workdir/$tarball"
	mkdir -p "$1/virt"
	cp -r "$workdir/$pkg/arch/x86/kvm" "$1/arch/x86/" &&
		cp -r "$workdir/$pkg/virt/kvm" "$1/virt/" ||
		die "cannot copy KVM's headers into $1"
}

if [ -d "$out" ]; then
	log "modules for $kabi ($kver), lttng-modules $lmver, patches $key: cached"
else
	start=$SECONDS
	hdr=$workdir/headers
	log "unpacking the linux-headers of $kabi ($kver)"
	for deb in "$kdir"/debs/linux-headers-*.deb "$kdir"/debs/linux-kbuild-*.deb; do
		[ -f "$deb" ] || die "no kernel headers in $kdir/debs: remove $kdir and run build-guest.sh"
		dpkg -x "$deb" "$hdr" || die "cannot unpack $deb"
	done
	kbuild=$hdr/usr/src/linux-headers-$kabi
	# The flavour's Makefile includes the -common one by its absolute path
	# under /usr/src: point it at the unpacked copy.
	sed -i "s|^include /usr/src/|include $hdr/usr/src/|" "$kbuild/Makefile" ||
		die "cannot edit $kbuild/Makefile"
	# The headers name the compiler the kernel was built with (gcc-12 ...).
	cc=$(sed -n 's/^CC = .*)\(gcc-[0-9]*\)$/\1/p' "$kbuild/.kernelvariables")
	need_cmd "${cc:-gcc}" "${cc:-gcc}"

	log "unpacking lttng-modules-dkms $lmver"
	dpkg -x "$lmdeb" "$workdir/dkms" || die "cannot unpack $lmdeb"
	src=$(find "$workdir/dkms/usr/src" -mindepth 1 -maxdepth 1 -name 'lttng-modules-*' | head -n 1)
	[ -n "$src" ] || die "no source in $lmdeb"
	for p in "${patches[@]}"; do
		log "applying ${p##*/}"
		patch -d "$src" -p1 --batch --forward --quiet < "$p" > "$workdir/patch.log" 2>&1 ||
			die "${p##*/} does not apply to lttng-modules $lmver:
$(cat "$workdir/patch.log")"
		# lttng-modules lists these in every module's modinfo
		# (extra_version_patch), so a loaded module tells it was patched.
		cp "$p" "$src/extra_version/patches/"
	done

	if [ "$kvm" -eq 1 ]; then
		kvm_headers "$hdr/usr/src/linux-headers-${kabi%-*}-common"
	fi

	log "building lttng-modules $lmver for $kabi (about a minute on 2 cores)"
	make -C "$src" -j "$(nproc)" KERNELDIR="$kbuild" > "$workdir/build.log" 2>&1 ||
		die "the build failed; last lines of its log:
$(grep -E 'error|Error' "$workdir/build.log" | head -n 20)"

	partial=$out.tmp
	rm -rf "$partial"
	mkdir -p "$partial/extra"
	# The module set and its dependencies, stripped of their debug
	# information (about 7 times smaller).
	todo=("${MODULES[@]}")
	while [ "${#todo[@]}" -gt 0 ]; do
		mod=${todo[0]}
		todo=("${todo[@]:1}")
		if [ -f "$partial/extra/$mod.ko" ]; then
			continue
		fi
		ko=$(find "$src/src" -name "$mod.ko" | head -n 1)
		[ -n "$ko" ] || die "the build made no $mod.ko"
		strip --strip-debug -o "$partial/extra/$mod.ko" "$ko" ||
			die "cannot strip $mod.ko"
		read -r -a deps <<< "$(modinfo -F depends "$ko" | tr ',' ' ')"
		for dep in "${deps[@]}"; do
			# The kernel's own (kvm) come with the kernel.
			case "$dep" in
			lttng-*)
				todo+=("$dep")
				;;
			esac
		done
	done
	{
		echo "lttng-modules-dkms $lmver"
		for p in "${patches[@]}"; do
			echo "lttng-modules-patch ${p##*/} $(sha256sum < "$p" | cut -c 1-12)"
		done
	} > "$partial/versions"
	mv "$partial" "$out"
	partial=
	log "built $(find "$out/extra" -name '*.ko' | wc -l) modules in $((SECONDS - start)) s" \
		"($(du -sh "$out" | cut -f 1) cached in $out)"
	# Keep the few newest builds only: each kernel or patch change adds one.
	find "$cache/modules" -mindepth 1 -maxdepth 1 -type d ! -name '*.tmp' -printf '%T@ %p\n' |
		sort -rn | tail -n +4 | cut -d ' ' -f 2- | xargs -r rm -rf
fi
touch "$out"

dest=$root/lib/modules/$kabi
mkdir -p "$dest/extra" || die "cannot create $dest/extra"
cp "$out"/extra/*.ko "$dest/extra/"
# What went into the modules, for the image's list of versions.
cp "$out/versions" "$dest/extra/lttng-modules.versions"
# depmod needs to know the built-in modules too, which the kernel package
# has, and the order of the modules the root holds.
moddir=$kdir/root/lib/modules/$kabi
for f in modules.builtin modules.builtin.modinfo; do
	if [ -f "$moddir/$f" ]; then
		cp "$moddir/$f" "$dest/"
	fi
done
(cd "$dest" && find . -name '*.ko' | sed 's|^\./||' | LC_ALL=C sort) > "$dest/modules.order"
depmod -b "$root" "$kabi" || die "depmod -b $root $kabi failed"
log "installed $(find "$out/extra" -name '*.ko' | wc -l) modules in $dest/extra"
