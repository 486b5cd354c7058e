#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build a bootable lttng-hyper test guest: Debian's kernel and an initramfs
# holding busybox, the host's own LTTng, lttng-hyperd and the traced workload.
#
# The kernel packages are cached per kernel release, the initramfs by a hash
# of everything that goes into it, so a second run takes seconds.

set -eu -o pipefail

prog=${0##*/}
srcdir=$(cd "$(dirname "$0")" && pwd)
. "$srcdir/../lib.sh"

usage()
{
	cat <<EOF
Usage: $prog [OPTIONS]

Build a guest kernel and initramfs for lttng-hyper (run as root, or with
busybox-static installed and the kernel already cached).

Options:
  -o, --output DIR        write vmlinuz, initrd.img and versions there (default: ./guest)
  -c, --cache DIR         cache folder (default: \${XDG_CACHE_HOME:-\$HOME/.cache}/lttng-hyper)
  -k, --kernel-abi ABI    kernel release to use, e.g. 6.1.0-56-amd64 (default: the one
                          Debian's linux-image-amd64 depends on, else the newest cached)
      --hyperd PATH       lttng-hyperd binary (default: ./src/bin/lttng-hyperd/lttng-hyperd)
      --gen-events PATH   traced workload (default: ./tests/utils/gen-events)
      --lttng-tools PREFIX
                          the guest's lttng, lttng-sessiond and lttng-consumerd from
                          PREFIX (lttng-tools patched for --output=hyper, from
                          extras/lttng-tools/build-lttng-tools.sh) instead of the
                          system's; installed at the same path in the guest, with
                          links from /usr/bin
      --lttng-root ROOT   the guest's lttng-tools and lttng-ust from ROOT, a Debian
                          root made by extras/lttng-versions/build-root.sh (sid:
                          LTTng 2.16), in a chroot of the image (add-lttng-root.sh);
                          --gen-events must then be built in ROOT, and
                          --kernel-tracing takes lttng-modules from ROOT's suite
      --kernel-tracing    add lttng-modules built for the kernel (build-modules.sh),
                          so that the guest can trace its kernel (lh.kernel=1)
      --kvm-tracing       --kernel-tracing, with the probe of KVM's x86 events, so
                          that the first level of a nested run records the
                          hypercalls of the nested guest (lh.hypercalls=1)
      --bench PATH        add what bench/vm.sh needs: the relayd-push program at
                          PATH, the chan-dd and hypercall-bench programs beside
                          it, and virtio-net for its net:// comparison; with
                          --nested, the nested guest gets them too
                          (bench/vm-nested.sh, bench/hypercall.sh)
      --pingpong PATH     add the pingpong program at PATH (tests/utils/pingpong),
                          for lh.mode=pingpong
      --mark PATH         add the lttng-hyper-mark program at PATH, for
                          lh.workload=mark; with --nested, the nested guest too
      --nested            build the first-level guest of a nested run
                          (lh.mode=nested): this image plus QEMU, bash,
                          launch-guest.sh, and the nested guest's kernel
                          and initramfs (this image without these additions)
  -h, --help              show this help

Environment:
  SOURCE_DATE_EPOCH       time stamp of every file in the initramfs (default: 0)
EOF
}

output=./guest
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lttng-hyper
kabi=
hyperd=./src/bin/lttng-hyperd/lttng-hyperd
gen_events=./tests/utils/gen-events
kernel_tracing=0
kvm_tracing=0
lttng_tools=
lttng_root=
relayd_push=
pingpong=
mark=
nested=0
epoch=${SOURCE_DATE_EPOCH:-0}

while [ $# -gt 0 ]; do
	case "$1" in
	-o|--output)
		output=${2:?$1 needs a value}
		shift 2
		;;
	-c|--cache)
		cache=${2:?$1 needs a value}
		shift 2
		;;
	-k|--kernel-abi)
		kabi=${2:?$1 needs a value}
		shift 2
		;;
	--hyperd)
		hyperd=${2:?$1 needs a value}
		shift 2
		;;
	--gen-events)
		gen_events=${2:?$1 needs a value}
		shift 2
		;;
	--lttng-tools)
		lttng_tools=${2:?$1 needs a value}
		shift 2
		;;
	--lttng-root)
		lttng_root=${2:?$1 needs a value}
		shift 2
		;;
	--kernel-tracing)
		kernel_tracing=1
		shift
		;;
	--kvm-tracing)
		kernel_tracing=1
		kvm_tracing=1
		shift
		;;
	--bench)
		relayd_push=${2:?$1 needs a value}
		shift 2
		;;
	--mark)
		mark=${2:?$1 needs a value}
		shift 2
		;;
	--pingpong)
		pingpong=${2:?$1 needs a value}
		shift 2
		;;
	--nested)
		nested=1
		shift
		;;
	-h|--help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown option '$1'"
		;;
	esac
done

# Virtio-serial for the hyper channel; virtio-rng, since under TCG the
# random pool is not ready for long after boot and lttng-sessiond's seed
# then blocks; vsock for the vsock channels. Their dependencies are found in
# the modules themselves.
MODULES="virtio_pci virtio_console virtio_rng vmw_vsock_virtio_transport"
# The benchmark compares with stock net:// over QEMU's user-mode network.
if [ -n "$relayd_push" ]; then
	MODULES="$MODULES virtio_net"
fi
# Compression level: zstd decompresses fast, which counts when the kernel
# unpacks the initramfs under TCG.
ZSTD_LEVEL=15
PACK_FORMAT="newc zstd-$ZSTD_LEVEL"
# Free space needed in the cache to unpack a kernel package (about 450 MB).
KERNEL_SPACE_MB=1024
# Where the first-level guest of a nested run keeps the nested guest and
# the launcher (guest-init.sh's lh.mode=nested).
NESTED_DIR=/usr/share/lttng-hyper/nested
# What QEMU reads to boot a kernel directly: SeaBIOS, the option ROMs of
# -kernel (pvh.bin for an ELF kernel), and the APIC model's kvmvapic.bin.
QEMU_FIRMWARE="bios-256k.bin kvmvapic.bin linuxboot_dma.bin pvh.bin"

need_space()
{
	local dir=$1 mb=$2 avail

	avail=$(df -Pm "$dir" | awk 'NR == 2 { print $4 }')
	if [ "$avail" -lt "$mb" ]; then
		die "not enough room in $dir: ${avail} MB free, $mb MB needed"
	fi
}

need_elf()
{
	local what=$1 path=$2 hint=$3

	[ -f "$path" ] || die "$what not found at $path ($hint)"
	[ "$(head -c 4 "$path" | od -An -c | tr -d ' ')" = '177ELF' ] ||
		die "$what at $path is not an ELF binary ($hint)"
}

# --- the kernel -------------------------------------------------------------

# linux-image-amd64 depends on the real image package, linux-image-<abi>.
# Prints nothing without a package list.
latest_kabi()
{
	{ apt-cache depends linux-image-amd64 2> /dev/null || true; } |
		sed -n 's/^ *Depends: linux-image-\([0-9].*\)$/\1/p' | head -n 1
}

# The image, its headers and their build tools must be the very same
# version: they are fetched together, since the archive moves on.
fetch_kernel()
{
	local dir=$1 abi=$2 debs ver pkg

	need_space "$(dirname "$dir")" "$KERNEL_SPACE_MB"
	rm -rf "$dir.tmp"
	partial=$dir.tmp
	debs=$dir.tmp/debs
	mkdir -p "$debs"
	log "downloading linux-image-$abi with its headers (about 90 MB)"
	# apt's sandbox user may not write into a root-only cache: download as root.
	(cd "$debs" && apt-get download -q -o APT::Sandbox::User=root \
		"linux-image-$abi" "linux-headers-$abi" \
		"linux-headers-${abi%%-[a-z]*}-common" \
		"linux-kbuild-$(echo "$abi" | cut -d . -f 1,2)") > "$dir.tmp/apt.log" 2>&1 ||
		die "apt-get download failed (is the package list current? try apt-get update):
$(tail -n 5 "$dir.tmp/apt.log")"
	for pkg in "$debs"/*.deb; do
		echo "$(dpkg-deb -f "$pkg" Package) $(dpkg-deb -f "$pkg" Version)"
	done | sort > "$dir.tmp/versions"
	ver=$(awk '{ print $2 }' "$dir.tmp/versions" | sort -u)
	[ "$(echo "$ver" | wc -l)" -eq 1 ] ||
		die "the kernel packages differ in version:
$(cat "$dir.tmp/versions")"
	log "unpacking linux-image-$abi $ver"
	dpkg -x "$debs/linux-image-${abi}_"*.deb "$dir.tmp/root" ||
		die "cannot unpack linux-image-$abi"
	mv "$dir.tmp" "$dir"
	partial=
}

# --- the initramfs ------------------------------------------------------------

# Copy a host file into the root, keeping its path; a symbolic link is
# copied as a link, then what it points to.
install_path()
{
	local path=$1 dir base target

	dir=$(readlink -f "$(dirname "$path")")
	base=${path##*/}
	path=$dir/$base
	if [ -e "$root$path" ] || [ -L "$root$path" ]; then
		return 0
	fi
	mkdir -p "$root$dir"
	if [ -L "$path" ]; then
		target=$(readlink "$path")
		ln -s "$target" "$root$path"
		case "$target" in
		/*)
			install_path "$target"
			;;
		*)
			install_path "$dir/$target"
			;;
		esac
	else
		cp -p "$path" "$root$path"
	fi
}

# Install the shared libraries a program or library needs. ldd lists the
# whole closure, dynamic loader included.
install_libs()
{
	local lib

	for lib in $(ldd "$1" | awk '
		/not found/ { print "MISSING:" $1; next }
		$2 == "=>" && $3 ~ /^\// { print $3; next }
		$1 ~ /^\// { print $1 }'); do
		case "$lib" in
		MISSING:*)
			die "$1 needs ${lib#MISSING:}, which is not installed"
			;;
		esac
		install_path "$lib"
	done
}

install_elf()
{
	install_path "$1"
	install_libs "$1"
}

# The dependencies a kernel module declares in its .modinfo section.
module_deps()
{
	objcopy -O binary --only-section=.modinfo "$1" /dev/stdout |
		tr '\0' '\n' | sed -n 's/^depends=//p' | tr ',' ' '
}

# Append a module to a load order (lh-load-order unless given) after the
# modules it depends on.
add_module()
{
	local name=${1//-/_} order=${2:-lh-load-order} file dep

	case " $loaded " in
	*" $name "*)
		return 0
		;;
	esac
	file=$(awk -v n="$name" '$1 == n { print $2 }' "$modindex")
	if [ -z "$file" ]; then
		grep -q "/$name.ko\$" "$moddir/modules.builtin" ||
			die "kernel module $name not found in $kabi"
		return 0
	fi
	for dep in $(module_deps "$moddir/$file"); do
		add_module "$dep" "$order"
	done
	loaded="$loaded $name "
	mkdir -p "$(dirname "$root/lib/modules/$kabi/$file")"
	cp "$moddir/$file" "$root/lib/modules/$kabi/$file"
	echo "$file" >> "$root/lib/modules/$kabi/$order"
}

# Mirror the host's merged-/usr links, then lay out the tree.
make_skeleton()
{
	local top real applet

	for top in bin sbin lib lib32 lib64 libx32; do
		if [ -L "/$top" ]; then
			real=$(readlink -f "/$top")
			mkdir -p "$root$real"
			ln -s "${real#/}" "$root/$top"
		fi
	done
	mkdir -p "$root"/{proc,sys,dev,tmp,root,etc,usr/bin,usr/sbin,var/run/lttng}
	install -m 0755 "$srcdir/guest-init.sh" "$root/init"
	echo "root:x:0:0:root:/root:/bin/sh" > "$root/etc/passwd"
	echo "root:x:0:" > "$root/etc/group"

	install_path "$busybox"
	for applet in $("$busybox" --list-full); do
		[ -e "$root/$applet" ] || [ -L "$root/$applet" ] ||
			ln -s "$(readlink -f "$busybox")" "$root/$applet"
	done
}

# Hash of the tree (paths, modes, link targets, contents, in a fixed order)
# and of how it is packed.
tree_hash()
{
	(echo "$PACK_FORMAT $epoch" && cd "$root" && find . -printf '%y %m %p %l\n' | LC_ALL=C sort &&
		find . -type f -print0 | LC_ALL=C sort -z | xargs -0 sha256sum) |
		sha256sum | cut -c 1-16
}

# Reproducible archive of the tree, on the standard output: sorted names,
# fixed owners, times and inode numbers.
write_cpio()
{
	find "$root" -exec touch -h -d "@$epoch" {} +
	(cd "$root" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
		cpio --quiet --null --reproducible -R 0:0 -H newc -o)
}

pack()
{
	write_cpio | zstd -q -T0 -"$ZSTD_LEVEL" > "$1.tmp"
	mv "$1.tmp" "$1"
}

# --- nested runs --------------------------------------------------------------

# A compressed kernel decompresses itself at boot, which takes about 20 s
# under TCG within TCG. A kernel with a PVH entry point can boot as the
# plain ELF file instead: extract it once per kernel, into the cache.
nested_kernel()
{
	local config=$kdir/root/boot/config-$kabi vmlinuz=$kdir/root/boot/vmlinuz-$kabi offset

	if ! grep -q '^CONFIG_PVH=y' "$config" || ! grep -q '^CONFIG_KERNEL_XZ=y' "$config"; then
		cp "$vmlinuz" "$1"
		return 0
	fi
	if [ ! -f "$kdir/vmlinux" ]; then
		# The xz stream starts at its magic bytes, after the bzImage's setup code.
		offset=$(LC_ALL=C grep -a -b -o -m 1 $'\xfd''7zXZ' "$vmlinuz" |
			awk -F : 'NR == 1 { print $1 }')
		[ -n "$offset" ] || die "no xz stream in $vmlinuz"
		partial=$kdir/vmlinux.tmp
		# Through a file: xz stops reading at the end of the stream.
		tail -c +"$((offset + 1))" "$vmlinuz" > "$workdir/vmlinux.xz" &&
			xz -d -c --single-stream "$workdir/vmlinux.xz" > "$kdir/vmlinux.tmp" ||
			die "cannot decompress the kernel in $vmlinuz"
		rm -f "$workdir/vmlinux.xz"
		need_elf vmlinux "$kdir/vmlinux.tmp" "extracted from $vmlinuz"
		mv "$kdir/vmlinux.tmp" "$kdir/vmlinux"
		partial=
	fi
	cp "$kdir/vmlinux" "$1"
}

# Turn the tree into the first level of a nested run. The nested guest
# gets the tree as it is, as an uncompressed archive: it unpacks faster
# (about 10 s less under TCG within TCG), and the first level's own
# archive compresses it anyway.
add_nested()
{
	local dir=$root$NESTED_DIR qemu file lookup d found

	nested_hash=$(tree_hash)
	write_cpio > "$workdir/nested-initrd.img"
	mkdir -p "$dir"
	mv "$workdir/nested-initrd.img" "$dir/initrd.img"
	nested_kernel "$dir/kernel"
	log "nested guest: kernel $(du -m --apparent-size "$dir/kernel" | cut -f 1) MB," \
		"initramfs $nested_hash $(du -m --apparent-size "$dir/initrd.img" | cut -f 1) MB"

	# KVM, for a host that gives this guest nested virtualization: only
	# the module of the guest's CPU loads, so they have an order of their own.
	add_module kvm_intel lh-kvm-load-order
	add_module kvm_amd lh-kvm-load-order
	# The host side of vsock, for a nested guest's vsock channel.
	add_module vhost_vsock
	install -m 0755 "$srcdir/launch-guest.sh" "$dir/launch-guest.sh"
	install -m 0644 "$srcdir/../lib.sh" "$(dirname "$dir")/lib.sh"
	install_elf "$(command -v bash)"
	# The launcher's KVM probe needs GNU timeout (--kill-after), which
	# busybox's lacks.
	rm -f "$root$(readlink -f "$(command -v timeout)")"
	install_elf "$(command -v timeout)"
	qemu=$(command -v qemu-system-x86_64)
	install_elf "$qemu"
	# Debian's QEMU loads TCG as a module.
	for file in $(dpkg -L qemu-system-common 2> /dev/null |
			grep '/accel-tcg-x86_64\.so$'); do
		install_elf "$file"
	done
	# The guest's QEMU looks in the same folders, relative to its binary.
	lookup=$("$qemu" -L help)
	for file in $QEMU_FIRMWARE; do
		found=
		for d in $lookup; do
			if [ -f "$d/$file" ]; then
				install_path "$d/$file"
				found=1
				break
			fi
		done
		[ -n "$found" ] || die "QEMU's $file not found in: $lookup"
	done
}

# --- main ---------------------------------------------------------------------

need_cmd apt-get apt
need_cmd cpio cpio
need_cmd zstd zstd
need_cmd objcopy binutils
if [ -n "$lttng_tools" ] && [ -n "$lttng_root" ]; then
	die "--lttng-tools or --lttng-root, not both"
fi
if [ -n "$lttng_root" ]; then
	[ -f "$lttng_root/.lttng-hyper-versions" ] ||
		die "$lttng_root is not a root of extras/lttng-versions/build-root.sh"
	lttng_bins=()
elif [ -n "$lttng_tools" ]; then
	# The real folder: the programs were built for it (sessiond finds its
	# consumerd and schema there).
	lttng_tools=$(readlink -f "$lttng_tools") || die "no folder $lttng_tools"
	lttng_bins=("$lttng_tools/bin/lttng" "$lttng_tools/bin/lttng-sessiond"
		"$lttng_tools/lib/lttng/libexec/lttng-consumerd")
	for bin in "${lttng_bins[@]}"; do
		need_elf "${bin##*/}" "$bin" "build it with extras/lttng-tools/build-lttng-tools.sh"
	done
else
	need_cmd lttng lttng-tools
	need_cmd lttng-sessiond lttng-tools
fi
need_elf lttng-hyperd "$hyperd" "build it with make, or give --hyperd"
need_elf gen-events "$gen_events" "build it with make tests/utils/gen-events, or give --gen-events"
if [ -n "$relayd_push" ]; then
	need_elf relayd-push "$relayd_push" "build it with make bench/relayd-push"
	need_elf chan-dd "$(dirname "$relayd_push")/chan-dd" "build it with make bench/chan-dd"
	need_elf hypercall-bench "$(dirname "$relayd_push")/hypercall-bench" \
		"build it with make bench/hypercall-bench"
fi
if [ -n "$mark" ]; then
	need_elf lttng-hyper-mark "$mark" "build it with make, or give --mark"
fi
if [ -n "$pingpong" ]; then
	need_elf pingpong "$pingpong" "build it with make tests/utils/pingpong"
fi
if [ "$nested" -eq 1 ]; then
	need_cmd qemu-system-x86_64 qemu-system-x86
	need_cmd bash bash
	need_cmd xz xz-utils
	need_cmd timeout coreutils
fi

if ! dpkg-query -W -f '${Status}' busybox-static 2> /dev/null | grep -q installed; then
	[ "$(id -u)" -eq 0 ] || die "busybox-static is not installed: apt-get install busybox-static"
	log "installing busybox-static"
	apt-get install -y -q busybox-static > /dev/null ||
		die "apt-get install busybox-static failed"
fi
busybox=$(dpkg -L busybox-static | grep '/busybox$' | head -n 1) ||
	die "no busybox in the busybox-static package"
if [ -z "$lttng_tools" ] && [ -z "$lttng_root" ]; then
	consumerd=$(dpkg -L lttng-tools | grep '/libexec/lttng-consumerd$' | head -n 1) ||
		die "no lttng-consumerd in the lttng-tools package"
	lttng_bins=("$(command -v lttng)" "$(command -v lttng-sessiond)" "$consumerd")
fi

# What a failed run leaves half done.
workdir=
partial=
trap 'rm -rf "$workdir" "$partial"' EXIT

mkdir -p "$cache/kernel" "$cache/initrd" || die "cannot create the cache folder $cache"
if [ -z "$kabi" ]; then
	kabi=$(latest_kabi)
	if [ -z "$kabi" ]; then
		kabi=$(find "$cache/kernel" -mindepth 1 -maxdepth 1 -type d ! -name '*.tmp' \
			-printf '%f\n' | sort -V | tail -n 1)
		[ -n "$kabi" ] || die "cannot tell which kernel to use: apt-get update, or give --kernel-abi"
		log "no package list: using the cached kernel $kabi"
	fi
fi
kdir=$cache/kernel/$kabi
if [ -d "$kdir" ]; then
	log "kernel $kabi: cached"
else
	fetch_kernel "$kdir" "$kabi"
fi
log "kernel packages: $(tr '\n' ' ' < "$kdir/versions")"
moddir=$kdir/root/lib/modules/$kabi
[ -d "$moddir" ] || die "no modules in the cached kernel $kdir: remove that folder and retry"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/lttng-hyper-guest.XXXXXX")
root=$workdir/root
mkdir "$root"

log "collecting the initramfs files"
make_skeleton
modindex=$workdir/modindex
(cd "$moddir" && find kernel -name '*.ko' | awk '{ n = $0; sub(/.*\//, "", n);
	sub(/\.ko$/, "", n); gsub(/-/, "_", n); print n, $0 }') > "$modindex"
loaded=
for mod in $MODULES; do
	add_module "$mod"
done
for bin in "${lttng_bins[@]}"; do
	install_elf "$bin"
done
# lttng-sessiond refuses to start without the session schema.
if [ -n "$lttng_root" ]; then
	"$srcdir/add-lttng-root.sh" --gen-events "$gen_events" "$lttng_root" "$root" ||
		die "cannot add the LTTng of $lttng_root"
elif [ -n "$lttng_tools" ]; then
	for xsd in $(find "$lttng_tools/share/xml" -name '*.xsd'); do
		install_path "$xsd"
	done
	ln -sf "$lttng_tools/bin/lttng" "$root/usr/bin/lttng"
	ln -sf "$lttng_tools/bin/lttng-sessiond" "$root/usr/bin/lttng-sessiond"
	log "lttng-tools from $lttng_tools"
else
	for xsd in $(dpkg -L liblttng-ctl0 | grep '\.xsd$'); do
		install_path "$xsd"
	done
fi
if [ -z "$lttng_root" ]; then
	# lttng-ust's run-time libraries, including those it dlopen()s or
	# that users preload (liblttng-ust-fork, -fd, ...).
	for lib in $(dpkg -L liblttng-ust1 liblttng-ust-common1 liblttng-ust-ctl5 |
			grep '/liblttng-ust[a-z-]*\.so\.[0-9]*$'); do
		install_elf "$lib"
	done
	install -m 0755 "$gen_events" "$root/usr/bin/gen-events"
	install_libs "$gen_events"
fi
install -m 0755 "$hyperd" "$root/usr/bin/lttng-hyperd"
install_libs "$hyperd"
if [ -n "$relayd_push" ]; then
	install -m 0755 "$relayd_push" "$root/usr/bin/relayd-push"
	install_libs "$relayd_push"
	install -m 0755 "$(dirname "$relayd_push")/chan-dd" "$root/usr/bin/chan-dd"
	install_libs "$(dirname "$relayd_push")/chan-dd"
	install -m 0755 "$(dirname "$relayd_push")/hypercall-bench" "$root/usr/bin/hypercall-bench"
	install_libs "$(dirname "$relayd_push")/hypercall-bench"
fi
if [ -n "$mark" ]; then
	install -m 0755 "$mark" "$root/usr/bin/lttng-hyper-mark"
	install_libs "$mark"
fi
if [ -n "$pingpong" ]; then
	install -m 0755 "$pingpong" "$root/usr/bin/pingpong"
	install_libs "$pingpong"
fi
if [ "$kernel_tracing" -eq 1 ]; then
	suite=
	if [ -n "$lttng_root" ]; then
		suite=$(sed -n 's/^suite=//p' "$lttng_root/.lttng-hyper-versions")
	fi
	kvm_opt=()
	if [ "$kvm_tracing" -eq 1 ]; then
		kvm_opt=(--kvm)
	fi
	"$srcdir/build-modules.sh" --cache "$cache" --kernel-abi "$kabi" ${suite:+--suite "$suite"} \
		"${kvm_opt[@]}" "$root" ||
		die "cannot build lttng-modules for $kabi"
fi
nested_hash=
if [ "$nested" -eq 1 ]; then
	add_nested
fi

hash=$(tree_hash)
initrd=$cache/initrd/$kabi-$hash.img
if [ -f "$initrd" ]; then
	log "initramfs $hash: cached"
else
	log "packing the initramfs $hash ($(du -sm "$root" | cut -f 1) MB unpacked)"
	need_space "$cache/initrd" 200
	pack "$initrd"
	# Keep the few newest images only: each build of the daemons adds one.
	find "$cache/initrd" -name '*.img' -printf '%T@ %p\n' | sort -rn |
		tail -n +6 | cut -d ' ' -f 2- | xargs -r rm -f
fi
touch "$initrd"

mkdir -p "$output" || die "cannot create $output"
cp "$kdir/root/boot/vmlinuz-$kabi" "$output/vmlinuz"
cp "$initrd" "$output/initrd.img"
{
	cat "$kdir/versions"
	if [ "$kernel_tracing" -eq 1 ]; then
		cat "$root/lib/modules/$kabi/extra/lttng-modules.versions"
	fi
	if [ -n "$lttng_root" ]; then
		cat "$root/opt/lttng-root/versions"
	fi
	echo "initramfs $hash"
	if [ -n "$nested_hash" ]; then
		echo "nested guest initramfs $nested_hash"
	fi
} > "$output/versions"
log "kernel:    $output/vmlinuz ($(du -h "$output/vmlinuz" | cut -f 1))"
log "initramfs: $output/initrd.img ($(du -h "$output/initrd.img" | cut -f 1))"
if ! command -v qemu-system-x86_64 > /dev/null; then
	log "note: to boot the guest, apt-get install qemu-system-x86"
fi
