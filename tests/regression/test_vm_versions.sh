#!/bin/bash
# SPDX-License-Identifier: GPL-2.0-only
# LTTng 2.16 throughout, in a real VM (QEMU): the guest image holds sid's
# lttng-tools and lttng-ust (in a chroot of the image, from the root that
# extras/lttng-versions/build-root.sh makes) and lttng-modules 2.16 built
# for its kernel. It traces its kernel and user space in one session, in
# CTF 2 (2.16's default), with its wall clock two days off (QEMU's RTC).
# The host relay's own lttng-relayd is sid's 2.16 (--relayd-path), so the
# clock is corrected in flight and by the final fix, and babeltrace2 2.1
# reads both domains on the host's timeline.

. "$(dirname "$0")/lib.sh"

NUM_EVENTS=20000
# One vCPU, as test_vm_kernel.sh: a two-vCPU TCG guest of this test, on a
# host running two more QEMU guests and a build, stalled once in four runs
# (soft lockups of lttng-consumerd and lttng-hyperd on both vCPUs).
SMP=1
# System calls in flight when tracing starts or stops (test_vm_kernel.sh).
INFLIGHT_PER_CPU=8
VM=v216
SUITE=sid

lh_init 16
if ! command -v qemu-system-x86_64 >/dev/null; then
	skip $((LH_PLANNED - LH_RAN)) "qemu-system-x86_64 not found (apt-get install qemu-system-x86)"
	exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! lh_root_get "$SUITE"; then
	skip $((LH_PLANNED - LH_RAN)) "no $SUITE root for LTTng 2.16: ${LH_ROOT_ERROR:-not root}"
	exit 0
fi
lh_pick_ports 3
diag "$SUITE root $LH_ROOT: lttng-tools $(lh_root_version "$LH_ROOT" lttng_tools)," \
	"lttng-ust $(lh_root_version "$LH_ROOT" lttng_ust)"

LH_ROOT_GEN_DIR=$LH_TMP/root-gen
lh_root_gen_events "$LH_ROOT" "$LH_ROOT_GEN_DIR" >"$LH_TMP/root-gen.log" 2>&1
ok $? "gen-events built in the $SUITE root, against its lttng-ust" ||
	bail_out "$(tail -n 3 "$LH_TMP/root-gen.log")"
SID_BIN=$LH_TMP/sid-bin
lh_root_wrap "$SID_BIN" "$LH_ROOT" "$LH_TMP/sid-state" "$LH_OUT" ||
	bail_out "no wrappers for the $SUITE root"

# The image: a failure to fetch the kernel or lttng-modules-dkms (no
# package list, no registry) means it cannot be built here.
log=$LH_TMP/build-guest.log
(cd "$top_builddir" && timeout 900 "$LH_VM_DIR/build-guest.sh" --kernel-tracing \
	--lttng-root "$LH_ROOT" -o "$LH_TMP/guest" --hyperd "$LH_HYPERD" \
	--gen-events "$LH_ROOT_GEN_DIR/gen-events") >"$log" 2>&1
status=$?
if [ $status -ne 0 ] && grep -q -E 'apt-get download|package list|apt-get update' "$log"; then
	skip $((LH_PLANNED - LH_RAN)) "lttng-modules 2.16 cannot be built here: $(grep -m 1 error: "$log")"
	exit 0
fi
grep -q '^lttng-modules-dkms 2\.16' "$LH_TMP/guest/versions" &&
	grep -q '^lttng-root lttng_tools 2\.16' "$LH_TMP/guest/versions"
ok $? "the guest image holds LTTng 2.16: $(grep -E '^lttng-(modules|root lttng_)' \
	"$LH_TMP/guest/versions" | tr '\n' ' ')" || bail_out "$(tail -n 5 "$log")"

lh_relay_start main --relayd-path "$SID_BIN/lttng-relayd" --vm "$VM=unix:$LH_TMP/$VM.sock"
ok $? "lttng-hyper-relayd started, its own lttng-relayd the root's" ||
	bail_out "$(tail -n 5 "$LH_TMP/relay-main.log")"

rtc=$(date -u -d '-2 days' +%Y-%m-%dT%H:%M:%S)
start_s=$(date +%s)
lh_vm_boot guest "$VM" --smp "$SMP" --rtc-base "$rtc" --append "lh.events=$NUM_EVENTS lh.kernel=1"
lh_vm_wait "$LH_VM_PID" guest
ok $? "the guest traced its kernel and $NUM_EVENTS events, and powered off ($(($(date +%s) - start_s)) s)" ||
	diag "$(lh_vm_console guest | tail -n 8)"
end_s=$(date +%s)
diag "$(lh_vm_console guest | grep -E 'LTTng of|wall clock|tracing the kernel|kernel tracer')"
lh_vm_console guest | grep -q 'tracing the kernel: '
ok $? "the guest's lttng-sessiond 2.16 loaded lttng-modules 2.16 and enabled its events"

# The final fix runs when the metadata stream closes on the host, before
# the guest's lttng destroy returns.
dir=$(find "$LH_OUT/$VM" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -n "$dir" ] && [ -f "$dir/kernel/metadata" ] && [ -n "$(find "$dir/ust" -name metadata -type f)" ]
ok $? "both domains arrived in one session: ${dir#"$LH_OUT"/}/{kernel,ust}"

# CTF 2 metadata: a JSON text sequence, whose environment names the tracer.
tracer()
{
	python3 -c '
import json, sys
for frag in open(sys.argv[1], encoding="utf-8").read().split("\x1e"):
    if frag.strip():
        f = json.loads(frag)
        if f.get("type") == "trace-class":
            e = f.get("environment", {})
            print("%s %s.%s" % (e.get("domain"), e.get("tracer_major"), e.get("tracer_minor")))' "$1"
}
kmeta=$(tracer "$dir/kernel/metadata")
umeta=$(tracer "$(find "$dir/ust" -name metadata -type f | head -n 1)")
[ "$kmeta" = "kernel 2.16" ] && [ "$umeta" = "ust 2.16" ]
ok $? "both are CTF 2 traces of tracer 2.16: $kmeta, $umeta"

lh_kernel_checks "$dir/kernel" $((SMP * INFLIGHT_PER_CPU)) "$SID_BIN"

[ "${LH_KFIRST_S:-0}" -ge $((start_s - 5)) ] && [ "${LH_KLAST_S:-0}" -le $((end_s + 5)) ]
ok $? "the kernel events are dated within the run ($LH_KFIRST_S..$LH_KLAST_S, run" \
	"$start_s..$end_s), not two days early"

PATH="$SID_BIN:$PATH" lh_trace_stats "$dir/ust" && lh_trace_complete "$NUM_EVENTS"
ok $? "user space, same session: $(lh_trace_describe)"
[ "$LH_FIRST_S" -ge $((start_s - 5)) ] && [ "$LH_LAST_S" -le $((end_s + 5)) ]
ok $? "the user-space events are dated within the run ($LH_FIRST_S..$LH_LAST_S)"

sync=$dir/lttng-hyper-sync
[ "$(lh_sync_get "$sync" status)" = applied ] && [ "$(lh_sync_get "$sync" vm)" = "$VM" ]
ok $? "the final fix was applied to the metadata files (sync file: status" \
	"$(lh_sync_get "$sync" status), $(lh_sync_get "$sync" metadata))"

kill -0 "$(lh_relay_pid main)" 2>/dev/null
ok $? "lttng-hyper-relayd still running"
