/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * hypercall-bench: what one hypercall round trip costs at this level, next
 * to a plain instruction loop and to CPUID (which KVM also takes by a VM
 * exit, but answers without tracing), as bench/hypercall.sh runs it in each
 * guest it boots.
 *
 *   hypercall-bench [-r RUNS] [-n CALLS]
 *
 * Prints one line per run and measure, "WHAT RUN NS", where WHAT is loop
 * (NS per add of a chain of dependent adds, 100 x CALLS of them), cpuid
 * or hypercall (NS per instruction, CALLS of them), and first
 * "hypervisor INSN SIGNATURE": the instruction used, "none" with no KVM
 * below (then the hypercall is not measured: it would raise #UD), and
 * the CPUID signature to the end of the line, "none" without one. The
 * hypercall is lttng-hyper's marker number with a zero payload: KVM
 * traces it and answers -KVM_EPERM from user space, which each run checks.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include <lttng-hyper/hypercall.h>

#include "common/number.h"

/* A chain of dependent adds: one per cycle on any CPU, no memory access. */
#define LOOP_ADDS	8

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t) ts.tv_sec * 1000000000 + (uint64_t) ts.tv_nsec;
}

/* ns per iteration of LOOP_ADDS dependent adds. */
static double time_loop(uint64_t n)
{
	uint64_t i, x = 0, start = now_ns();

	for (i = 0; i < n; i++) {
		__asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
			"add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
			: "+r"(x));
	}
	return (double) (now_ns() - start) / (double) n;
}

static double time_cpuid(uint64_t n)
{
	unsigned int eax, ebx, ecx, edx;
	uint64_t i, start = now_ns();

	for (i = 0; i < n; i++) {
		__cpuid(0, eax, ebx, ecx, edx);
		__asm__ volatile("" : : "r"(eax), "r"(ebx), "r"(ecx), "r"(edx));
	}
	return (double) (now_ns() - start) / (double) n;
}

/* ns per hypercall, or -1 if KVM did not answer as it does an unknown call. */
static double time_hypercall(enum lttng_hyper_hypercall_insn insn, uint64_t n, long *ret)
{
	uint64_t i, start = now_ns();

	for (i = 0; i < n; i++) {
		*ret = lttng_hyper_hypercall4(insn, LTTNG_HYPER_HC_MARK, 0, 0, 0, 0);
		if (*ret != -LTTNG_HYPER_KVM_EPERM && *ret != -LTTNG_HYPER_KVM_ENOSYS) {
			return -1;
		}
	}
	return (double) (now_ns() - start) / (double) n;
}

static void usage(FILE *f)
{
	fprintf(f, "Usage: hypercall-bench [-r RUNS] [-n CALLS]\n");
}

int main(int argc, char **argv)
{
	static const char *const insn_names[] = { "none", "vmcall", "vmmcall" };
	enum lttng_hyper_hypercall_insn insn;
	uint64_t runs = 5, calls = 100000, run;
	char sig[13];
	double ns;
	long ret;
	int opt;

	while ((opt = getopt(argc, argv, "r:n:h")) != -1) {
		switch (opt) {
		case 'r':
			if (lh_parse_u64(optarg, 1, 1000, &runs) < 0) {
				fprintf(stderr, "hypercall-bench: bad -r '%s'\n", optarg);
				return EXIT_FAILURE;
			}
			break;
		case 'n':
			if (lh_parse_u64(optarg, 1, UINT64_MAX / 100, &calls) < 0) {
				fprintf(stderr, "hypercall-bench: bad -n '%s'\n", optarg);
				return EXIT_FAILURE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			return EXIT_FAILURE;
		}
	}
	insn = lttng_hyper_hypercall_probe(sig);
	printf("hypervisor %s %s\n", insn_names[insn], sig[0] ? sig : "none");
	for (run = 1; run <= runs; run++) {
		/* The loop runs 100 times more iterations: each is a few ns. */
		printf("loop %" PRIu64 " %.3f\n", run, time_loop(calls * 100) / LOOP_ADDS);
		printf("cpuid %" PRIu64 " %.1f\n", run, time_cpuid(calls));
		if (insn != LTTNG_HYPER_HC_NONE) {
			ns = time_hypercall(insn, calls, &ret);
			if (ns < 0) {
				fprintf(stderr, "hypercall-bench: the hypercall returned %ld, not"
					" -%d or -%d: is this KVM?\n", ret, LTTNG_HYPER_KVM_EPERM,
					LTTNG_HYPER_KVM_ENOSYS);
				return EXIT_FAILURE;
			}
			printf("hypercall %" PRIu64 " %.1f\n", run, ns);
		}
		fflush(stdout);
	}
	return EXIT_SUCCESS;
}
