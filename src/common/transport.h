/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kinds of hyper channel (lttng-hyper/channel.h), each behind one
 * small table of operations in a file of its own (transport-*.c), listed
 * once in transport.c: what its URI looks like, how its socket or device
 * is opened, and what a new connection on it needs. The code that runs a
 * channel (endpoint.c, vm-channel.c, lttng-hyperd) asks the table and
 * never knows the kind, so that a new kind is one file and one line of
 * transport.c.
 */
#ifndef LH_COMMON_TRANSPORT_H
#define LH_COMMON_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <lttng-hyper/channel.h>

/* Which end of a hyper channel may use a kind (lh_transport.ends). */
enum lh_transport_end {
	/* lttng-hyperd's -c: the guest's way to its host. */
	LH_TRANSPORT_GUEST_END = 1U << 0,
	/* --vm and --vm-data: the host's end of one VM's channel or port. */
	LH_TRANSPORT_HOST_END = 1U << 1,
};

struct lttng_hyper_transport {
	/* The URI's prefix, up to the address: "unix:", "tcp://". */
	const char *scheme;
	/* The whole syntax, for messages: "unix:PATH". */
	const char *syntax;
	/* What it does, for --help: "connect (QEMU's server=on socket)". */
	const char *help;
	/* Takes its peers (one at a time), rather than connecting to one. */
	bool listens;
	unsigned int ends;		/* enum lh_transport_end */
	/*
	 * Parse rest, what follows the scheme in str, into uri's address
	 * fields. Returns 0, or -1 with a message in err.
	 */
	int (*parse)(const char *rest, const char *str, struct lttng_hyper_channel_uri *uri,
			char *err, size_t errlen);
	/* Write the address as parse reads it back (without the scheme). */
	void (*format)(const struct lttng_hyper_channel_uri *uri, char *buf, size_t len);
	/*
	 * Connect (or open the device), or listen: a non-blocking,
	 * close-on-exec fd, or -1 with errno set. A connect may still be in
	 * progress: the fd turns writable when it completes.
	 */
	int (*open)(const struct lttng_hyper_channel_uri *uri);
	/* Optional: socket options of a new connection. Returns 0, or -1 with errno. */
	int (*tune)(int fd);
	/* Optional: the listener is closed; remove what it left behind. */
	void (*unlisten)(const struct lttng_hyper_channel_uri *uri);
	/*
	 * Optional: make the address independent of the working directory
	 * (a daemon changes it to /). Returns 0, or -1 with a message in err.
	 */
	int (*absolute)(struct lttng_hyper_channel_uri *uri, char *err, size_t errlen);
	/*
	 * Optional: the system object the address names, when two kinds can
	 * name one (unix: and unix-listen: on one path are one socket).
	 * Same non-NULL key, same object.
	 */
	const char *(*object)(const struct lttng_hyper_channel_uri *uri);
	/*
	 * Optional: why its last connection on this address ended, when the
	 * kind knows more than its stream's end told (a fault of the peer's),
	 * once. Returns an lh_log level with the words in buf, or -1.
	 */
	int (*last_words)(const struct lttng_hyper_channel_uri *uri, char *buf, size_t len);
};

extern const struct lttng_hyper_transport lh_transport_virtio_serial;
extern const struct lttng_hyper_transport lh_transport_unix;
extern const struct lttng_hyper_transport lh_transport_unix_listen;
extern const struct lttng_hyper_transport lh_transport_tcp;
extern const struct lttng_hyper_transport lh_transport_tcp_listen;
extern const struct lttng_hyper_transport lh_transport_vsock;
extern const struct lttng_hyper_transport lh_transport_vsock_listen;
extern const struct lttng_hyper_transport lh_transport_ivshmem;
extern const struct lttng_hyper_transport lh_transport_ivshmem_host;

/* The kind whose scheme starts str, or NULL. */
const struct lttng_hyper_transport *lh_transport_find(const char *str);
/* The syntaxes of the kinds that end may use, for messages ("unix:PATH, ..."). */
void lh_transport_syntaxes(unsigned int ends, char *buf, size_t len);
/* For --help: a line per kind that end may use, its syntax and help, indented. */
void lh_transport_usage(FILE *out, unsigned int ends, int indent);

/* Address parsers the kinds share with the relayd URLs (channel.c). */
int lh_parse_host_port(const char *p, const char *str, char *host, size_t hostlen,
		uint16_t *port, char *err, size_t errlen);
int lh_parse_u32(const char *b, size_t len, const char *str, const char *what,
		uint32_t *v, char *err, size_t errlen);
/* Parse a path, the rest of str: not empty, fits sockaddr_un's sun_path. */
int lh_parse_path(const char *rest, const char *str, const char *what,
		struct lttng_hyper_channel_uri *uri, char *err, size_t errlen);
/* For the kinds whose address is uri->path: format, absolute (the "what path"), object. */
void lh_path_format(const struct lttng_hyper_channel_uri *uri, char *buf, size_t len);
int lh_path_absolute(struct lttng_hyper_channel_uri *uri, const char *what, char *err,
		size_t errlen);
const char *lh_path_object(const struct lttng_hyper_channel_uri *uri);
/* Connect to a unix stream socket: a non-blocking, close-on-exec fd, or -1 with errno. */
int lh_unix_connect(const char *path);

#endif /* LH_COMMON_TRANSPORT_H */
