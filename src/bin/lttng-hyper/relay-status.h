/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The client of lttng-hyper-relayd's control socket, for lttng-hyper
 * status and top: ask for the status, read it into a struct lh_status,
 * compute rates between two samples, and format the table both show.
 * The reply is described in lttng-hyper-relayd(8), "CONTROL SOCKET".
 */
#ifndef LH_LTTNG_HYPER_RELAY_STATUS_H
#define LH_LTTNG_HYPER_RELAY_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The reply version this client reads. */
#define LH_STATUS_VERSION	1
/* A reply beyond this is refused: the relay's is a few KB per VM. */
#define LH_STATUS_MAX_REPLY	(4U << 20)
/* The relay must answer within this. */
#define LH_STATUS_TIMEOUT_MS	5000

struct json_object;

/* Strings point into the parsed reply: valid until lh_status_free(). */
struct lh_status_vm {
	const char *name;
	const char *parent;		/* NULL for a --vm VM */
	const char *channel;		/* NULL for a nested VM */
	const char *state;
	unsigned int depth;
	double state_s;
	uint64_t ups, connections, sessions, streams;
	uint64_t bytes_in, packets, events_discarded;
	bool has_clock;
	int64_t clock_offset_ns;	/* host minus guest */
	uint64_t clock_error_ns;
	const char *last_error;		/* NULL: none */
	double last_error_age_s;
	/* Set by lh_status_rates(); false on a first sample or a restart. */
	bool has_rate;
	double mb_per_s, pkt_per_s;
};

struct lh_status {
	struct json_object *root;	/* the whole reply */
	struct {
		int64_t pid;
		const char *package_version;
		const char *output;	/* NULL when the relay writes no trace itself */
		const char *relayd;
		double uptime_s;
		uint64_t time_ns, monotonic_ns;
	} relay;
	struct lh_status_vm *vms;	/* in tree order */
	size_t nr_vms;
};

/*
 * Ask the relay at socket path for its status: 0 and *st filled (free it
 * with lh_status_free()), or -1 and why in err, ready to show the user.
 */
int lh_status_query(const char *path, struct lh_status *st, char *err, size_t err_len);

/*
 * Read a reply of len bytes (need not end with a NUL) into *st. A reply
 * {"error": MESSAGE} is an error too, with the relay's message.
 * Returns 0, or -1 and why in err.
 */
int lh_status_parse(const char *text, size_t len, struct lh_status *st, char *err,
		size_t err_len);

void lh_status_free(struct lh_status *st);

/*
 * Set each VM's rates in cur from prev, the sample before it (NULL for
 * none), VMs matched by name. A counter that went down, or a relay that
 * is another process now, means the counters restarted: no rate.
 */
void lh_status_rates(const struct lh_status *prev, struct lh_status *cur);

/* The number of VMs up (state "up"). */
size_t lh_status_vms_up(const struct lh_status *st);

/* Seconds as "42s", "3m07s", "2h05m" or "3d04h". */
void lh_status_format_duration(double s, char *buf, size_t len);

/*
 * "relay pid 1234 (0.1.0), up 3m07s, lttng-relayd up, 2/3 VMs up", as the
 * relay says it: show it through lh_status_fit().
 */
void lh_status_summary(const struct lh_status *st, char *buf, size_t len);

/*
 * text into out (len bytes) as at most width columns (0: no limit),
 * control characters as '?', and with ascii every other byte beyond
 * ASCII too: what a terminal may be given of a string from the relay.
 * Returns the length of text that fitted.
 */
size_t lh_status_fit(const char *text, unsigned int width, bool ascii, char *out, size_t len);

enum lh_status_line {
	LH_STATUS_LINE_HEADER,
	LH_STATUS_LINE_VM_UP,
	LH_STATUS_LINE_VM_DOWN,		/* a state other than "up" */
};

struct lh_status_table_opts {
	/* Columns to fill: LAST ERROR is cut to fit. 0: no limit. */
	unsigned int width;
	/* MB/S IN and PKT/S (lh_status_rates()) instead of the totals. */
	bool rates;
	/* The terminal shows ASCII only: "us", and '?' for other bytes. */
	bool ascii;
};

/*
 * The table of VMs, one call of line() per line, header first: nested
 * VMs indented two spaces per depth under their parent, by the last
 * component of their name. Control characters in the relay's strings
 * (VM names come from guests) are shown as '?'.
 */
void lh_status_table(const struct lh_status *st, const struct lh_status_table_opts *opts,
		void (*line)(const char *text, enum lh_status_line kind, void *arg), void *arg);

#endif /* LH_LTTNG_HYPER_RELAY_STATUS_H */
