#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Give a guest image another LTTng than the host's: the lttng-tools and
# lttng-ust of a Debian root made by extras/lttng-versions/build-root.sh
# (sid: LTTng 2.16), copied with the libraries they link into a small
# chroot inside the image, and wrappers that run them there. Their C
# library is the root's, so they cannot share the image's own /usr.

set -eu -o pipefail

prog=${0##*/}
srcdir=$(cd "$(dirname "$0")" && pwd)
. "$srcdir/../lib.sh"

# Where the chroot lives in the image; guest-init.sh mounts /proc, /sys,
# /dev, /tmp, /var/run/lttng, /root and the kernel modules into it.
CHROOT=/opt/lttng-root
MULTIARCH=usr/lib/x86_64-linux-gnu

usage()
{
	cat <<EOF
Usage: $prog [OPTIONS] LTTNG_ROOT IMAGE_ROOT

Copy lttng, lttng-sessiond, lttng-consumerd, lttng-ust's libraries and the
session schema of LTTNG_ROOT, with every library they link, into
IMAGE_ROOT$CHROOT, and write IMAGE_ROOT/usr/bin/lttng, lttng-sessiond and
gen-events, which run them chrooted there. Run as root.

Options:
  -g, --gen-events PATH   the traced workload, built in LTTNG_ROOT against its
                          lttng-ust (tests/regression/lib-root.sh's
                          lh_root_gen_events); required
  -h, --help              show this help
EOF
}

gen_events=
lroot=
image=

while [ $# -gt 0 ]; do
	case "$1" in
	-g|--gen-events)
		gen_events=${2:?$1 needs a value}
		shift 2
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
		if [ -z "$lroot" ]; then
			lroot=$1
		elif [ -z "$image" ]; then
			image=$1
		else
			die "unexpected argument '$1'"
		fi
		shift
		;;
	esac
done
[ -n "$image" ] || {
	usage >&2
	die "LTTNG_ROOT and IMAGE_ROOT are needed"
}
[ -n "$gen_events" ] || die "no --gen-events: build it in the root (lh_root_gen_events)"
[ -f "$gen_events" ] || die "no gen-events at $gen_events"
lroot=$(readlink -f "$lroot")
[ -x "$lroot/usr/bin/lttng-sessiond" ] || die "$lroot has no lttng-sessiond (build-root.sh)"
[ -d "$image" ] || die "$image is not a folder"
gen_events=$(readlink -f "$gen_events")
dest=$image$CHROOT

consumerd=$(cd "$lroot" && find "$MULTIARCH/lttng/libexec" -name lttng-consumerd | head -n 1)
[ -n "$consumerd" ] || die "no lttng-consumerd in $lroot/$MULTIARCH/lttng/libexec"
# lttng-ust's libraries, those it dlopen()s included.
mapfile -t ust_libs < <(cd "$lroot" && find "$MULTIARCH" -maxdepth 1 -name 'liblttng-ust*.so.*')
bins=(/usr/bin/lttng /usr/bin/lttng-sessiond "/$consumerd" "${ust_libs[@]/#//}")

# In the root, with its own loader and links: every file that these and
# gen-events load, each as the link it is named by (in a folder whose
# own links are resolved) and as the file it resolves to.
# shellcheck disable=SC2016 # expanded by the root's sh
mapfile -t paths < <("$srcdir/../lttng-versions/in-root.sh" -B "${gen_events%/*}" "$lroot" \
	sh -c 'for b; do ldd "$b"; done |
		awk '\''$2 == "=>" && $3 ~ /^\// { print $3; next } $1 ~ /^\// { print $1 }'\'' |
		sort -u | while read -r p; do
			echo "$(readlink -f "${p%/*}")/${p##*/}"
			readlink -f "$p"
		done' sh "${bins[@]}" "$gen_events" | grep -v "^${gen_events%/*}/" | sort -u)
[ "${#paths[@]}" -gt 0 ] || die "no library found for ${bins[*]}"

mkdir -p "$dest"
# Merged /usr: the top folders are links, as in the root.
for top in bin sbin lib lib64; do
	if [ -L "$lroot/$top" ]; then
		ln -sfn "$(readlink "$lroot/$top")" "$dest/$top"
	fi
done
mkdir -p "$dest"/{proc,sys,dev,tmp,root,etc,var,run/lttng,usr/lib/modules}
ln -sfn /run "$dest/var/run"
cp "$lroot/etc/passwd" "$lroot/etc/group" "$dest/etc/"
(cd "$lroot" && printf '%s\n' "${bins[@]#/}" "${paths[@]#/}" | sort -u |
	xargs -d '\n' cp -P --parents -t "$dest/") ||
	die "cannot copy the root's files into $dest"
(cd "$lroot" && find usr/share/xml/lttng -name '*.xsd' -exec cp --parents {} "$dest/" \;)
install -m 0755 "$gen_events" "$dest/usr/bin/gen-events"

for name in lttng lttng-sessiond gen-events; do
	cat > "$image/usr/bin/$name" <<EOF
#!/bin/sh
# $name of the image's other LTTng (extras/vm/add-lttng-root.sh)
exec chroot $CHROOT /usr/bin/$name "\$@"
EOF
	chmod 0755 "$image/usr/bin/$name"
done
sed -n 's/^\(suite\|lttng_tools\|lttng_ust\)=/lttng-root \1 /p' "$lroot/.lttng-hyper-versions" \
	> "$dest/versions"
log "LTTng of $lroot in $CHROOT: $(du -sm "$dest" | cut -f 1) MB," \
	"$(tr '\n' ' ' < "$dest/versions")"
