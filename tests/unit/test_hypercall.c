/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Unit tests of lttng-hyper/hypercall.h without a hypercall: a marker's
 * payload in a0..a3 (byte i in byte i % 8 of a[i / 8], least significant
 * first, as the host decodes it), and the probe, which must not offer an
 * instruction unless the hypervisor below says it is KVM.
 */
#include <stdbool.h>
#include <string.h>

#include <lttng-hyper/hypercall.h>

#include "tests/utils/tap.h"

#define NUM_TESTS	9

static bool packs(const void *payload, size_t len, unsigned long a0, unsigned long a1,
		unsigned long a2, unsigned long a3)
{
	unsigned long a[4] = { 1, 2, 3, 4 };

	lttng_hyper_mark_pack(payload, len, a);
	return a[0] == a0 && a[1] == a1 && a[2] == a2 && a[3] == a3;
}

static void test_pack(void)
{
	unsigned char bytes[40];
	size_t i;

	for (i = 0; i < sizeof(bytes); i++) {
		bytes[i] = (unsigned char) i;
	}
	ok(packs("", 0, 0, 0, 0, 0), "an empty payload is four zero registers");
	ok(packs("l2", 2, 0x326c, 0, 0, 0), "'l2': a0 = 0x326c, the first byte least significant");
	ok(packs(bytes, 9, 0x0706050403020100UL, 0x08, 0, 0), "the ninth byte starts a1");
	ok(packs(bytes, 32, 0x0706050403020100UL, 0x0f0e0d0c0b0a0908UL, 0x1716151413121110UL,
		0x1f1e1d1c1b1a1918UL), "32 bytes fill a0..a3");
	ok(packs(bytes, sizeof(bytes), 0x0706050403020100UL, 0x0f0e0d0c0b0a0908UL,
		0x1716151413121110UL, 0x1f1e1d1c1b1a1918UL),
		"a payload past 32 bytes is cut to 32");
	ok(packs("\xff", 1, 0xff, 0, 0, 0), "a byte over 0x7f is not sign-extended");
}

static void test_probe(void)
{
	enum lttng_hyper_hypercall_insn insn;
	char sig[13];
	bool kvm;

	memset(sig, 'x', sizeof(sig));
	insn = lttng_hyper_hypercall_probe(sig);
	ok(memchr(sig, '\0', sizeof(sig)) != NULL, "the signature is a string: '%s'", sig);
	kvm = !memcmp(sig, LTTNG_HYPER_KVM_SIGNATURE, 12);
	ok((insn != LTTNG_HYPER_HC_NONE) == kvm, "an instruction offered only under KVM (%s)",
		insn == LTTNG_HYPER_HC_NONE ? "none" :
		insn == LTTNG_HYPER_HC_VMMCALL ? "vmmcall" : "vmcall");
	ok(lttng_hyper_hypercall_probe(NULL) == insn, "the same answer without a signature");
}

int main(void)
{
	plan_tests(NUM_TESTS);
	test_pack();
	test_probe();
	return exit_status();
}
