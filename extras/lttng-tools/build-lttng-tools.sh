#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# Build Debian bookworm's lttng-tools (source package ltt-control) with
# lttng-hyper's patch series (patches/series) into a private prefix. The
# machine's own lttng-tools and its apt configuration stay untouched.
#
# The source is fetched once, with a private apt configuration, and kept in
# the cache, so later builds need no network. An install is keyed by a hash
# of everything that goes into it, so a second run takes a second.

set -eu -o pipefail

prog=${0##*/}
srcdir=$(cd "$(dirname "$0")" && pwd)
. "$srcdir/../lib.sh"

# The Debian source the series applies to. The hash of its .dsc (as listed
# in bookworm's signed Sources index) is pinned too, so that a cached copy
# is checked without the network; dpkg-source checks the tarballs against
# the .dsc. 2.13.9-1+deb12u1 came with a point release: it is in bookworm
# itself, not in bookworm-updates or bookworm-security (checked 2026-12).
SOURCE=ltt-control
VERSION=2.13.9-1+deb12u1
DSC_SHA256=9b6273234a8205fa07b472e8a41c50fd04fb7fbc5efb9b8651ba3ac8d9b51db1
APT_SOURCE="deb-src [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian bookworm main"

# Configure options besides --prefix:
CONFIGURE_OPTIONS=(
	# lttng-crash reads the buffers of crashed applications; nothing here
	# needs it. In 2.13 the test suite is built only when every program is,
	# so this also skips building the tests' ~150 programs.
	--disable-bin-lttng-crash
	# The Python bindings (off anyway) and the core-handler example.
	--disable-extras
	# liblttng-ctl.so only: libtool compiles each library file once, not twice.
	--disable-static
	# A one-time build.
	--disable-dependency-tracking
	# As Debian: sessiond loads the kernel modules through libkmod. Without
	# this, a missing libkmod-dev would silently mean modprobe instead.
	--with-kmod
)
# Debian's flags for this package (dpkg-buildflags with debian/rules'
# hardening=+all, on bookworm), written out so that they are part of the
# key; each build adds -ffile-prefix-map for its own folder.
BUILD_CFLAGS="-g -O2 -fstack-protector-strong -Wformat -Werror=format-security"
BUILD_CPPFLAGS="-Wdate-time -D_FORTIFY_SOURCE=2"
BUILD_LDFLAGS="-Wl,-z,relro -Wl,-z,now"
# Bump when the build steps change in a way the settings above do not show.
RECIPE=3

# What the build needs from Debian: debian/control's Build-Depends without
# the man pages (asciidoc, xmlto), the Python bindings (python3-all-dev,
# swig, dh-python) and the packaging (debhelper, bash-completion), plus flex:
# the tarball holds the generated filter parser and lexer, and bison and
# flex only run when a patch changes the grammar. dpkg-dev, bzip2 and xz-utils
# unpack the source.
BUILD_DEPS=(build-essential pkg-config bison flex libkmod-dev liblttng-ust-dev
	libpopt-dev liburcu-dev libxml2-dev dpkg-dev bzip2 xz-utils patch)
# When a patch changes the build system, autoreconf runs first, as Debian's
# dh_autoreconf does.
AUTORECONF_DEPS=(autoconf automake libtool)
# The build record inside an install.
INFO=share/lttng-hyper/lttng-tools.build

usage()
{
	cat <<EOF
Usage: $prog [OPTIONS]

Build lttng-tools $VERSION (Debian's $SOURCE source, Debian's patches, then
the ones listed in $srcdir/patches/series) into a private
prefix, and print that prefix. Run as root, or with the build dependencies
installed and a --prefix you may write to.

Options:
  -p, --prefix DIR        where the programs are (default: /opt/lttng-hyper/lttng-tools)
  -c, --cache DIR         cache folder (default: \${XDG_CACHE_HOME:-\$HOME/.cache}/lttng-hyper)
  -j, --jobs N            parallel make jobs (default: nproc)
  -h, --help              show this help

Layout: each build is installed in DIR-KEY, a folder beside DIR named by a
hash of what went into it (the pinned version, the series and every patch,
the configure options and the build flags), and DIR is a symbolic link to
the current one, switched atomically once a build is complete. configure's
prefix is DIR-KEY itself: the programs have their paths built in (sessiond
starts DIR-KEY/lib/lttng/libexec/lttng-consumerd, and every program finds
DIR-KEY/lib/liblttng-ctl.so through its RUNPATH), so a build always runs its
own consumerd and library, and cannot be moved. An interrupted build leaves
only a hidden .partial folder. The three newest builds are kept.

The cache holds the source (ltt-control_*.dsc, .orig.tar.bz2, .debian.tar.xz,
downloaded once; put them there by hand for an offline machine), the private
apt lists, the lock and the last build's log, not the installs: it is
per user and may be cleaned.

The private lttng-sessiond uses the same /var/run/lttng (and, as root, the
same ports) as the machine's: run one root session daemon at a time. It
reads its configuration from DIR-KEY/etc, not from /etc.
EOF
}

prefix=/opt/lttng-hyper/lttng-tools
cache=${XDG_CACHE_HOME:-$HOME/.cache}/lttng-hyper
jobs=

while [ $# -gt 0 ]; do
	case "$1" in
	-p|--prefix)
		prefix=${2:?$1 needs a value}
		shift 2
		;;
	-c|--cache)
		cache=${2:?$1 needs a value}
		shift 2
		;;
	-j|--jobs)
		jobs=${2:?$1 needs a value}
		shift 2
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

case "$prefix" in
/*)
	;;
*)
	die "the prefix must be an absolute path, not '$prefix'"
	;;
esac
# No trailing slashes: DIR-KEY is named after DIR.
while [ "${prefix%/}" != "$prefix" ] && [ "$prefix" != / ]; do
	prefix=${prefix%/}
done
[ "$(dirname "$prefix")" != "$prefix" ] || die "the prefix cannot be /"
case "$jobs" in
'')
	jobs=$(nproc)
	;;
*[!0-9]*|0)
	die "--jobs takes a positive number, not '$jobs'"
	;;
esac

need_cmd sha256sum coreutils
need_cmd flock util-linux

workdir=
partial=
trap 'rm -rf "$workdir" "$partial"; rm -f "$prefix.new.$$"' EXIT
# After the command at hand, which may have seen the signal as a failure.
trap 'die "interrupted"' INT TERM
workdir=$(mktemp -d "${TMPDIR:-/tmp}/lttng-hyper-lttng-tools.XXXXXX")

# --- the series ---------------------------------------------------------------

# quilt's format: one patch a line, relative to the patches folder, with an
# optional -pN; '#' starts a comment.
patchdir=$srcdir/patches
series=$patchdir/series
[ -f "$series" ] || die "no series file at $series"
# The key and the build use a copy of the series and its patches, so that
# a patch edited meanwhile is not built under the key of its former content.
snap=$workdir/patches
mkdir "$snap"
cp "$series" "$snap/series"
patches=()
strips=()
while read -r line || [ -n "$line" ]; do
	line=${line%%#*}
	read -r name opt rest <<< "$line" || true
	[ -n "$name" ] || continue
	[ -z "$rest" ] || die "$series: cannot read '$line' (a patch name and an optional -pN)"
	case "${opt:--p1}" in
	-p[0-9])
		;;
	*)
		die "$series: '$opt' after $name: only -pN is allowed there"
		;;
	esac
	case "/$name/" in
	//*|*/../*)
		die "$series: '$name' is not a path inside $patchdir"
		;;
	esac
	[ -f "$patchdir/$name" ] || die "$series lists $name, which is not in $patchdir"
	patches+=("$name")
	strips+=("${opt:--p1}")
done < "$snap/series"
for name in "${patches[@]}"; do
	mkdir -p "$(dirname "$snap/$name")"
	cp "$patchdir/$name" "$snap/$name"
done
for file in "$patchdir"/*; do
	case "${file##*/}" in
	series)
		;;
	*)
		case " ${patches[*]} " in
		*" ${file##*/} "*)
			;;
		*)
			log "note: ${file##*/} is not in the series; it is left out"
			;;
		esac
		;;
	esac
done

# --- the key --------------------------------------------------------------------

key_input()
{
	local i

	echo "recipe $RECIPE"
	echo "source $SOURCE $VERSION $DSC_SHA256"
	echo "prefix $prefix"
	echo "configure ${CONFIGURE_OPTIONS[*]}"
	echo "CFLAGS $BUILD_CFLAGS"
	echo "CPPFLAGS $BUILD_CPPFLAGS"
	echo "LDFLAGS $BUILD_LDFLAGS"
	echo "series $(sha256sum < "$snap/series" | cut -c 1-64)"
	for i in "${!patches[@]}"; do
		echo "patch ${patches[$i]} ${strips[$i]} $(sha256sum < "$snap/${patches[$i]}" | cut -c 1-64)"
	done
}

key=$(key_input | sha256sum | cut -c 1-12)
keyed=$prefix-$key
parent=$(dirname "$prefix")
base=${prefix##*/}

# The prefix must be a link this script made, or not exist.
check_prefix()
{
	local target

	if [ -L "$prefix" ]; then
		target=$(readlink "$prefix")
		case "$target" in
		"$base"-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f])
			;;
		*)
			die "$prefix is a link to $target, which this script did not make: remove it, or give another --prefix"
			;;
		esac
	elif [ -e "$prefix" ]; then
		die "$prefix exists and is not a link to a build of this script: remove it, or give another --prefix"
	fi
}

# Point the prefix at the keyed install, atomically (rename over the old
# link).
link_prefix()
{
	check_prefix
	[ "$(readlink "$prefix")" != "${keyed##*/}" ] || return 0
	ln -s "${keyed##*/}" "$prefix.new.$$" ||
		die "cannot write in $parent: run as root, or give a --prefix in a folder you own"
	mv -T "$prefix.new.$$" "$prefix" || {
		rm -f "$prefix.new.$$"
		die "cannot replace $prefix"
	}
}

check_prefix

# A keyed install appears whole (by a rename), so it needs no lock to be seen.
if [ -f "$keyed/$INFO" ]; then
	link_prefix
	# For the pruning of old builds: the newest used are kept.
	touch "$keyed" 2> /dev/null || true
	log "lttng-tools $VERSION with ${#patches[@]} patch(es) of the series, key $key: cached in $keyed"
	echo "$prefix"
	exit 0
fi

# --- lock and cache -------------------------------------------------------------

# One build at a time per cache: a second run waits, then finds the first
# one's install if it builds the same.
cdir=$cache/lttng-tools
mkdir -p "$cdir" || die "cannot create the cache folder $cdir"
exec 9>> "$cdir/lock" || die "cannot open the lock file $cdir/lock"
if ! flock -n 9; then
	log "waiting for another $prog (lock $cdir/lock)"
	flock 9
fi

if [ -f "$keyed/$INFO" ]; then
	link_prefix
	log "lttng-tools $VERSION, key $key: built meanwhile in $keyed"
	echo "$prefix"
	exit 0
fi

# --- building -------------------------------------------------------------------

mkdir -p "$parent" 2> /dev/null && [ -w "$parent" ] ||
	die "cannot write in $parent: run as root, or give a --prefix in a folder you own"
# The same prefix from another cache (so under another lock).
exec 8>> "$parent/.$base.lock" || die "cannot open $parent/.$base.lock"
if ! flock -n 8; then
	log "waiting for another build of $prefix (lock $parent/.$base.lock)"
	flock 8
fi
if [ -f "$keyed/$INFO" ]; then
	link_prefix
	log "lttng-tools $VERSION, key $key: built meanwhile in $keyed"
	echo "$prefix"
	exit 0
fi

# Does a patch change the build system?
autoreconf=0
for name in "${patches[@]}"; do
	if grep -Eq '^\+\+\+ [^[:space:]]*/(configure\.ac|Makefile\.am|m4/[^[:space:]]*)([[:space:]]|$)' \
			"$snap/$name"; then
		autoreconf=1
	fi
done

# Install what is missing, with the machine's own apt configuration.
deps=("${BUILD_DEPS[@]}")
if [ "$autoreconf" -eq 1 ]; then
	deps+=("${AUTORECONF_DEPS[@]}")
fi
missing=()
for pkg in "${deps[@]}"; do
	if ! dpkg-query -W -f='${Status}\n' "$pkg" 2> /dev/null | grep -q ' installed$'; then
		missing+=("$pkg")
	fi
done
if [ "${#missing[@]}" -gt 0 ]; then
	[ "$(id -u)" -eq 0 ] ||
		die "missing build dependencies; as root: apt-get install --no-install-recommends ${missing[*]}"
	log "installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	aptlog=$(mktemp "${TMPDIR:-/tmp}/lttng-hyper-apt.XXXXXX")
	partial=$aptlog
	# Another apt may hold dpkg's lock for a while: wait for it.
	if ! apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 \
			"${missing[@]}" > "$aptlog" 2>&1; then
		log "apt-get install failed; updating the package lists and retrying"
		apt-get update -q > "$aptlog" 2>&1 &&
			apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 \
				"${missing[@]}" > "$aptlog" 2>&1 ||
			die "apt-get install ${missing[*]} failed:
$(tail -n 10 "$aptlog")"
	fi
	rm -f "$aptlog"
	partial=
fi
need_cmd apt-get apt
need_cmd dpkg-source dpkg-dev
need_cmd patch patch
need_cmd make make

start=$SECONDS
phase_start=$SECONDS
times=
phase_done()
{
	times="$times, $1 $((SECONDS - phase_start)) s"
	phase_start=$SECONDS
}

# The source, once: a private sources list, lists and cache, so that the
# machine's apt sources, lists and preferences are neither read nor changed.
srcache=$cdir/source
dsc=$srcache/${SOURCE}_$VERSION.dsc
if [ ! -f "$dsc" ]; then
	aptdir=$cdir/apt
	mkdir -p "$srcache" "$aptdir/lists/partial" "$aptdir/cache/archives/partial" ||
		die "cannot create $aptdir"
	echo "$APT_SOURCE" > "$aptdir/sources.list"
	apt_opts=(-q -o "Dir::Etc::SourceList=$aptdir/sources.list" -o Dir::Etc::SourceParts=/dev/null
		-o "Dir::State::Lists=$aptdir/lists" -o "Dir::Cache=$aptdir/cache"
		-o Dir::Etc::Preferences=/dev/null -o Dir::Etc::PreferencesParts=/dev/null)
	if [ "$(id -u)" -eq 0 ]; then
		# apt's sandbox user may not write into a root-only cache.
		apt_opts+=(-o APT::Sandbox::User=root)
	fi
	log "fetching $SOURCE $VERSION (a private apt list of bookworm's sources, about 10 MB)"
	apt-get "${apt_opts[@]}" update > "$cdir/apt.log" 2>&1 ||
		die "apt-get update (private lists in $aptdir) failed:
$(tail -n 5 "$cdir/apt.log")"
	found=$(apt-cache "${apt_opts[@]}" showsrc --only-source "$SOURCE" 2> /dev/null |
		sed -n 's/^Version: //p' | sort -u | tr '\n' ' ')
	case " $found " in
	*" $VERSION "*)
		;;
	*)
		die "$SOURCE $VERSION is not in bookworm any more (it has: ${found:-nothing}).
Take ${SOURCE}_$VERSION.dsc and the two tarballs it names from
https://snapshot.debian.org/package/$SOURCE/$VERSION/ and put them in $srcache,
or move the series to the newer version (VERSION and DSC_SHA256 in $0)."
		;;
	esac
	download=$workdir/download
	mkdir "$download"
	(cd "$download" && apt-get "${apt_opts[@]}" source --download-only --only-source \
		"$SOURCE=$VERSION") > "$cdir/apt.log" 2>&1 ||
		die "apt-get source $SOURCE=$VERSION failed:
$(tail -n 5 "$cdir/apt.log")"
	[ "$(sha256sum < "$download/${dsc##*/}" | cut -c 1-64)" = "$DSC_SHA256" ] ||
		die "the downloaded ${dsc##*/} does not have the pinned hash $DSC_SHA256"
	# The .dsc last: it tells the source is complete.
	find "$download" -maxdepth 1 -type f ! -name '*.dsc' -exec mv {} "$srcache/" \;
	mv "$download/${dsc##*/}" "$dsc"
	rm -rf "$download"
	phase_done fetch
fi
[ "$(sha256sum < "$dsc" | cut -c 1-64)" = "$DSC_SHA256" ] ||
	die "$dsc does not have the pinned hash $DSC_SHA256: remove it and run again"
[ "$(sed -n 's/^Version: //p' "$dsc")" = "$VERSION" ] ||
	die "$dsc is not version $VERSION: remove it and run again"

# Unpack with Debian's patches, then the series.
buildlog=$workdir/build.log
src=$workdir/$SOURCE-${VERSION%-*}
fail()
{
	cp "$buildlog" "$cdir/build.log" 2> /dev/null || true
	die "$1; last lines of the log ($cdir/build.log):
$(tail -n 25 "$buildlog")"
}
log "unpacking $SOURCE $VERSION"
# The .dsc's signature cannot be checked without the debian-keyring
# package (a warning in the log); its pinned hash stands in for it.
dpkg-source -x "$dsc" "$src" > "$buildlog" 2>&1 || fail "dpkg-source -x failed"
[ "$(dpkg-parsechangelog -l "$src/debian/changelog" -S Version)" = "$VERSION" ] ||
	fail "the unpacked source is not version $VERSION"
for i in "${!patches[@]}"; do
	name=${patches[$i]}
	log "applying $name"
	# No fuzz, as dpkg-source and quilt: the series must apply exactly as
	# it will in a Debian package (doc/lttng-tools-patches.md).
	echo "== patch ${strips[$i]} $name" >> "$buildlog"
	patch -d "$src" "${strips[$i]}" --batch --forward --fuzz=0 --no-backup-if-mismatch \
		< "$snap/$name" >> "$buildlog" 2>&1 ||
		fail "$name does not apply to $SOURCE $VERSION (after Debian's patches and the series before it)"
done
# The tarball's man pages are prebuilt, and "lttng CMD --help" shows this
# install's own (man -M). Without asciidoc and xmlto, make installs them
# as they are, unless a page looks older than its source: so a patch that
# changes a page's source must change the page too, and then every page is
# made newer than the sources the patches touched.
man_changed=$(for name in "${patches[@]}"; do
	sed -n 's|^+++ [^/[:space:]]*/\(doc/man/[^[:space:]]*\).*|\1|p' "$snap/$name"
done | sort -u)
for txt in $(echo "$man_changed" | grep '\.txt$'); do
	echo "$man_changed" | grep -qx "${txt%.txt}" ||
		fail "the series changes $txt but not its prebuilt page ${txt%.txt}: regenerate it (asciidoc and xmlto, as lttng-tools' doc/man/Makefile.am does) in the same patch"
done
find "$src/doc/man" -name '*.[1378]' -exec touch {} +
# lttng-tools' own way to mark a distributor's build: "lttng --version"
# ends with the name, "lttng version" lists the description and the
# patches, and the daemons log them at startup in verbose mode.
echo "lttng-hyper-$key" > "$src/version/extra_version_name"
echo "Debian $SOURCE $VERSION with the lttng-hyper series" > "$src/version/extra_version_description"
for name in "${patches[@]}"; do
	cp "$snap/$name" "$src/version/extra_patches/${name//\//-}"
done
if [ "$autoreconf" -eq 1 ]; then
	log "a patch changes the build system: running autoreconf"
	(cd "$src" && autoreconf -f -i) >> "$buildlog" 2>&1 || fail "autoreconf failed"
fi
phase_done unpack

log "configuring with --prefix=$keyed ${CONFIGURE_OPTIONS[*]}"
(cd "$src" && ./configure --prefix="$keyed" "${CONFIGURE_OPTIONS[@]}" \
	CFLAGS="$BUILD_CFLAGS -ffile-prefix-map=$src=." CPPFLAGS="$BUILD_CPPFLAGS" \
	LDFLAGS="$BUILD_LDFLAGS") >> "$buildlog" 2>&1 || fail "configure failed"
phase_done configure

log "building with $jobs jobs (under a minute on 2 cores)"
make -C "$src" -j "$jobs" >> "$buildlog" 2>&1 || fail "make failed"
phase_done make

# Install into a hidden folder beside the prefix (the same file system),
# then rename it into place: a DIR-KEY folder is always complete.
partial=$parent/.$base-$key.partial
rm -rf "$partial"
make -C "$src" install DESTDIR="$partial" >> "$buildlog" 2>&1 || fail "make install failed"
staged=$partial$keyed
[ -x "$staged/bin/lttng" ] && [ -x "$staged/bin/lttng-sessiond" ] &&
	[ -x "$staged/bin/lttng-relayd" ] && [ -x "$staged/lib/lttng/libexec/lttng-consumerd" ] ||
	fail "make install did not install lttng, lttng-sessiond, lttng-relayd and lttng-consumerd"
# libtool's archives: Debian ships none either.
find "$staged/lib" -name '*.la' -delete
mkdir -p "$(dirname "$staged/$INFO")"
{
	echo "# Built by $prog on $(date -u +%Y-%m-%dT%H:%M:%SZ), key $key."
	echo "# Inputs (the key is a hash of these):"
	key_input
} > "$staged/$INFO"
phase_done install

mv -T "$staged" "$keyed" || fail "cannot move the install into $keyed"
rm -rf "$partial"
partial=
# A last check before the prefix points to it: the programs run, with
# their own library.
for prog_name in lttng lttng-sessiond; do
	if ! "$keyed/bin/$prog_name" --version > "$workdir/version" 2>&1; then
		partial=$keyed
		fail "$keyed/bin/$prog_name --version failed: $(cat "$workdir/version")"
	fi
done
link_prefix
cp "$buildlog" "$cdir/build.log"
log "built in $((SECONDS - start)) s (${times#, }): $(du -sh "$keyed" | cut -f 1) in $keyed"

# Keep the three newest builds (the current one always).
find "$parent" -mindepth 1 -maxdepth 1 -type d \
	-name "$base-[0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f][0-9a-f]" \
	! -path "$keyed" -printf '%T@ %p\n' | sort -rn | tail -n +3 | cut -d ' ' -f 2- |
	while read -r old; do
		log "removing the older build $old"
		rm -rf "$old"
	done
echo "$prefix"
