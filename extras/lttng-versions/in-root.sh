#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Run a command chrooted in a root made by build-root.sh, with what LTTng
# needs mounted there: /proc, /sys, /dev, and tmpfs on /dev/shm, /tmp and
# /run (so /var/run/lttng). The mounts are made in a private mount namespace
# of the command's own: the machine's mount table never sees them, and they
# go away with the last process of the namespace (a daemon started there
# keeps them while it lives).
#
# The network, pid, UTS and time namespaces are the caller's: in a guest
# role of tests/regression/lib.sh, net://127.0.0.1 reaches the role's
# lttng-hyperd, and the role's end kills what was started here.

set -eu -o pipefail

prog=${0##*/}
self=$(readlink -f "$0")
. "$(dirname "$self")/../lib.sh"

VERSIONS=.lttng-hyper-versions
ROOT_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

usage()
{
	cat <<EOF
Usage: $prog [OPTIONS] ROOT COMMAND [ARG...]

Run COMMAND in ROOT (a root made by build-root.sh) as a chroot, in a mount
namespace of its own, with /proc, /sys and /dev mounted, fresh tmpfs on
/dev/shm, /tmp and /run (/var/run/lttng is empty: the root's own session
daemon), and ROOT itself read-only. Run as root. The status is COMMAND's.

The environment passes through but for PATH (the root's standard one),
LD_PRELOAD and LD_LIBRARY_PATH (the machine's libraries would not fit the
root's). LTTNG_HOME, if set, is bound at the same path in the root, so that
traces and the daemons' files land in the caller's folder; else HOME is
(unless /). The working directory stays the same if it is there in the
root, else it is /.

Options:
  -b, --bind DIR          bind DIR (read-write) at the same path in the root;
                          repeatable (e.g. the test's folder)
  -B, --ro-bind DIR       the same, read-only (e.g. the source tree)
  -s, --state DIR         bind DIR/run on /var/run/lttng and DIR/shm on
                          /dev/shm instead of fresh tmpfs, so that later
                          calls with the same DIR reach a session daemon
                          started by an earlier one (DIR/run/lttng-sessiond.pid
                          is its pid); made if missing
  -w, --writable          ROOT read-write (to add packages, say): a cached
                          root is shared by every test, change it knowingly
  -h, --help              show this help

Mount points of --bind folders outside /tmp and /run are made (empty) in
ROOT. A session daemon started with -d here keeps this call's namespace and
mounts until it ends: end it by its pid.
EOF
}

# All of them, for the second run of this script in the new namespace.
args=("$@")
binds=()
ro_binds=()
state=
writable=0

while [ $# -gt 0 ]; do
	case "$1" in
	-b|--bind)
		binds+=("${2:?$1 needs a value}")
		shift 2
		;;
	-B|--ro-bind)
		ro_binds+=("${2:?$1 needs a value}")
		shift 2
		;;
	-s|--state)
		state=${2:?$1 needs a value}
		shift 2
		;;
	-w|--writable)
		writable=1
		shift
		;;
	-h|--help)
		usage
		exit 0
		;;
	--)
		shift
		break
		;;
	-*)
		usage >&2
		die "unknown option '$1'"
		;;
	*)
		break
		;;
	esac
done
[ $# -ge 2 ] || {
	usage >&2
	die "give a ROOT and a COMMAND"
}
root=$1
shift
# The folder itself, not a link to it (build-root.sh's SUITE link), in both
# runs of this script.
[ -d "$root" ] || die "no root at $root: build one with build-root.sh SUITE"
root=$(readlink -f "$root")

# --- outside: checks, then a mount namespace of its own ----------------------------

if [ -z "${LH_IN_ROOT_NS:-}" ]; then
	[ "$(id -u)" -eq 0 ] || die "run as root (mount namespaces, chroot)"
	command -v unshare > /dev/null || die "unshare not found; on Debian: apt-get install util-linux"
	[ "$root" != / ] || die "the root cannot be /"
	[ -f "$root/$VERSIONS" ] ||
		die "$root is not a complete root of build-root.sh (no $VERSIONS): build it again"
	for dir in proc sys dev tmp run; do
		[ -d "$root/$dir" ] && [ ! -L "$root/$dir" ] ||
			die "$root/$dir is not a folder: not a root of build-root.sh"
	done
	[ -d /dev/shm ] || die "no /dev/shm folder on this machine to mount a tmpfs on in the root"
	for dir in ${binds[@]+"${binds[@]}"} ${ro_binds[@]+"${ro_binds[@]}"}; do
		case "$dir" in
		/*)
			;;
		*)
			die "--bind and --ro-bind take absolute paths, not '$dir'"
			;;
		esac
		[ -d "$dir" ] || die "no folder $dir to bind"
	done
	if [ -n "$state" ]; then
		case "$state" in
		/*)
			;;
		*)
			die "--state takes an absolute path, not '$state'"
			;;
		esac
		mkdir -p "$state/run" "$state/shm" || die "cannot make $state/run and $state/shm"
		chmod 0755 "$state/run"
		chmod 1777 "$state/shm"
	fi
	# exec all the way (unshare -m needs no fork, nor does chroot): the
	# caller's pid is COMMAND's.
	LH_IN_ROOT_NS=1 exec unshare -m --propagation private -- "$self" "${args[@]}"
fi

# --- inside the namespace: the mounts, then the chroot -----------------------------

# mount_or_die ARGS...: mount, or stop with what failed (the namespace and
# what is mounted so far go with this process).
mount_or_die()
{
	local out

	out=$(mount "$@" 2>&1) || die "mount $* failed: $out"
}

# root_dir PATH: make sure ROOT/PATH is a folder, making what is missing,
# and refuse a symbolic link on the way: one that reads /... would lead the
# mount out of the root.
root_dir()
{
	local rest=${1#/} here=$root part

	while [ -n "$rest" ]; do
		part=${rest%%/*}
		rest=${rest#"$part"}
		rest=${rest#/}
		case "$part" in
		''|.)
			continue
			;;
		..)
			die "'$1' has a '..': give a plain path"
			;;
		esac
		here=$here/$part
		[ ! -L "$here" ] ||
			die "$here is a symbolic link: cannot mount on $1 in the root"
		if [ ! -e "$here" ]; then
			mkdir "$here" || die "cannot make the mount point $here"
		fi
		[ -d "$here" ] || die "$here is not a folder: cannot mount on $1 in the root"
	done
}

# bind DIR MODE(rw|ro)
bind_dir()
{
	root_dir "$1"
	mount_or_die --bind "$1" "$root$1"
	if [ "$2" = ro ]; then
		mount_or_die -o remount,bind,ro "$root$1"
	fi
}

# The root itself, bound on itself: read-only below, and what is mounted
# under it here stays on this bind.
mount_or_die --bind "$root" "$root"
mount_or_die -t proc -o nosuid,nodev,noexec proc "$root/proc"
# A sysfs of this network namespace (a guest role's own interfaces); the
# machine's when that is not allowed.
if ! mount -t sysfs -o nosuid,nodev,noexec sysfs "$root/sys" 2> /dev/null; then
	mount_or_die --rbind /sys "$root/sys"
fi
# The machine's device files (not /dev's own submounts: /dev/shm is this
# root's).
mount_or_die --bind /dev "$root/dev"
if mountpoint -q /dev/pts && [ -d "$root/dev/pts" ]; then
	mount_or_die --bind /dev/pts "$root/dev/pts"
fi
[ -d "$root/dev/shm" ] && [ ! -L "$root/dev/shm" ] || die "no /dev/shm folder in /dev"
mount_or_die -t tmpfs -o mode=1777,nosuid,nodev lh-root-tmp "$root/tmp"
mount_or_die -t tmpfs -o mode=0755,nosuid,nodev lh-root-run "$root/run"
# /var/run is a link to /run in the root (build-root.sh checked it).
mkdir -m 0755 "$root/run/lttng" || die "cannot make /run/lttng in the root"
if [ -n "$state" ]; then
	mount_or_die --bind "$state/run" "$root/run/lttng"
	mount_or_die --bind "$state/shm" "$root/dev/shm"
else
	mount_or_die -t tmpfs -o mode=1777,nosuid,nodev lh-root-shm "$root/dev/shm"
fi

# The caller's folders, parents before children (a sorted list), once each.
list=()
for dir in ${binds[@]+"${binds[@]}"}; do
	list+=("rw $(readlink -f "$dir")")
done
for dir in ${ro_binds[@]+"${ro_binds[@]}"}; do
	list+=("ro $(readlink -f "$dir")")
done
if [ -n "${LTTNG_HOME:-}" ]; then
	[ -d "$LTTNG_HOME" ] || die "LTTNG_HOME=$LTTNG_HOME is not a folder"
	list+=("rw $(readlink -f "$LTTNG_HOME")")
elif [ -n "${HOME:-}" ] && [ -d "$HOME" ] && [ "$(readlink -f "$HOME")" != / ]; then
	list+=("rw $(readlink -f "$HOME")")
fi
done_dirs=" "
if [ "${#list[@]}" -gt 0 ]; then
	while read -r mode dir; do
		case "$done_dirs" in
		*" $dir "*)
			continue
			;;
		esac
		done_dirs="$done_dirs$dir "
		# Not over what this script mounts, nor over the root's system.
		case "$dir" in
		/|/proc|/proc/*|/sys|/sys/*|/dev|/dev/*|/tmp|/run|/run/lttng|/var|/var/run|/var/lib|/var/lib/dpkg|/usr|/usr/*bin|/usr/lib*|/etc|/bin|/sbin|/lib|/lib32|/lib64)
			die "will not bind $dir in the root: in-root.sh mounts there, or the root's own files are there"
			;;
		esac
		bind_dir "$dir" "$mode"
	done < <(printf '%s\n' "${list[@]}" | sort -k 2 -u)
fi

if [ "$writable" -eq 0 ]; then
	mount_or_die -o remount,bind,ro "$root"
fi

# chroot changes to /: a shell of the root goes back to the caller's folder
# when the root has it.
exec chroot "$root" /usr/bin/env -u LD_PRELOAD -u LD_LIBRARY_PATH -u LH_IN_ROOT_NS \
	PATH="$ROOT_PATH" /bin/sh -c 'cd -- "$1" 2> /dev/null || cd /; shift; exec "$@"' \
	in-root "$PWD" "$@"
