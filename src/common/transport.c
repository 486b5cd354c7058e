/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The kinds of hyper channel there are (transport.h): the one list.
 */
#include <stdio.h>
#include <string.h>

#include "common/transport.h"

static const struct lttng_hyper_transport *const transports[] = {
	&lh_transport_virtio_serial,
	&lh_transport_unix,
	&lh_transport_unix_listen,
	&lh_transport_tcp,
	&lh_transport_tcp_listen,
	&lh_transport_vsock,
	&lh_transport_vsock_listen,
	&lh_transport_ivshmem,
	&lh_transport_ivshmem_host,
};

#define NR_TRANSPORTS	(sizeof(transports) / sizeof(transports[0]))

const struct lttng_hyper_transport *lh_transport_find(const char *str)
{
	size_t i;

	for (i = 0; i < NR_TRANSPORTS; i++) {
		if (!strncmp(str, transports[i]->scheme, strlen(transports[i]->scheme))) {
			return transports[i];
		}
	}
	return NULL;
}

void lh_transport_syntaxes(unsigned int ends, char *buf, size_t len)
{
	size_t i, n = 0;

	buf[0] = '\0';
	for (i = 0; i < NR_TRANSPORTS && n < len; i++) {
		if (transports[i]->ends & ends) {
			n += (size_t) snprintf(buf + n, len - n, "%s%s", n ? ", " : "",
				transports[i]->syntax);
		}
	}
}

#define USAGE_SYNTAX_WIDTH	24

void lh_transport_usage(FILE *out, unsigned int ends, int indent)
{
	size_t i;

	for (i = 0; i < NR_TRANSPORTS; i++) {
		if (!(transports[i]->ends & ends)) {
			continue;
		}
		/* A syntax too long for its column puts its help on the next line. */
		if (strlen(transports[i]->syntax) >= USAGE_SYNTAX_WIDTH) {
			fprintf(out, "%*s%s\n%*s%s\n", indent, "", transports[i]->syntax,
				indent + USAGE_SYNTAX_WIDTH, "", transports[i]->help);
		} else {
			fprintf(out, "%*s%-*s%s\n", indent, "", USAGE_SYNTAX_WIDTH,
				transports[i]->syntax, transports[i]->help);
		}
	}
}
