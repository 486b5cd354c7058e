/* SPDX-License-Identifier: GPL-2.0-only */
/* Defaults shared by the lttng-hyper daemons and tools, in one place. */
#ifndef LH_COMMON_DEFAULTS_H
#define LH_COMMON_DEFAULTS_H

/* Where stock LTTng expects a relay daemon (lttng-relayd's own defaults). */
#define LH_DEFAULT_CONTROL_PORT		5342
#define LH_DEFAULT_DATA_PORT		5343
#define LH_DEFAULT_LIVE_PORT		5344
#define LH_DEFAULT_CONTROL_URL		"tcp://127.0.0.1:5342"
#define LH_DEFAULT_DATA_URL		"tcp://127.0.0.1:5343"
#define LH_DEFAULT_LIVE_URL		"tcp://127.0.0.1:5344"

/* DATA credit granted per logical connection, in bytes. */
#define LH_DEFAULT_WINDOW		(2U << 20)
/* Largest DATA frame we send. Larger frames mean fewer system calls. */
#define LH_DEFAULT_DATA_CHUNK		(256U << 10)
/* Stop reading local sockets while this much waits to go on the channel. */
#define LH_DEFAULT_OUT_HIGH_WATER	(4U << 20)
/* A peer that lets this much pile up on the channel is stalled or hostile. */
#define LH_DEFAULT_OUT_HARD_LIMIT	(64U << 20)
/* Logical connections one VM may hold open at once. */
#define LH_DEFAULT_MAX_CONNS		64

/*
 * The guest gives up on a silent host after this long: every logical
 * connection is reset, so lttng stop/destroy in the guest return.
 */
#define LH_DEFAULT_HOST_TIMEOUT_MS	10000
/* The guest pings the host this often, so silence means a stall. */
#define LH_DEFAULT_PING_INTERVAL_MS	1000
/* The relay resets a connection whose lttng-relayd stalls this long. */
#define LH_DEFAULT_RELAYD_TIMEOUT_MS	10000

/* Reconnection back-off bounds for channels and lttng-relayd. */
#define LH_RECONNECT_MIN_MS		100
#define LH_RECONNECT_MAX_MS		2000

/* Largest relayd control message the relay buffers and inspects. */
#define LH_DEFAULT_MAX_CONTROL_PAYLOAD	(16U << 20)
/*
 * Largest packet (data_size + padding_size) one frame of a data port may
 * make lttng-relayd write: a sub-buffer, which LTTng bounds far lower.
 */
#define LH_DEFAULT_MAX_DATA_FRAME	(64U << 20)
/*
 * What the host relay may hold for one VM (queues, partial messages,
 * pipes, records), the VMs nested in it included. A busy VM holds about
 * a window and a pipe per data connection; the least allowed is one
 * connection's worth with room to spare.
 */
#define LH_DEFAULT_MAX_MEMORY		(256U << 20)
#define LH_MIN_MAX_MEMORY		(8U << 20)
/* Streams one VM may open on the host (each costs open files in lttng-relayd). */
#define LH_DEFAULT_MAX_STREAMS		4096
/* Sessions one VM may create on the host. */
#define LH_DEFAULT_MAX_SESSIONS		64
/*
 * lttng-relayd keeps a partial index for each data packet whose SEND_INDEX
 * has not come, and for each SEND_INDEX whose packet has not, in a hash
 * table of the stream whose resizes can deadlock lttng-relayd 2.13.9
 * (lttng-hyper-relayd(8), SECURITY): the relay bounds both, per stream.
 * lttng-consumerd sends a packet's index right after the packet and waits
 * for its answer before the next one, which lttng-hyperd's
 * --early-index-ack gives 8 ahead: at most 9 packets are ahead. An index
 * gets ahead of its packet while the packet waits on its own path: a data
 * port's virtio ring (128 buffers, 2 or more a packet) and socket hold
 * about 100 packets of a page.
 */
#define LH_MAX_PACKETS_AHEAD		64
#define LH_MAX_INDEXES_AHEAD		256
/* VMs nested below one VM channel, at any depth, that the host tells apart. */
#define LH_MAX_NESTED_VMS		64
/* Of them, those a VM the channel's VM runs may account for, itself included. */
#define LH_MAX_NESTED_PER_CHILD		16
/* Levels of virtualization a VM path may span, the channel's own VM included. */
#define LH_MAX_NESTED_DEPTH		8

/*
 * The relay's own file in a session's directory (the clock correction,
 * doc/clock-sync.md). The relay refuses a guest's stream of that name,
 * which would put a file of the guest's where lttng-hyper looks for it.
 */
#define LH_SYNC_FILE_NAME		"lttng-hyper-sync"

/*
 * The host relay's control socket (lttng-hyper status and top), in
 * $LTTNG_HOME/.lttng/ unless --control-socket says otherwise.
 */
#define LH_RELAYD_CONTROL_SOCK_NAME	"lttng-hyper-relayd.sock"

#endif /* LH_COMMON_DEFAULTS_H */
