/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * vsock:CID:PORT and vsock-listen:PORT: a vsock stream (virtio-vsock,
 * vhost-vsock). The host end connects to the guest's context id, which
 * the host's own VM configuration gives (QEMU's guest-cid=): a guest can
 * claim no other VM's name. The guest listens.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <linux/vm_sockets.h>

#include "common/log.h"
#include "common/transport.h"

#define VSOCK_LISTEN_BACKLOG	16

static int vsock_parse(const char *rest, const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen)
{
	const char *colon = strchr(rest, ':');

	if (uri->transport->listens) {
		if (colon) {
			lh_set_err(err, errlen, "expected vsock-listen:PORT in '%s'", str);
			return -1;
		}
	} else {
		if (!colon) {
			lh_set_err(err, errlen, "expected vsock:CID:PORT in '%s'", str);
			return -1;
		}
		if (lh_parse_u32(rest, (size_t) (colon - rest), str, "context id", &uri->cid,
				err, errlen) < 0) {
			return -1;
		}
		/* Any: a wildcard for bind(), nothing to connect to. */
		if (uri->cid == VMADDR_CID_ANY) {
			lh_set_err(err, errlen, "context id %u is no peer in '%s'", uri->cid, str);
			return -1;
		}
		rest = colon + 1;
	}
	if (lh_parse_u32(rest, strlen(rest), str, "port", &uri->vsock_port, err, errlen) < 0) {
		return -1;
	}
	if (uri->vsock_port == VMADDR_PORT_ANY) {
		lh_set_err(err, errlen, "port %u is not a port in '%s'", uri->vsock_port, str);
		return -1;
	}
	return 0;
}

static void vsock_format(const struct lttng_hyper_channel_uri *uri, char *buf, size_t len)
{
	if (uri->transport->listens) {
		snprintf(buf, len, "%u", uri->vsock_port);
	} else {
		snprintf(buf, len, "%u:%u", uri->cid, uri->vsock_port);
	}
}

static int vsock_open(const struct lttng_hyper_channel_uri *uri)
{
	struct sockaddr_vm svm = {
		.svm_family = AF_VSOCK,
		.svm_port = uri->vsock_port,
		.svm_cid = uri->transport->listens ? VMADDR_CID_ANY : uri->cid,
	};
	int fd, saved;

	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (uri->transport->listens) {
		if (bind(fd, (struct sockaddr *) &svm, sizeof(svm)) == 0 &&
				listen(fd, VSOCK_LISTEN_BACKLOG) == 0) {
			return fd;
		}
	} else if (connect(fd, (struct sockaddr *) &svm, sizeof(svm)) == 0 ||
			errno == EINPROGRESS) {
		return fd;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

const struct lttng_hyper_transport lh_transport_vsock = {
	.scheme = "vsock:",
	.syntax = "vsock:CID:PORT",
	.help = "connect to the guest of context id CID",
	.ends = LH_TRANSPORT_HOST_END,
	.parse = vsock_parse,
	.format = vsock_format,
	.open = vsock_open,
};

const struct lttng_hyper_transport lh_transport_vsock_listen = {
	.scheme = "vsock-listen:",
	.syntax = "vsock-listen:PORT",
	.help = "listen on vsock (the host connects)",
	.listens = true,
	.ends = LH_TRANSPORT_GUEST_END,
	.parse = vsock_parse,
	.format = vsock_format,
	.open = vsock_open,
};
