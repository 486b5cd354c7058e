/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hyper channel addresses (lttng-hyper/channel.h): parsing, formatting
 * and opening, each by its kind's table (transport.h). Also the address
 * parsers the kinds share, and the lttng-style tcp:// and net:// URLs
 * the daemons take for their relayd ports.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/daemon.h"
#include "common/defaults.h"
#include "common/log.h"
#include "common/transport.h"

/* Characters of a host name, an IPv4 address or (in brackets) an IPv6 one. */
static bool is_host_char(char c, bool bracketed)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			(c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_') {
		return true;
	}
	/* ':' separates IPv6 groups, '%' introduces a zone ("fe80::1%eth0"). */
	return bracketed && (c == ':' || c == '%');
}

/*
 * Parse the host at *p: a name, an IPv4 address, or an IPv6 address in
 * brackets. On success *p points just past it.
 */
static int parse_host(const char **p, const char *str, char *host, size_t hostlen,
		char *err, size_t errlen)
{
	const char *b = *p, *e;
	bool bracketed = *b == '[';
	size_t len, i;

	if (bracketed) {
		b++;
		e = strchr(b, ']');
		if (!e) {
			lh_set_err(err, errlen, "missing ']' after IPv6 address in '%s'", str);
			return -1;
		}
	} else {
		e = b + strcspn(b, ":/");
	}
	len = e - b;
	if (len == 0) {
		lh_set_err(err, errlen, "missing host in '%s'", str);
		return -1;
	}
	if (len >= hostlen || len > 255) {
		lh_set_err(err, errlen, "host too long in '%s'", str);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (!is_host_char(b[i], bracketed)) {
			lh_set_err(err, errlen, "invalid character '%c' in host of '%s'",
				b[i], str);
			return -1;
		}
	}
	memcpy(host, b, len);
	host[len] = '\0';
	*p = bracketed ? e + 1 : e;
	return 0;
}

/*
 * Parse the decimal port of len bytes at b: 1 to 65535. Port 0 is
 * refused: it would mean "any" to bind() and nothing to connect().
 */
static int parse_port(const char *b, size_t len, const char *str, uint16_t *port,
		char *err, size_t errlen)
{
	unsigned long v = 0;
	size_t i;

	if (len == 0) {
		lh_set_err(err, errlen, "missing port in '%s'", str);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (b[i] < '0' || b[i] > '9') {
			lh_set_err(err, errlen, "invalid port '%.*s' in '%s'", (int) len, b, str);
			return -1;
		}
		/* Stop accumulating early so a long digit string cannot overflow. */
		if (v <= 65535) {
			v = v * 10 + (unsigned long) (b[i] - '0');
		}
	}
	if (v == 0 || v > 65535) {
		lh_set_err(err, errlen, "port %.*s out of range (1-65535) in '%s'", (int) len, b, str);
		return -1;
	}
	*port = (uint16_t) v;
	return 0;
}

/* Parse "HOST:PORT" at p, the whole rest of str. */
int lh_parse_host_port(const char *p, const char *str, char *host, size_t hostlen,
		uint16_t *port, char *err, size_t errlen)
{
	if (parse_host(&p, str, host, hostlen, err, errlen)) {
		return -1;
	}
	if (*p != ':') {
		lh_set_err(err, errlen, "missing port in '%s'; expected HOST:PORT", str);
		return -1;
	}
	p++;
	if (strchr(p, ':')) {
		lh_set_err(err, errlen, "too many ':' in '%s' (IPv6 addresses go in brackets)", str);
		return -1;
	}
	return parse_port(p, strlen(p), str, port, err, errlen);
}

/* Skip a "proto://" prefix, or say which protocols were expected. */
static const char *skip_prefix(const char *str, const char *const *prefixes,
		const char *expected, char *err, size_t errlen)
{
	size_t len;

	for (; *prefixes; prefixes++) {
		len = strlen(*prefixes);
		if (!strncmp(str, *prefixes, len)) {
			return str + len;
		}
	}
	lh_set_err(err, errlen, "invalid URL '%s'; expected %s", str, expected);
	return NULL;
}

/* A decimal u32 of len bytes at b, the "what" of str. */
int lh_parse_u32(const char *b, size_t len, const char *str, const char *what,
		uint32_t *v, char *err, size_t errlen)
{
	uint64_t n = 0;
	size_t i;

	if (len == 0) {
		lh_set_err(err, errlen, "missing %s in '%s'", what, str);
		return -1;
	}
	for (i = 0; i < len; i++) {
		if (b[i] < '0' || b[i] > '9') {
			lh_set_err(err, errlen, "invalid %s '%.*s' in '%s'", what, (int) len, b, str);
			return -1;
		}
		n = n * 10 + (uint64_t) (b[i] - '0');
		if (n > UINT32_MAX) {
			lh_set_err(err, errlen, "%s %.*s out of range in '%s'", what, (int) len, b, str);
			return -1;
		}
	}
	*v = (uint32_t) n;
	return 0;
}

int lh_parse_path(const char *rest, const char *str, const char *what,
		struct lttng_hyper_channel_uri *uri, char *err, size_t errlen)
{
	size_t len = strlen(rest);

	if (len == 0) {
		lh_set_err(err, errlen, "missing path in '%s'", str);
		return -1;
	}
	/* The path must fit sun_path with its NUL, so sockaddr_un needs no special case. */
	if (len >= sizeof(uri->path)) {
		lh_set_err(err, errlen, "%s path too long (max %zu) in '%s'", what,
			sizeof(uri->path) - 1, str);
		return -1;
	}
	memcpy(uri->path, rest, len + 1);
	return 0;
}

void lh_path_format(const struct lttng_hyper_channel_uri *uri, char *buf, size_t len)
{
	snprintf(buf, len, "%s", uri->path);
}

int lh_path_absolute(struct lttng_hyper_channel_uri *uri, const char *what, char *err,
		size_t errlen)
{
	char *abs = lh_absolute_path(uri->path);

	if (!abs) {
		lh_set_err(err, errlen, "cannot make the %s path absolute", what);
		return -1;
	}
	if (strlen(abs) >= sizeof(uri->path)) {
		lh_set_err(err, errlen, "%s path %s is longer than %zu bytes", what, abs,
			sizeof(uri->path) - 1);
		free(abs);
		return -1;
	}
	strcpy(uri->path, abs);
	free(abs);
	return 0;
}

const char *lh_path_object(const struct lttng_hyper_channel_uri *uri)
{
	return uri->path;
}

/* Parse a channel URI: its kind's scheme, then what that kind reads. */
int lttng_hyper_channel_parse(const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen)
{
	const struct lttng_hyper_transport *t = lh_transport_find(str);
	char kinds[512];
	size_t len;

	if (!t) {
		lh_transport_syntaxes(LH_TRANSPORT_GUEST_END | LH_TRANSPORT_HOST_END,
			kinds, sizeof(kinds));
		len = strcspn(str, ":");
		if (str[len] == '\0') {
			lh_set_err(err, errlen, "missing channel type in '%s'; expected %s",
				str, kinds);
		} else {
			lh_set_err(err, errlen, "unknown channel type '%.*s' in '%s'; expected %s",
				(int) len, str, str, kinds);
		}
		return -1;
	}
	memset(uri, 0, sizeof(*uri));
	uri->transport = t;
	return t->parse(str + strlen(t->scheme), str, uri, err, errlen);
}

/* Canonical text of uri, as lttng_hyper_channel_parse reads it back. */
void lttng_hyper_channel_format(const struct lttng_hyper_channel_uri *uri,
		char *buf, size_t len)
{
	size_t n;

	snprintf(buf, len, "%s", uri->transport->scheme);
	n = strlen(buf);
	uri->transport->format(uri, buf + n, len - n);
}

/* Listeners accept their peer; the others connect to it. */
bool lttng_hyper_channel_is_listener(const struct lttng_hyper_channel_uri *uri)
{
	return uri->transport->listens;
}

int lttng_hyper_channel_connect(const struct lttng_hyper_channel_uri *uri)
{
	if (uri->transport->listens) {
		errno = EINVAL;
		return -1;
	}
	return uri->transport->open(uri);
}

int lttng_hyper_channel_listen(const struct lttng_hyper_channel_uri *uri)
{
	if (!uri->transport->listens) {
		errno = EINVAL;
		return -1;
	}
	return uri->transport->open(uri);
}

int lttng_hyper_channel_accept(const struct lttng_hyper_channel_uri *uri, int listen_fd)
{
	int fd, saved;

	fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0 || !uri->transport->tune || uri->transport->tune(fd) == 0) {
		return fd;
	}
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

/* "tcp://ADDR:PORT", or tcp6:// as lttng also takes; the port is required. */
int lttng_hyper_tcp_url_parse(const char *str, char *host, size_t hostlen,
		uint16_t *port, char *err, size_t errlen)
{
	static const char *const prefixes[] = { "tcp://", "tcp6://", NULL };
	const char *p = skip_prefix(str, prefixes, "tcp://ADDR:PORT", err, errlen);

	if (!p) {
		return -1;
	}
	return lh_parse_host_port(p, str, host, hostlen, port, err, errlen);
}

/*
 * "net://HOST[:CTRL[:DATA]]", or net6://. An empty port ("net://h::6000")
 * takes its default, as in lttng. lttng's trailing "/SUBDIR" names an
 * output directory, which has no meaning here: refuse it rather than
 * silently drop it.
 */
int lttng_hyper_net_url_parse(const char *str, char *host, size_t hostlen,
		uint16_t *ctrl_port, uint16_t *data_port, char *err, size_t errlen)
{
	static const char *const prefixes[] = { "net://", "net6://", NULL };
	const char *p = skip_prefix(str, prefixes, "net://HOST[:CTRL[:DATA]]", err, errlen);
	uint16_t ports[2] = { LH_DEFAULT_CONTROL_PORT, LH_DEFAULT_DATA_PORT };
	size_t len;
	int i;

	if (!p || parse_host(&p, str, host, hostlen, err, errlen)) {
		return -1;
	}
	for (i = 0; i < 2 && *p == ':'; i++) {
		p++;
		len = strcspn(p, ":/");
		if (len > 0 && parse_port(p, len, str, &ports[i], err, errlen)) {
			return -1;
		}
		p += len;
	}
	if (*p == '/') {
		lh_set_err(err, errlen, "a path after the host is not supported in '%s'", str);
		return -1;
	}
	if (*p != '\0') {
		lh_set_err(err, errlen, "unexpected '%s' in '%s'; expected net://HOST[:CTRL[:DATA]]",
			p, str);
		return -1;
	}
	*ctrl_port = ports[0];
	*data_port = ports[1];
	return 0;
}
