# SPDX-License-Identifier: GPL-2.0-only
# Other LTTng versions for the regression tests (sourced by lib.sh): a
# Debian root made by extras/lttng-versions/build-root.sh (sid: LTTng 2.16,
# babeltrace2 2.1), whose programs run chrooted by in-root.sh. A guest role
# given -r ROOT finds wrappers for the root's lttng, lttng-sessiond and
# gen-events first in its PATH, so the role's functions run them unchanged;
# its lttng-hyperd stays the host's, on the same loopback.

LH_BUILD_ROOT=$top_srcdir/extras/lttng-versions/build-root.sh
LH_IN_ROOT=$top_srcdir/extras/lttng-versions/in-root.sh

# lh_root_get SUITE: the path of SUITE's root in LH_ROOT, built if it is
# not cached yet (about 1.5 min, from Debian's mirror). Fails, with
# build-root.sh's reason in LH_ROOT_ERROR, when it cannot be had.
lh_root_get()
{
	local out

	if out=$("$LH_BUILD_ROOT" --print-path "$1" 2>&1) ||
			out=$("$LH_BUILD_ROOT" "$1" 2>&1); then
		LH_ROOT=$(tail -n 1 <<<"$out")
		[ -x "$LH_ROOT/usr/bin/lttng" ] && return 0
		LH_ROOT_ERROR="$LH_ROOT has no lttng"
		return 1
	fi
	LH_ROOT_ERROR=$(tail -n 1 <<<"$out")
	return 1
}

# lh_root_version ROOT KEY: a package version the root recorded
# (lttng_tools, lttng_ust, babeltrace2).
lh_root_version()
{
	sed -n "s/^$2=//p" "$1/.lttng-hyper-versions"
}

# lh_root_gen_events ROOT DIR: build tests/utils/gen-events in ROOT,
# against its lttng-ust, as DIR/gen-events.
lh_root_gen_events()
{
	mkdir -p "$2" || return 1
	"$LH_IN_ROOT" -B "$top_srcdir" -b "$2" "$1" \
		gcc -std=gnu11 -O2 -I"$top_srcdir" -I"$top_srcdir/src" -I"$top_srcdir/tests/utils" \
		-o "$2/gen-events" "$top_srcdir/tests/utils/gen-events.c" \
		"$top_srcdir/tests/utils/gen-events-tp.c" "$top_srcdir/src/common/number.c" \
		-llttng-ust -ldl
}

# lh_root_wrap DIR ROOT STATE [BIND...]: DIR/NAME runs NAME in ROOT,
# reaching the session daemon of STATE (in-root.sh --state), with DIR, the
# BIND folders and LTTNG_HOME at their own paths, for lttng,
# lttng-sessiond, lttng-relayd, babeltrace2, and gen-events when
# lh_root_gen_events built it in LH_ROOT_GEN_DIR. lttng-sessiond keeps
# libfaketime's variables (lh_guest -w), which in-root.sh would drop with
# the host's LD_PRELOAD: a copy of the library in DIR is preloaded inside.
lh_root_wrap()
{
	local dir=$1 root=$2 state=$3 name cmd binds='' b

	shift 3
	for b in "$@" ${LH_ROOT_GEN_DIR:+"$LH_ROOT_GEN_DIR"}; do
		binds="$binds -b '$b'"
	done
	mkdir -p "$dir" "$state" || return 1
	if [ -r "$LH_FAKETIME_LIB" ]; then
		cp "$LH_FAKETIME_LIB" "$dir/libfaketime.so.1" || return 1
	fi
	for name in lttng lttng-sessiond lttng-relayd babeltrace2 \
			${LH_ROOT_GEN_DIR:+gen-events}; do
		cmd=$name
		if [ "$name" = gen-events ]; then
			cmd=$LH_ROOT_GEN_DIR/gen-events
		fi
		cat >"$dir/$name" <<EOF || return 1
#!/bin/bash
# $name of $root (tests/regression/lib-root.sh)
set -- '$cmd' "\$@"
if [ -n "\${FAKETIME:-}" ] && [ $name = lttng-sessiond ]; then
	set -- env LD_PRELOAD='$dir/libfaketime.so.1' FAKETIME="\$FAKETIME" \\
		DONT_FAKE_MONOTONIC="\${DONT_FAKE_MONOTONIC:-}" "\$@"
fi
exec '$LH_IN_ROOT' -s '$state' -b '$dir' $binds '$root' "\$@"
EOF
		chmod +x "$dir/$name" || return 1
	done
}
