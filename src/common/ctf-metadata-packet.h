/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The CTF 1.8 metadata packet, as LTTng writes it: u32 magic, u8 uuid[16],
 * u32 checksum, u32 content_size, u32 packet_size (both in bits, header
 * included), then five u8 (compression, encryption, checksum scheme,
 * major, minor), in the trace's byte order.
 */
#ifndef LH_COMMON_CTF_METADATA_PACKET_H
#define LH_COMMON_CTF_METADATA_PACKET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define MD_PKT_MAGIC			0x75D11D57U
#define MD_PKT_OFF_CONTENT_SIZE		24
#define MD_PKT_OFF_PACKET_SIZE		28
#define MD_PKT_HDR_LEN			37
/* The largest metadata file, or packet. */
#define MD_MAX_SIZE			(64U << 20)

/* Whether the first len bytes (up to 4) are the magic's, and in which byte order. */
bool md_packet_magic(const uint8_t *p, size_t len, bool *big_endian);
/* Check a whole header; sizes in bytes. Returns -1 if it is no metadata packet. */
int md_packet_sizes(const uint8_t *hdr, bool *big_endian, uint64_t *content,
		uint64_t *packet);

#endif /* LH_COMMON_CTF_METADATA_PACKET_H */
