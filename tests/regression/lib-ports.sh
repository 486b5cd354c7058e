# SPDX-License-Identifier: GPL-2.0-only
# Free TCP ports for the daemons of a test or a benchmark: sourced by
# tests/regression/lib.sh and by the benchmarks that boot guests.

# lh_free_ports COUNT: print the first of COUNT consecutive TCP ports that no
# socket uses, or fail. Others run tests on this machine too: never the
# defaults. Below the kernel's ephemeral range, where the local port of a
# connection made meanwhile could take one of them before a daemon binds it.
lh_free_ports()
{
	local busy base i low

	read -r low _ </proc/sys/net/ipv4/ip_local_port_range
	busy=" $(ss -Htan | awk '{ n = split($4, a, ":"); print a[n] }' | tr '\n' ' ') "
	for _ in $(seq 100); do
		base=$((20000 + RANDOM % ((low - 20000 - $1) / 10) * 10))
		for ((i = 0; i < $1; i++)); do
			[[ $busy == *" $((base + i)) "* ]] && break
		done
		if [ "$i" -eq "$1" ]; then
			echo "$base"
			return 0
		fi
	done
	return 1
}
