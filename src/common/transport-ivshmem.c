/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * ivshmem:PATH (the guest) and ivshmem-host:PATH (the host): a channel
 * over shared memory (layout and session rules in ivshmem.h). open()
 * maps PATH and starts a bridge thread (ivshmem-bridge.h) that moves
 * bytes between the shared rings and one end of a socketpair; the caller
 * gets the other end, so the mux and the endpoint run it as any socket.
 * Both ends "connect": the channel exists once mapped. The bridge ends
 * when its socket's user closes it, when the peer reopens or closes, or
 * (the guest is untrusted) when an index read from the memory is out of
 * range; then the user sees the end of the stream and reopens.
 *
 * With ",bell=BELL", an idle bridge sleeps until the peer rings: the
 * guest's BELL is a virtio-serial port, the host's the socket of QEMU's
 * chardev of it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/ivshmem-bridge.h"
#include "common/log.h"
#include "common/transport.h"

static enum lh_ivshmem_side uri_side(const struct lttng_hyper_channel_uri *uri)
{
	return uri->transport == &lh_transport_ivshmem_host ? LH_IVSHMEM_HOST : LH_IVSHMEM_GUEST;
}

/*
 * Map path and check or write its header. The host sizes a new file and
 * writes the layout from its own file size, never reading it back; the
 * guest takes the host's layout once it is there (EAGAIN before, so that
 * the endpoint retries), checked against what it mapped.
 */
static int map_region(struct lh_ivshmem_bridge *b, const char *path, enum lh_ivshmem_side side)
{
	bool host = side == LH_IVSHMEM_HOST;
	struct lh_ivshmem_hdr *hdr;
	uint32_t ring, hdr_size;
	struct stat st;
	uint64_t size;
	int fd, saved;

	fd = open(path, O_RDWR | O_CLOEXEC | (host ? O_CREAT : 0), 0600);
	if (fd < 0) {
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		goto error;
	}
	size = (uint64_t) st.st_size;
	if (host && size == 0) {
		if (ftruncate(fd, LH_IVSHMEM_DEFAULT_SIZE) < 0) {
			goto error;
		}
		size = LH_IVSHMEM_DEFAULT_SIZE;
	}
	if (size < LH_IVSHMEM_HDR_SIZE + 2 * LH_IVSHMEM_MIN_RING || size > (1ULL << 31)) {
		errno = EINVAL;
		goto error;
	}
	b->map_len = (size_t) size;
	b->map = mmap(NULL, b->map_len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (b->map == MAP_FAILED) {
		goto error;
	}
	close(fd);
	hdr = b->map;
	if (host) {
		for (ring = LH_IVSHMEM_MIN_RING; 2 * (uint64_t) ring * 2 <= size - LH_IVSHMEM_HDR_SIZE;
				ring *= 2) {
		}
		hdr->version = LH_IVSHMEM_VERSION;
		hdr->hdr_size = LH_IVSHMEM_HDR_SIZE;
		hdr->ring_size = ring;
		atomic_store_explicit(&hdr->magic, LH_IVSHMEM_MAGIC, memory_order_release);
		hdr_size = LH_IVSHMEM_HDR_SIZE;
	} else {
		if (atomic_load_explicit(&hdr->magic, memory_order_acquire) != LH_IVSHMEM_MAGIC) {
			errno = EAGAIN;
			goto unmap;
		}
		hdr_size = hdr->hdr_size;
		ring = hdr->ring_size;
		if (hdr->version != LH_IVSHMEM_VERSION || hdr_size != LH_IVSHMEM_HDR_SIZE ||
				ring < LH_IVSHMEM_MIN_RING || (ring & (ring - 1)) ||
				hdr_size + 2 * (uint64_t) ring > size) {
			errno = EPROTO;
			goto unmap;
		}
	}
	b->ring_size = ring;
	b->own = &hdr->side[side];
	b->peer = &hdr->side[!side];
	b->tx = (uint8_t *) b->map + hdr_size + (host ? ring : 0);
	b->rx = (uint8_t *) b->map + hdr_size + (host ? 0 : ring);
	return 0;

unmap:
	saved = errno;
	munmap(b->map, b->map_len);
	errno = saved;
	return -1;
error:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static int ivshmem_open(const struct lttng_hyper_channel_uri *uri)
{
	enum lh_ivshmem_side side = uri_side(uri);
	struct lh_ivshmem_bridge *b;
	int sv[2], err;

	b = calloc(1, sizeof(*b));
	if (!b) {
		return -1;
	}
	b->bell = -1;
	b->slot = lh_ivshmem_slot_claim(uri->path, side);
	if (!b->slot) {
		free(b);
		return -1;
	}
	if (map_region(b, uri->path, side) < 0) {
		goto error_slot;
	}
	if (uri->bell[0] && lh_ivshmem_bridge_bell(b, uri->bell) < 0) {
		goto error_map;
	}
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
		goto error_map;
	}
	if (lh_ivshmem_bridge_start(b, sv[1]) < 0) {
		err = errno;
		close(sv[0]);
		close(sv[1]);
		errno = err;
		goto error_map;
	}
	return sv[0];

error_map:
	err = errno;
	if (b->bell >= 0) {
		close(b->bell);
	}
	munmap(b->map, b->map_len);
	errno = err;
error_slot:
	err = errno;
	lh_ivshmem_slot_release(b->slot);
	free(b);
	errno = err;
	return -1;
}

/* Why the last bridge of this path and side stopped, once. */
static int ivshmem_last_words(const struct lttng_hyper_channel_uri *uri, char *buf, size_t len)
{
	return lh_ivshmem_slot_last_words(uri->path, uri_side(uri), buf, len);
}

/* PATH[,bell=BELL] */
static int ivshmem_parse(const char *rest, const char *str, struct lttng_hyper_channel_uri *uri,
		char *err, size_t errlen)
{
	const char *bell = strstr(rest, ",bell=");
	char path[sizeof(uri->path)];
	size_t len;

	if (!bell) {
		return lh_parse_path(rest, str, "ivshmem", uri, err, errlen);
	}
	len = (size_t) (bell - rest);
	bell += strlen(",bell=");
	if (len >= sizeof(path) || strlen(bell) >= sizeof(uri->bell)) {
		lh_set_err(err, errlen, "ivshmem path or bell too long (max %zu) in '%s'",
			sizeof(path) - 1, str);
		return -1;
	}
	if (!*bell) {
		lh_set_err(err, errlen, "missing bell path after ',bell=' in '%s'", str);
		return -1;
	}
	memcpy(path, rest, len);
	path[len] = '\0';
	if (lh_parse_path(path, str, "ivshmem", uri, err, errlen)) {
		return -1;
	}
	strcpy(uri->bell, bell);
	return 0;
}

static void ivshmem_format(const struct lttng_hyper_channel_uri *uri, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", uri->path, uri->bell[0] ? ",bell=" : "", uri->bell);
}

static int ivshmem_absolute(struct lttng_hyper_channel_uri *uri, char *err, size_t errlen)
{
	struct lttng_hyper_channel_uri bell;

	if (lh_path_absolute(uri, "ivshmem", err, errlen)) {
		return -1;
	}
	if (!uri->bell[0]) {
		return 0;
	}
	memcpy(bell.path, uri->bell, sizeof(bell.path));
	if (lh_path_absolute(&bell, "ivshmem bell", err, errlen)) {
		return -1;
	}
	memcpy(uri->bell, bell.path, sizeof(uri->bell));
	return 0;
}

const struct lttng_hyper_transport lh_transport_ivshmem = {
	.scheme = "ivshmem:",
	.syntax = "ivshmem:PATH[,bell=PORT]",
	.help = "the ivshmem BAR2 (.../resource2); its bell port",
	.ends = LH_TRANSPORT_GUEST_END,
	.parse = ivshmem_parse,
	.format = ivshmem_format,
	.open = ivshmem_open,
	.last_words = ivshmem_last_words,
	.absolute = ivshmem_absolute,
	.object = lh_path_object,
};

const struct lttng_hyper_transport lh_transport_ivshmem_host = {
	.scheme = "ivshmem-host:",
	.syntax = "ivshmem-host:PATH[,bell=SOCKET]",
	.help = "a VM's ivshmem memory file; its bell's socket",
	.ends = LH_TRANSPORT_HOST_END,
	.parse = ivshmem_parse,
	.format = ivshmem_format,
	.open = ivshmem_open,
	.last_words = ivshmem_last_words,
	.absolute = ivshmem_absolute,
	.object = lh_path_object,
};
