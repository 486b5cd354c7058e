/* SPDX-License-Identifier: GPL-2.0-only */
/* lttng-hyper mark: runs lttng-hyper-mark (mark.c). */
#ifndef LH_HYPER_MARK_H
#define LH_HYPER_MARK_H

/*
 * If the command of argv is mark, run lttng-hyper-mark with its arguments
 * (and the -v given before it) in place of this process; returns only if
 * the command is not mark (0) or lttng-hyper-mark could not run (-1).
 */
int lh_mark_exec(int argc, const char **argv);

#endif /* LH_HYPER_MARK_H */
