/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-serial:PATH, the guest's end of a virtio-serial port: a
 * character device, which has no listener and no socket options.
 */
#include <fcntl.h>

#include "common/transport.h"

static int vserial_parse(const char *rest, const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen)
{
	return lh_parse_path(rest, str, "virtio-serial", uri, err, errlen);
}

static int vserial_open(const struct lttng_hyper_channel_uri *uri)
{
	/* O_NOCTTY: the port is a character device and must not become our tty. */
	return open(uri->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
}

const struct lttng_hyper_transport lh_transport_virtio_serial = {
	.scheme = "virtio-serial:",
	.syntax = "virtio-serial:PATH",
	.help = "the guest's virtio-serial port",
	.ends = LH_TRANSPORT_GUEST_END,
	.parse = vserial_parse,
	.format = lh_path_format,
	.open = vserial_open,
};
