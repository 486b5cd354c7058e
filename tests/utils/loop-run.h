/* SPDX-License-Identifier: GPL-2.0-only */
/* Running an event loop (src/common/loop.h) in a unit test, bounded. */
#ifndef LH_TESTS_LOOP_RUN_H
#define LH_TESTS_LOOP_RUN_H

#include <stdbool.h>
#include <stdint.h>

#include "common/loop.h"

/*
 * Run loop until cond(arg) holds (looked at every millisecond) or
 * timeout_ms passes; returns whether it held. A NULL cond runs the loop
 * for timeout_ms.
 */
bool lh_test_run_until(struct lh_loop *loop, bool (*cond)(void *), void *arg,
		uint64_t timeout_ms);
void lh_test_run_for(struct lh_loop *loop, uint64_t ms);

#endif /* LH_TESTS_LOOP_RUN_H */
