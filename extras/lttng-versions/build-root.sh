#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build a Debian root file system (debootstrap) holding a newer LTTng than
# the machine's: Debian sid's or trixie's lttng-tools, lttng-ust and
# babeltrace2, with gcc to build a traced application there. The tests run
# these versions against lttng-hyper with in-root.sh, in a chroot. The
# machine's own packages and its apt configuration stay untouched.
#
# A root is keyed by a hash of what goes into it (the suite, the mirror, the
# package list, the debootstrap version and this recipe), so a second run
# takes a moment. The suite itself moves on: --refresh takes its newest
# packages.

set -eu -o pipefail

prog=${0##*/}
. "$(dirname "$(readlink -f "$0")")/../lib.sh"

SUITES="sid trixie"
# The mirror these machines' own apt uses (/etc/apt/sources.list.d/
# debian.sources), so that a machine that reaches one reaches the other.
MIRROR=http://deb.debian.org/debian
KEYRING=/usr/share/keyrings/debian-archive-keyring.gpg
# What a guest role needs to trace an application of its own: the session
# daemon, consumer and relay daemon (lttng-tools), lttng-ust with its
# headers, a compiler and C library headers to build the tracepoint
# provider, and babeltrace2 to read the traces. debootstrap follows Depends
# only, so lttng-tools' Recommends (lttng-modules-dkms) stays out.
PACKAGES=(lttng-tools liblttng-ust-dev babeltrace2 gcc libc6-dev)
VARIANT=minbase
# debootstrap itself, when the machine has none: bookworm's, which knows sid
# and trixie. It is fetched once, with a private apt configuration, and
# unpacked in the cache (never installed); its hash is pinned so that a
# cached copy is checked without the network.
DEBOOTSTRAP_VERSION=1.0.128+nmu2+deb12u2
DEBOOTSTRAP_SHA256=63f354316e9bbe747b143b7b0d83e5f237c90314a17734fba9ff202c2ef02760
DEBOOTSTRAP_APT_SOURCE="deb [signed-by=$KEYRING] $MIRROR bookworm main"
# Bump when the build steps change in a way the settings above do not show.
RECIPE=1
# Inside a root: the versions of its LTTng packages, written last (a root
# without it is not complete).
VERSIONS=.lttng-hyper-versions
# Roots kept per suite, the current one included.
KEEP=2

usage()
{
	cat <<EOF
Usage: $prog [OPTIONS] SUITE

Build a Debian SUITE root (SUITE: ${SUITES// /, }) with debootstrap
--variant=$VARIANT from $MIRROR, holding that suite's
${PACKAGES[*]}, and print its path. Run as root.
Run commands in it with in-root.sh.

Options:
  -c, --cache DIR         cache folder (default: /var/cache/lttng-hyper)
      --print-path        print the root's path without building it; exit
                          status 0 if it is built, 1 if not
      --refresh           build again even if cached, to take the suite's
                          newest packages; the former root is replaced
                          atomically
  -h, --help              show this help

Layout: the root is DIR/roots/SUITE-KEY, KEY a hash of what goes into it
(the suite, the mirror, the package list, the debootstrap version and this
script's recipe); DIR/roots/SUITE is a symbolic link to the newest one,
switched atomically. A root appears whole (a rename); an interrupted build
leaves only a hidden .partial folder, removed by the next one. $KEEP roots
are kept per suite. ROOT/$VERSIONS holds the versions of its
LTTng packages (shell variable assignments), and the inputs of the key.

The cache also holds debootstrap (unpacked, not installed) when the machine
has none, with its private apt lists, and the last build's log.
EOF
}

cache=/var/cache/lttng-hyper
print_path=0
refresh=0
suite=

while [ $# -gt 0 ]; do
	case "$1" in
	-c|--cache)
		cache=${2:?$1 needs a value}
		shift 2
		;;
	--print-path)
		print_path=1
		shift
		;;
	--refresh)
		refresh=1
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
		[ -z "$suite" ] || die "one SUITE only, not '$suite' and '$1'"
		suite=$1
		shift
		;;
	esac
done

[ -n "$suite" ] || {
	usage >&2
	die "no SUITE given (${SUITES// /, })"
}
case " $SUITES " in
*" $suite "*)
	;;
*)
	die "unknown suite '$suite': this script builds ${SUITES// /, }"
	;;
esac
case "$cache" in
/*)
	;;
*)
	die "the cache must be an absolute path, not '$cache'"
	;;
esac

need_cmd sha256sum coreutils
need_cmd flock util-linux

# --- debootstrap ------------------------------------------------------------------

# The machine's, else the cached copy of the pinned one (fetched below).
dbdir=$cache/debootstrap/$DEBOOTSTRAP_VERSION
if command -v debootstrap > /dev/null; then
	debootstrap=$(command -v debootstrap)
	debootstrap_dir=
	debootstrap_version=$("$debootstrap" --version 2> /dev/null | sed -n 's/^debootstrap //p')
	[ -n "$debootstrap_version" ] || die "$debootstrap --version says no version"
else
	debootstrap=$dbdir/usr/sbin/debootstrap
	debootstrap_dir=$dbdir/usr/share/debootstrap
	debootstrap_version=$DEBOOTSTRAP_VERSION
fi

# --- the key --------------------------------------------------------------------

key_input()
{
	echo "recipe $RECIPE"
	echo "suite $suite"
	echo "mirror $MIRROR"
	echo "variant $VARIANT"
	echo "packages ${PACKAGES[*]}"
	echo "debootstrap $debootstrap_version"
}

key=$(key_input | sha256sum | cut -c 1-12)
roots=$cache/roots
root=$roots/$suite-$key
link=$roots/$suite

if [ "$print_path" -eq 1 ]; then
	echo "$root"
	if [ -f "$root/$VERSIONS" ]; then
		exit 0
	fi
	log "$suite root (key $key) not built; as root: $0 $suite"
	exit 1
fi

[ "$(id -u)" -eq 0 ] || die "run as root (debootstrap makes device files and runs dpkg in a chroot)"

workdir=
partial=
trap 'rm -rf "$workdir"; [ -z "$partial" ] || rm -rf --one-file-system "$partial"; rm -f "$link.new.$$"' EXIT
# After the command at hand, which may have seen the signal as a failure.
trap 'die "interrupted"' INT TERM

# The link must be one this script made, or not exist.
check_link()
{
	local target

	if [ -L "$link" ]; then
		target=$(readlink "$link")
		case "$target" in
		"$suite"-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])
			;;
		*)
			die "$link is a link to $target, which this script did not make: remove it"
			;;
		esac
	elif [ -e "$link" ]; then
		die "$link exists and is not a link to a root of this script: remove it"
	fi
}

# Point the link at the keyed root, atomically (rename over the old link).
switch_link()
{
	check_link
	[ "$(readlink "$link")" != "${root##*/}" ] || return 0
	ln -s "${root##*/}" "$link.new.$$" || die "cannot write in $roots"
	mv -T "$link.new.$$" "$link" || {
		rm -f "$link.new.$$"
		die "cannot replace $link"
	}
}

cached()
{
	switch_link
	# For the pruning of old roots: the newest used are kept.
	touch "$root" 2> /dev/null || true
	log "$suite root, key $key: $1 $root ($(grep -E '^(lttng_tools|lttng_ust|babeltrace2)=' \
		"$root/$VERSIONS" | paste -s -d ' '))"
	echo "$root"
	exit 0
}

check_link

# A keyed root appears whole (by a rename), so it needs no lock to be seen.
if [ "$refresh" -eq 0 ] && [ -f "$root/$VERSIONS" ]; then
	cached "cached in"
fi

# --- lock -------------------------------------------------------------------------

# One build per suite at a time: a second run waits, then finds the first
# one's root.
mkdir -p "$roots" || die "cannot create $roots"
exec 9>> "$roots/.$suite.lock" || die "cannot open the lock file $roots/.$suite.lock"
if ! flock -n 9; then
	log "waiting for another $prog $suite (lock $roots/.$suite.lock)"
	flock 9
	# The other one built it: a refresh is done too.
	if [ -f "$root/$VERSIONS" ]; then
		cached "built meanwhile in"
	fi
fi
if [ "$refresh" -eq 0 ] && [ -f "$root/$VERSIONS" ]; then
	cached "built meanwhile in"
fi

need_cmd wget wget
need_cmd dpkg-deb dpkg
need_cmd chroot coreutils
need_cmd unshare util-linux
need_cmd gpgv gpgv
[ -f "$KEYRING" ] || die "no $KEYRING to check the $suite archive with; apt-get install debian-archive-keyring"

workdir=$(mktemp -d "${TMPDIR:-/tmp}/lttng-hyper-root.XXXXXX")
start=$SECONDS

# --- debootstrap, when the machine has none -------------------------------------

# Fetched once with a private sources list, lists and cache, so that the
# machine's apt sources, lists and preferences are neither read nor changed,
# and unpacked (dpkg -x): nothing is installed.
if [ -n "$debootstrap_dir" ] && [ ! -x "$debootstrap" ]; then
	need_cmd apt-get apt
	deb=$cache/debootstrap/debootstrap_${DEBOOTSTRAP_VERSION}_all.deb
	if [ ! -f "$deb" ]; then
		aptdir=$cache/debootstrap/apt
		mkdir -p "$aptdir/lists/partial" "$aptdir/cache/archives/partial" ||
			die "cannot create $aptdir"
		echo "$DEBOOTSTRAP_APT_SOURCE" > "$aptdir/sources.list"
		apt_opts=(-q -o "Dir::Etc::SourceList=$aptdir/sources.list" -o Dir::Etc::SourceParts=/dev/null
			-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
			-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null
			-o Acquire::Languages=none
			# apt's sandbox user may not write into a root-only cache.
			-o APT::Sandbox::User=root)
		log "fetching debootstrap $DEBOOTSTRAP_VERSION (a private apt list of bookworm, about 9 MB)"
		apt-get "${apt_opts[@]}" update > "$cache/debootstrap/apt.log" 2>&1 ||
			die "apt-get update (private lists in $aptdir) failed:
$(tail -n 5 "$cache/debootstrap/apt.log")"
		download=$workdir/download
		mkdir "$download"
		if ! (cd "$download" && apt-get "${apt_opts[@]}" download \
				"debootstrap=$DEBOOTSTRAP_VERSION") > "$cache/debootstrap/apt.log" 2>&1; then
			found=$(apt-cache "${apt_opts[@]}" madison debootstrap 2> /dev/null |
				awk -F '|' '{ gsub(/ /, "", $2); print $2 }' | sort -u | tr '\n' ' ')
			die "cannot fetch debootstrap $DEBOOTSTRAP_VERSION (bookworm has: ${found:-nothing}):
$(tail -n 3 "$cache/debootstrap/apt.log")
Install debootstrap (apt-get install debootstrap), or put
debootstrap_${DEBOOTSTRAP_VERSION}_all.deb (https://snapshot.debian.org/package/debootstrap/)
in $cache/debootstrap, or pin the newer version (DEBOOTSTRAP_VERSION and
DEBOOTSTRAP_SHA256 in $0)."
		fi
		[ "$(sha256sum < "$download/${deb##*/}" | cut -c 1-64)" = "$DEBOOTSTRAP_SHA256" ] ||
			die "the downloaded ${deb##*/} does not have the pinned hash $DEBOOTSTRAP_SHA256"
		mv "$download/${deb##*/}" "$deb"
	fi
	[ "$(sha256sum < "$deb" | cut -c 1-64)" = "$DEBOOTSTRAP_SHA256" ] ||
		die "$deb does not have the pinned hash $DEBOOTSTRAP_SHA256: remove it and run again"
	# Unpacked beside, then renamed into place: the folder is whole or absent.
	rm -rf "$dbdir.partial"
	dpkg-deb -x "$deb" "$dbdir.partial" || die "cannot unpack $deb"
	mv -T "$dbdir.partial" "$dbdir" || die "cannot move debootstrap into $dbdir"
	log "debootstrap $DEBOOTSTRAP_VERSION unpacked in $dbdir"
fi

# --- the root ---------------------------------------------------------------------

# debootstrap into a hidden folder beside the root (the same file system),
# then a rename: a SUITE-KEY folder is always complete. debootstrap mounts
# /proc and /sys (and may bind /dev) in the root while it installs; in a
# mount namespace of its own, nothing it mounts can outlive it, even when it
# fails, so the partial folder can always be removed.
partial=$roots/.$suite-$key.partial
[ ! -e "$partial" ] || rm -rf --one-file-system "$partial"
buildlog=$roots/$suite.log
include=$(IFS=,; echo "${PACKAGES[*]}")
phase=$SECONDS
log "debootstrap --variant=$VARIANT $suite from $MIRROR, with $include (about 2 minutes)"
if ! env ${debootstrap_dir:+DEBOOTSTRAP_DIR="$debootstrap_dir"} LC_ALL=C \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		unshare -m --propagation private \
		"$debootstrap" --variant="$VARIANT" --include="$include" --keyring="$KEYRING" \
		"$suite" "$partial" "$MIRROR" > "$buildlog" 2>&1; then
	# debootstrap's own log tells the failing package's story.
	cat "$partial/debootstrap/debootstrap.log" >> "$buildlog" 2> /dev/null || true
	die "debootstrap $suite failed; last lines of the log ($buildlog):
$(tail -n 15 "$buildlog")
A package of $suite may be broken for a while (sid moves every day): try again
later, or build trixie."
fi
phase=$((SECONDS - phase))

# The .deb files debootstrap leaves in apt's cache (about a third of the
# root); tests have no use for them.
find "$partial/var/cache/apt/archives" -maxdepth 1 -name '*.deb' -delete

# in-root.sh mounts over these; they must be folders of the root, not
# links that would lead out of it.
for dir in proc sys dev tmp run; do
	[ -d "$partial/$dir" ] && [ ! -L "$partial/$dir" ] ||
		die "$suite root: /$dir is not a folder; the root cannot be used by in-root.sh"
done
case "$(readlink "$partial/var/run")" in
/run|../run)
	;;
*)
	die "$suite root: /var/run is not a link to /run; in-root.sh cannot mount /var/run/lttng"
	;;
esac

# The versions, read from the root's dpkg database; a package not installed
# gets an empty value.
pkg_version()
{
	dpkg-query --admindir="$partial/var/lib/dpkg" -W -f='${db:Status-Abbrev}${Version}\n' "$1" \
		2> /dev/null | sed -n 's/^ii *//p'
}
tools=$(pkg_version lttng-tools)
ust=$(pkg_version liblttng-ust-dev)
bt2=$(pkg_version babeltrace2)
[ -n "$tools" ] && [ -n "$ust" ] && [ -n "$bt2" ] ||
	die "$suite root: lttng-tools '$tools', liblttng-ust-dev '$ust' or babeltrace2 '$bt2' is not installed; see $buildlog"
# A last check: the programs run in the root (no mounts needed for this).
for cmd in lttng babeltrace2 gcc; do
	chroot "$partial" "$cmd" --version > "$workdir/version" 2>&1 ||
		die "$suite root: $cmd --version failed: $(head -n 3 "$workdir/version")"
done
{
	echo "# Written by $prog on $(date -u +%Y-%m-%dT%H:%M:%SZ), key $key."
	echo "# Inputs (the key is a hash of these):"
	key_input | sed 's/^/# /'
	echo "# Debian package versions (empty: not installed):"
	echo "suite=$suite"
	echo "key=$key"
	echo "lttng_tools=$tools"
	echo "lttng_ust=$ust"
	echo "babeltrace2=$bt2"
	echo "lttng_modules_dkms=$(pkg_version lttng-modules-dkms)"
	echo "gcc=$(pkg_version gcc)"
	echo "libc6=$(pkg_version libc6)"
} > "$partial/$VERSIONS"

# Into place. A refresh moves the former root aside first: a chroot in it
# goes on (it holds the folder, not its name), and it is removed after.
old=
if [ -e "$root" ]; then
	old=$roots/.$suite-$key.old.$$
	mv -T "$root" "$old" || die "cannot move the former root $root aside"
fi
mv -T "$partial" "$root" || die "cannot move the root into $root"
partial=
if [ -n "$old" ]; then
	rm -rf --one-file-system "$old" ||
		log "warning: cannot remove the former root $old (in use?): remove it by hand"
fi
switch_link
log "$suite root built in $((SECONDS - start)) s (debootstrap $phase s): $(du -sh "$root" | cut -f 1) in $root"
log "lttng-tools $tools, lttng-ust $ust, babeltrace2 $bt2"

# Keep the newest roots of the suite (the current one always).
find "$roots" -mindepth 1 -maxdepth 1 -type d \
	-name "$suite-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]" \
	! -path "$root" -printf '%T@ %p\n' | sort -rn | tail -n +"$KEEP" | cut -d ' ' -f 2- |
	while read -r stale; do
		log "removing the older root $stale"
		rm -rf --one-file-system "$stale"
	done
echo "$root"
