/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tcp://HOST:PORT and tcp-listen://ADDR:PORT: a TCP connection, with no
 * Nagle (relayd replies cross the channel: latency matters more than
 * segments). Also the TCP sockets the daemons open to lttng-relayd.
 */
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/log.h"
#include "common/transport.h"

#define TCP_LISTEN_BACKLOG	16

/*
 * getaddrinfo() for host:port. Its errors are not errno values: log the
 * reason and map it to the closest errno for the caller.
 */
static int resolve(const char *host, uint16_t port, bool passive, struct addrinfo **res)
{
	struct addrinfo hints;
	char service[6];
	int ret;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_NUMERICSERV | (passive ? AI_PASSIVE : 0);
	snprintf(service, sizeof(service), "%u", port);
	ret = getaddrinfo(host && host[0] ? host : NULL, service, &hints, res);
	if (ret == 0) {
		return 0;
	}
	if (ret == EAI_SYSTEM) {
		PERROR("Cannot resolve '%s'", host ? host : "");
		return -1;
	}
	ERR("Cannot resolve '%s': %s", host ? host : "", gai_strerror(ret));
	switch (ret) {
	case EAI_MEMORY:
		errno = ENOMEM;
		break;
	case EAI_AGAIN:
		errno = EAGAIN;
		break;
	default:
		errno = EHOSTUNREACH;
		break;
	}
	return -1;
}

/*
 * Start a non-blocking connect to the first address of host that takes
 * it. EINPROGRESS is success: the fd turns writable when it completes.
 */
int lttng_hyper_tcp_connect(const char *host, uint16_t port)
{
	struct addrinfo *res, *ai;
	int fd = -1, saved = 0, one = 1;

	if (resolve(host, port, false, &res)) {
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		/* relayd control replies are small and latency-bound: no Nagle. */
		if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one)) == 0 &&
				(connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
				 errno == EINPROGRESS)) {
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved;
	}
	return fd;
}

/* Listen on the first address of host that binds; empty host: any address. */
int lttng_hyper_tcp_listen(const char *host, uint16_t port)
{
	struct addrinfo *res, *ai;
	int fd = -1, saved = 0, one = 1;

	if (resolve(host, port, true, &res)) {
		return -1;
	}
	for (ai = res; ai; ai = ai->ai_next) {
		fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC,
			ai->ai_protocol);
		if (fd < 0) {
			saved = errno;
			continue;
		}
		/* A restarted daemon must not wait out TIME_WAIT to bind again. */
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0 &&
				bind(fd, ai->ai_addr, ai->ai_addrlen) == 0 &&
				listen(fd, TCP_LISTEN_BACKLOG) == 0) {
			break;
		}
		saved = errno;
		close(fd);
		fd = -1;
	}
	freeaddrinfo(res);
	if (fd < 0) {
		errno = saved;
	}
	return fd;
}

static int tcp_parse(const char *rest, const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen)
{
	return lh_parse_host_port(rest, str, uri->host, sizeof(uri->host), &uri->port,
		err, errlen);
}

static void tcp_format(const struct lttng_hyper_channel_uri *uri, char *buf, size_t len)
{
	bool v6 = strchr(uri->host, ':') != NULL;

	snprintf(buf, len, "%s%s%s:%u", v6 ? "[" : "", uri->host, v6 ? "]" : "", uri->port);
}

static int tcp_open(const struct lttng_hyper_channel_uri *uri)
{
	return uri->transport->listens ? lttng_hyper_tcp_listen(uri->host, uri->port) :
		lttng_hyper_tcp_connect(uri->host, uri->port);
}

static int tcp_tune(int fd)
{
	const int one = 1;

	return setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

const struct lttng_hyper_transport lh_transport_tcp = {
	.scheme = "tcp://",
	.syntax = "tcp://HOST:PORT",
	.help = "connect over TCP",
	.ends = LH_TRANSPORT_GUEST_END,
	.parse = tcp_parse,
	.format = tcp_format,
	.open = tcp_open,
};

const struct lttng_hyper_transport lh_transport_tcp_listen = {
	.scheme = "tcp-listen://",
	.syntax = "tcp-listen://ADDR:PORT",
	.help = "listen on TCP",
	.listens = true,
	.ends = LH_TRANSPORT_HOST_END,
	.parse = tcp_parse,
	.format = tcp_format,
	.open = tcp_open,
	.tune = tcp_tune,
};
