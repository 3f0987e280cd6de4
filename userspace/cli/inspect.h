/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plasmatic inspect: what an observer of a packet capture sees of
 * Plasmatic connections (record sizes, gaps, KS distance to a TPL mode).
 */
#ifndef PLASMATIC_CLI_INSPECT_H
#define PLASMATIC_CLI_INSPECT_H

/* argv[0] is "inspect"; returns the exit status (0, 1 capture, 2 usage). */
int cmd_inspect(int argc, char **argv);

#endif
