/* SPDX-License-Identifier: GPL-2.0 */
/*
 * plasmatic shape: the TPL pacer (bpf/pace.bpf.c) on a network device:
 * the program at tc egress and, as the device's root qdisc, fq or (on
 * kernels with BPF qdiscs) plasmatic_tpl.
 */
#ifndef PLASMATIC_CLI_SHAPE_H
#define PLASMATIC_CLI_SHAPE_H

#include <stdbool.h>
#include <stddef.h>

/* The BPF qdisc's kind, its struct_ops map's name (bpf/tpl_qdisc.bpf.c). */
#define PL_QDISC_KIND	"plasmatic_tpl"

/* shape_qdisc.c: whether the kernel has BPF qdiscs (6.16 and later). */
bool pl_qdisc_supported(void);
/* Register plasmatic_tpl as a qdisc kind unless it is; 0 or -1 and @err. */
int pl_qdisc_register(char *err, size_t errlen);
/* Take the registration back (when no device uses the qdisc any more). */
void pl_qdisc_unregister(void);

/*
 * Attach the pacer to @dev unless it is there; scale 1000 is real time.
 * Returns 0, or -1 with why in @err (no root, no module, no BPF...).
 */
int pl_shape_attach(const char *dev, unsigned int scale, char *err, size_t errlen);
/* The same with the root qdisc chosen: "fq", PL_QDISC_KIND or NULL (the best here). */
int pl_shape_attach_qdisc(const char *dev, unsigned int scale, const char *qdisc,
			  char *err, size_t errlen);

/*
 * For listen/connect --tpl-mode: the pacer (real time) on the device @fd's
 * segments leave by, named in @dev (IF_NAMESIZE bytes).  0 if it was there
 * (whatever its scale), 1 if attached now, -1 with why in @err.
 */
int pl_shape_auto(int fd, char *dev, size_t devlen, char *err, size_t errlen);

#endif
