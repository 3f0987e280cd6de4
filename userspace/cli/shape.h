/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plasmatic shape: the TPL pacer (bpf/pace.bpf.c) on a network device:
 * the fq qdisc as its root and the program at tc egress.
 */
#ifndef PLASMATIC_CLI_SHAPE_H
#define PLASMATIC_CLI_SHAPE_H

#include <stddef.h>

/*
 * Attach the pacer to @dev unless it is there; scale 1000 is real time.
 * Returns 0, or -1 with why in @err (no root, no module, no BPF...).
 */
int pl_shape_attach(const char *dev, unsigned int scale, char *err, size_t errlen);

/* For listen/connect --tpl-mode: the pacer on the device @fd sends from. */
int pl_shape_auto(int fd, char *err, size_t errlen);

#endif
