/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Hyper channel addresses (lttng-hyper/channel.h): parsing, formatting,
 * and opening the sockets and devices they name. Also the lttng-style
 * tcp:// and net:// URLs the daemons take for their relayd ports.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <lttng-hyper/channel.h>

#include "common/defaults.h"
#include "common/log.h"

#define CHANNEL_LISTEN_BACKLOG	16
#define CHANNEL_TYPES_HINT \
	"expected virtio-serial:, unix:, unix-listen:, tcp://, tcp-listen://"

struct channel_scheme {
	const char *prefix;
	enum lttng_hyper_channel_type type;
	bool is_path;		/* PATH follows, else //HOST:PORT */
};

static const struct channel_scheme channel_schemes[] = {
	{ "virtio-serial:", LTTNG_HYPER_CHANNEL_VIRTIO_SERIAL, true },
	{ "unix:", LTTNG_HYPER_CHANNEL_UNIX, true },
	{ "unix-listen:", LTTNG_HYPER_CHANNEL_UNIX_LISTEN, true },
	{ "tcp://", LTTNG_HYPER_CHANNEL_TCP, false },
	{ "tcp-listen://", LTTNG_HYPER_CHANNEL_TCP_LISTEN, false },
};

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
static int parse_host_port(const char *p, const char *str, char *host, size_t hostlen,
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

/* Parse a channel URI: "TYPE:PATH" or "TYPE://HOST:PORT". */
int lttng_hyper_channel_parse(const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen)
{
	const struct channel_scheme *scheme = NULL;
	const char *rest = NULL;
	size_t i, len;

	for (i = 0; i < sizeof(channel_schemes) / sizeof(channel_schemes[0]); i++) {
		len = strlen(channel_schemes[i].prefix);
		if (!strncmp(str, channel_schemes[i].prefix, len)) {
			scheme = &channel_schemes[i];
			rest = str + len;
			break;
		}
	}
	if (!scheme) {
		len = strcspn(str, ":");
		if (str[len] == '\0') {
			lh_set_err(err, errlen, "missing channel type in '%s'; "
				CHANNEL_TYPES_HINT, str);
		} else {
			lh_set_err(err, errlen, "unknown channel type '%.*s' in '%s'; "
				CHANNEL_TYPES_HINT, (int) len, str, str);
		}
		return -1;
	}

	memset(uri, 0, sizeof(*uri));
	uri->type = scheme->type;
	if (!scheme->is_path) {
		return parse_host_port(rest, str, uri->host, sizeof(uri->host), &uri->port,
			err, errlen);
	}
	len = strlen(rest);
	if (len == 0) {
		lh_set_err(err, errlen, "missing path in '%s'", str);
		return -1;
	}
	/* The path must fit sun_path with its NUL, so sockaddr_un needs no special case. */
	if (len >= sizeof(uri->path)) {
		lh_set_err(err, errlen, "%s path too long (max %zu) in '%s'",
			scheme->type == LTTNG_HYPER_CHANNEL_VIRTIO_SERIAL ?
				"virtio-serial" : "unix socket",
			sizeof(uri->path) - 1, str);
		return -1;
	}
	memcpy(uri->path, rest, len + 1);
	return 0;
}

/* Canonical text of uri, as lttng_hyper_channel_parse reads it back. */
void lttng_hyper_channel_format(const struct lttng_hyper_channel_uri *uri,
		char *buf, size_t len)
{
	const char *prefix = "";
	bool v6 = strchr(uri->host, ':') != NULL;
	size_t i;

	for (i = 0; i < sizeof(channel_schemes) / sizeof(channel_schemes[0]); i++) {
		if (channel_schemes[i].type == uri->type) {
			prefix = channel_schemes[i].prefix;
		}
	}
	if (uri->type == LTTNG_HYPER_CHANNEL_TCP || uri->type == LTTNG_HYPER_CHANNEL_TCP_LISTEN) {
		snprintf(buf, len, "%s%s%s%s:%u", prefix, v6 ? "[" : "", uri->host,
			v6 ? "]" : "", uri->port);
	} else {
		snprintf(buf, len, "%s%s", prefix, uri->path);
	}
}

/* Listeners accept their peer; the others connect to it. */
bool lttng_hyper_channel_is_listener(const struct lttng_hyper_channel_uri *uri)
{
	return uri->type == LTTNG_HYPER_CHANNEL_UNIX_LISTEN ||
		uri->type == LTTNG_HYPER_CHANNEL_TCP_LISTEN;
}

/* Fill a sockaddr_un; the parser already bounded the path length. */
static int unix_addr(const char *path, struct sockaddr_un *sun)
{
	size_t len = strlen(path);

	if (len >= sizeof(sun->sun_path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	memcpy(sun->sun_path, path, len + 1);
	return 0;
}

/*
 * Connect to a unix stream socket. A non-blocking unix connect completes
 * or fails at once; EAGAIN means the listener's backlog is full.
 */
static int unix_connect(const char *path)
{
	struct sockaddr_un sun;
	int fd, saved;

	if (unix_addr(path, &sun)) {
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (connect(fd, (struct sockaddr *) &sun, sizeof(sun))) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

/*
 * A socket file left by a previous run makes bind() fail with EADDRINUSE.
 * Remove it, but only if it is a socket nobody listens on: never delete a
 * regular file given by mistake, nor take over a live daemon's address.
 */
static int unix_remove_stale(const char *path)
{
	struct stat st;
	int fd;

	if (lstat(path, &st)) {
		return errno == ENOENT ? 0 : -1;
	}
	if (!S_ISSOCK(st.st_mode)) {
		ERR("Refusing to replace '%s': it exists and is not a socket", path);
		errno = EEXIST;
		return -1;
	}
	fd = unix_connect(path);
	if (fd >= 0) {
		close(fd);
	}
	if (fd >= 0 || errno == EAGAIN) {
		ERR("Unix socket '%s' is in use by a running listener", path);
		errno = EADDRINUSE;
		return -1;
	}
	if (unlink(path) && errno != ENOENT) {
		PERROR("Cannot remove stale unix socket '%s'", path);
		return -1;
	}
	DBG("Removed stale unix socket '%s'", path);
	return 0;
}

/* Listen on a unix stream socket, replacing a stale one. */
static int unix_listen(const char *path)
{
	struct sockaddr_un sun;
	int fd, saved;

	if (unix_addr(path, &sun) || unix_remove_stale(path)) {
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		return -1;
	}
	if (bind(fd, (struct sockaddr *) &sun, sizeof(sun)) ||
			listen(fd, CHANNEL_LISTEN_BACKLOG)) {
		saved = errno;
		close(fd);
		errno = saved;
		return -1;
	}
	return fd;
}

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
				listen(fd, CHANNEL_LISTEN_BACKLOG) == 0) {
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

/* Open a connecting channel: the device, or a socket to the listener. */
int lttng_hyper_channel_connect(const struct lttng_hyper_channel_uri *uri)
{
	switch (uri->type) {
	case LTTNG_HYPER_CHANNEL_VIRTIO_SERIAL:
		/* O_NOCTTY: the port is a character device and must not become our tty. */
		return open(uri->path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
	case LTTNG_HYPER_CHANNEL_UNIX:
		return unix_connect(uri->path);
	case LTTNG_HYPER_CHANNEL_TCP:
		return lttng_hyper_tcp_connect(uri->host, uri->port);
	default:
		errno = EINVAL;
		return -1;
	}
}

/* Open a listening channel. */
int lttng_hyper_channel_listen(const struct lttng_hyper_channel_uri *uri)
{
	switch (uri->type) {
	case LTTNG_HYPER_CHANNEL_UNIX_LISTEN:
		return unix_listen(uri->path);
	case LTTNG_HYPER_CHANNEL_TCP_LISTEN:
		return lttng_hyper_tcp_listen(uri->host, uri->port);
	default:
		errno = EINVAL;
		return -1;
	}
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
	return parse_host_port(p, str, host, hostlen, port, err, errlen);
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
