/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Byte-order stores and loads, byte by byte so they work at any alignment:
 * big-endian for the wire formats (the hyper frames, the relayd protocol,
 * CTF index files), either order for CTF packets, which are in the
 * trace's own byte order.
 */
#ifndef LH_COMMON_BYTES_H
#define LH_COMMON_BYTES_H

#include <stdbool.h>
#include <stdint.h>

static inline void lh_put_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t) (v >> 8);
	p[1] = (uint8_t) v;
}

static inline void lh_put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) (v >> 24);
	p[1] = (uint8_t) (v >> 16);
	p[2] = (uint8_t) (v >> 8);
	p[3] = (uint8_t) v;
}

static inline void lh_put_be64(uint8_t *p, uint64_t v)
{
	lh_put_be32(p, (uint32_t) (v >> 32));
	lh_put_be32(p + 4, (uint32_t) v);
}

static inline uint16_t lh_get_be16(const uint8_t *p)
{
	return (uint16_t) ((p[0] << 8) | p[1]);
}

static inline uint32_t lh_get_be32(const uint8_t *p)
{
	return ((uint32_t) p[0] << 24) | ((uint32_t) p[1] << 16) |
		((uint32_t) p[2] << 8) | (uint32_t) p[3];
}

static inline uint64_t lh_get_be64(const uint8_t *p)
{
	return ((uint64_t) lh_get_be32(p) << 32) | lh_get_be32(p + 4);
}

static inline uint32_t lh_get_le32(const uint8_t *p)
{
	return ((uint32_t) p[3] << 24) | ((uint32_t) p[2] << 16) |
		((uint32_t) p[1] << 8) | (uint32_t) p[0];
}

static inline uint64_t lh_get_le64(const uint8_t *p)
{
	return ((uint64_t) lh_get_le32(p + 4) << 32) | lh_get_le32(p);
}

static inline void lh_put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* In the byte order a trace declares. */
static inline uint32_t lh_get_u32(const uint8_t *p, bool big_endian)
{
	return big_endian ? lh_get_be32(p) : lh_get_le32(p);
}

static inline uint64_t lh_get_u64(const uint8_t *p, bool big_endian)
{
	return big_endian ? lh_get_be64(p) : lh_get_le64(p);
}

static inline void lh_put_u32(uint8_t *p, uint32_t v, bool big_endian)
{
	if (big_endian) {
		lh_put_be32(p, v);
	} else {
		lh_put_le32(p, v);
	}
}

#endif /* LH_COMMON_BYTES_H */
