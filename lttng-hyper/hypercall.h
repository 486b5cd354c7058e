/* SPDX-License-Identifier: LGPL-2.1-only */
/*
 * The hypercall of lttng-hyper: a KVM guest hands the host a few registers
 * of payload by a VM exit. KVM traces every hypercall (the kvm_hypercall
 * tracepoint: nr and a0..a3) before it answers an unknown number with
 * -KVM_ENOSYS, or a caller outside ring 0 with -KVM_EPERM, so the host
 * needs no patch to see it.
 *
 * x86-64 only. Call lttng_hyper_hypercall_probe() first: on a machine with
 * no KVM below, the instruction raises #UD (SIGILL).
 */
#ifndef LTTNG_HYPER_HYPERCALL_H
#define LTTNG_HYPER_HYPERCALL_H

#include <cpuid.h>
#include <stddef.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

/* 'L' 'H' and 1: far from KVM's own numbers (1 to 12 in Linux 6.1). */
#define LTTNG_HYPER_HC_MARK		0x4c480001UL

/* What KVM answers (include/uapi/linux/kvm_para.h). */
#define LTTNG_HYPER_KVM_ENOSYS		1000
#define LTTNG_HYPER_KVM_EPERM		1

/* CPUID's leaf of the hypervisor's signature, and KVM's. */
#define LTTNG_HYPER_CPUID_SIGNATURE	0x40000000U
#define LTTNG_HYPER_KVM_SIGNATURE	"KVMKVMKVM\0\0\0"

enum lttng_hyper_hypercall_insn {
	LTTNG_HYPER_HC_NONE = 0,	/* no KVM below: do not call */
	LTTNG_HYPER_HC_VMCALL,		/* Intel VMX */
	LTTNG_HYPER_HC_VMMCALL,		/* AMD SVM */
};

/*
 * The instruction this CPU's KVM takes without a #UD to emulate (KVM
 * rewrites the other one, at a cost), or NONE with no KVM below. sig gets
 * the hypervisor's 12-byte signature ("" with none), if not NULL.
 */
static inline enum lttng_hyper_hypercall_insn lttng_hyper_hypercall_probe(char sig[13])
{
	unsigned int eax, ebx, ecx, edx;
	char vendor[13], hv[13] = "";

	if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) {
		goto none;
	}
	memcpy(vendor, &ebx, 4);
	memcpy(vendor + 4, &edx, 4);
	memcpy(vendor + 8, &ecx, 4);
	vendor[12] = '\0';
	/* CPUID.1:ECX bit 31: a hypervisor is present. */
	if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & (1U << 31))) {
		goto none;
	}
	__cpuid(LTTNG_HYPER_CPUID_SIGNATURE, eax, ebx, ecx, edx);
	memcpy(hv, &ebx, 4);
	memcpy(hv + 4, &ecx, 4);
	memcpy(hv + 8, &edx, 4);
	hv[12] = '\0';
	if (sig) {
		memcpy(sig, hv, 13);
	}
	if (memcmp(hv, LTTNG_HYPER_KVM_SIGNATURE, 12)) {
		return LTTNG_HYPER_HC_NONE;
	}
	if (!strcmp(vendor, "AuthenticAMD") || !strcmp(vendor, "HygonGenuine")) {
		return LTTNG_HYPER_HC_VMMCALL;
	}
	return LTTNG_HYPER_HC_VMCALL;
none:
	if (sig) {
		sig[0] = '\0';
	}
	return LTTNG_HYPER_HC_NONE;
}

/*
 * One hypercall: nr in rax, a0..a3 in rbx, rcx, rdx, rsi (KVM's ABI).
 * Returns what KVM put in rax: a negative KVM error for a number it does
 * not serve. insn must come from lttng_hyper_hypercall_probe().
 */
static inline long lttng_hyper_hypercall4(enum lttng_hyper_hypercall_insn insn,
		unsigned long nr, unsigned long a0, unsigned long a1, unsigned long a2,
		unsigned long a3)
{
	long ret;

	if (insn == LTTNG_HYPER_HC_VMMCALL) {
		__asm__ volatile("vmmcall"
			: "=a"(ret)
			: "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			: "memory");
	} else {
		__asm__ volatile("vmcall"
			: "=a"(ret)
			: "a"(nr), "b"(a0), "c"(a1), "d"(a2), "S"(a3)
			: "memory");
	}
	return ret;
}

/* A marker's payload: up to 32 bytes, in a0..a3. */
#define LTTNG_HYPER_MARK_PAYLOAD_MAX	32

/*
 * The registers of a payload of len bytes (at most
 * LTTNG_HYPER_MARK_PAYLOAD_MAX): byte i in byte i % 8 of a[i / 8], the
 * least significant first, zero beyond len, so that the host reads the
 * same bytes back from a0..a3 whatever the guest's word order.
 */
static inline void lttng_hyper_mark_pack(const void *payload, size_t len, unsigned long a[4])
{
	const unsigned char *p = (const unsigned char *) payload;
	size_t i;

	a[0] = a[1] = a[2] = a[3] = 0;
	if (len > LTTNG_HYPER_MARK_PAYLOAD_MAX) {
		len = LTTNG_HYPER_MARK_PAYLOAD_MAX;
	}
	for (i = 0; i < len; i++) {
		a[i / 8] |= (unsigned long) p[i] << (8 * (i % 8));
	}
}

/*
 * A marker: payload (truncated to LTTNG_HYPER_MARK_PAYLOAD_MAX bytes) by
 * the hypercall LTTNG_HYPER_HC_MARK. Returns KVM's answer (negative:
 * -LTTNG_HYPER_KVM_EPERM from user space, -LTTNG_HYPER_KVM_ENOSYS from
 * the kernel, both after KVM traced the call).
 */
static inline long lttng_hyper_mark(enum lttng_hyper_hypercall_insn insn, const void *payload,
		size_t len)
{
	unsigned long a[4];

	lttng_hyper_mark_pack(payload, len, a);
	return lttng_hyper_hypercall4(insn, LTTNG_HYPER_HC_MARK, a[0], a[1], a[2], a[3]);
}

#ifdef __cplusplus
}
#endif

#endif /* LTTNG_HYPER_HYPERCALL_H */
