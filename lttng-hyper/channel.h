/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * Hyper channel addresses and how to open them.
 *
 * A channel is written as a URI:
 *   virtio-serial:PATH       a virtio-serial port in the guest (a character device)
 *   unix:PATH                connect to a unix stream socket (QEMU's server=on chardev)
 *   unix-listen:PATH         listen on a unix stream socket, one peer at a time
 *   tcp://HOST:PORT          connect over TCP
 *   tcp-listen://ADDR:PORT   listen on TCP, one peer at a time
 *   vsock:CID:PORT           connect over vsock to context CID (the host: a guest's)
 *   vsock-listen:PORT        listen on vsock, one peer at a time (in the guest)
 *   ivshmem:PATH             the guest's ivshmem shared memory (its BAR2 resource file)
 *   ivshmem-host:PATH        the host's file of a VM's ivshmem shared memory
 *   ivshmem...:PATH,bell=BELL  and a bell to wake the other end with: the guest's
 *                            virtio-serial port, the host's socket of it
 */
#ifndef LTTNG_HYPER_CHANNEL_H
#define LTTNG_HYPER_CHANNEL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LTTNG_HYPER_DEFAULT_CHANNEL "virtio-serial:/dev/virtio-ports/org.lttng.hyper.0"

/* A kind of channel, and how it is opened (src/common/transport.h). */
struct lttng_hyper_transport;

struct lttng_hyper_channel_uri {
	const struct lttng_hyper_transport *transport;
	/* virtio-serial, unix and ivshmem: the path. tcp: the host or address. */
	char path[sizeof(((struct sockaddr_un *) 0)->sun_path)];
	char host[256];
	uint16_t port;
	/* ivshmem: the bell, if any (empty: the ends poll the memory). */
	char bell[sizeof(((struct sockaddr_un *) 0)->sun_path)];
	/* vsock: the context id (none when listening) and port. */
	uint32_t cid;
	uint32_t vsock_port;
};

/* Parse a channel URI. Returns 0, or -1 with a message in err. */
int lttng_hyper_channel_parse(const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen);
/* Write the canonical form of uri into buf. */
void lttng_hyper_channel_format(const struct lttng_hyper_channel_uri *uri,
		char *buf, size_t len);
bool lttng_hyper_channel_is_listener(const struct lttng_hyper_channel_uri *uri);
/*
 * Open a connecting channel (virtio-serial, unix, tcp, vsock, ivshmem). Returns a
 * non-blocking, close-on-exec fd, or -1 with errno set (EINVAL for a
 * listening one). A connect may still be in progress (the fd becomes
 * writable when it completes).
 */
int lttng_hyper_channel_connect(const struct lttng_hyper_channel_uri *uri);
/*
 * Open a listening channel (unix-listen, tcp-listen, vsock-listen): a
 * non-blocking, close-on-exec listening socket, or -1 with errno set
 * (EINVAL for a connecting one). A stale unix socket file at the path is
 * replaced.
 */
int lttng_hyper_channel_listen(const struct lttng_hyper_channel_uri *uri);
/*
 * Accept a peer on a listening channel's socket, and set what a new
 * connection of that kind needs (TCP_NODELAY). Returns a non-blocking,
 * close-on-exec fd, or -1 with errno set.
 */
int lttng_hyper_channel_accept(const struct lttng_hyper_channel_uri *uri, int listen_fd);

/*
 * Parse "tcp://ADDR:PORT" (an lttng port URL, as lttng-relayd's -C/-D/-L
 * take). Returns 0, or -1 with a message in err.
 */
int lttng_hyper_tcp_url_parse(const char *str, char *host, size_t hostlen,
		uint16_t *port, char *err, size_t errlen);
/*
 * Parse "net://HOST[:CTRL[:DATA]]" (as lttng create --set-url takes);
 * ports default to 5342 and 5343.
 */
int lttng_hyper_net_url_parse(const char *str, char *host, size_t hostlen,
		uint16_t *ctrl_port, uint16_t *data_port, char *err, size_t errlen);

/* Non-blocking, close-on-exec TCP socket connecting to host:port. */
int lttng_hyper_tcp_connect(const char *host, uint16_t port);
/* Non-blocking, close-on-exec TCP listening socket with SO_REUSEADDR. */
int lttng_hyper_tcp_listen(const char *host, uint16_t port);

#ifdef __cplusplus
}
#endif

#endif /* LTTNG_HYPER_CHANNEL_H */
