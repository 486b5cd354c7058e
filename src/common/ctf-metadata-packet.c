/* SPDX-License-Identifier: GPL-2.0-only */
/* The CTF 1.8 metadata packet header (ctf-metadata-packet.h). */
#include "common/bytes.h"
#include "common/ctf-metadata-packet.h"

/* Whether p[0..len) is the start of the magic in this byte order. */
static bool magic_prefix(const uint8_t *p, size_t len, bool big_endian)
{
	size_t i;

	for (i = 0; i < len && i < 4; i++) {
		unsigned int shift = big_endian ? 24 - 8 * i : 8 * i;

		if (p[i] != (uint8_t) (MD_PKT_MAGIC >> shift)) {
			return false;
		}
	}
	return len > 0;
}

bool md_packet_magic(const uint8_t *p, size_t len, bool *big_endian)
{
	if (magic_prefix(p, len, true)) {
		*big_endian = true;
		return true;
	}
	if (magic_prefix(p, len, false)) {
		*big_endian = false;
		return true;
	}
	return false;
}

int md_packet_sizes(const uint8_t *hdr, bool *big_endian, uint64_t *content,
		uint64_t *packet)
{
	uint32_t cs, ps;

	if (!md_packet_magic(hdr, 4, big_endian)) {
		return -1;
	}
	cs = lh_get_u32(hdr + MD_PKT_OFF_CONTENT_SIZE, *big_endian);
	ps = lh_get_u32(hdr + MD_PKT_OFF_PACKET_SIZE, *big_endian);
	if (cs % 8 || ps % 8 || cs < MD_PKT_HDR_LEN * 8 || ps < cs || ps / 8 > MD_MAX_SIZE) {
		return -1;
	}
	*content = cs / 8;
	*packet = ps / 8;
	return 0;
}
