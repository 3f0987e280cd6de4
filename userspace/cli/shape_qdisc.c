// SPDX-License-Identifier: GPL-2.0
/*
 * The plasmatic_tpl BPF qdisc (bpf/tpl_qdisc.bpf.c) on kernels that have
 * BPF qdiscs (6.16 and later): whether the kernel can take it, and its
 * registration as a qdisc kind.
 *
 * Registration outlives the process: the qdisc's struct_ops map is
 * registered without a link, so the kernel keeps it (and `tc qdisc add ...
 * plasmatic_tpl` works) until pl_qdisc_unregister() deletes it.  The map
 * is found again by its type and name.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/version.h>

/* The skeleton's view of the program's data; UAPI has it from 6.2 on. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
struct bpf_rb_root {
	__u64 __opaque[2];
} __attribute__((aligned(8)));
#endif

#include "tpl_qdisc.skel.h"
#include "shape.h"

/* enum bpf_struct_ops_state: a registered map's value says INUSE. */
#define STRUCT_OPS_INUSE	1

bool pl_qdisc_supported(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	bool ok;

	if (!btf)
		return false;
	ok = btf__find_by_name_kind(btf, "bpf_struct_ops_Qdisc_ops", BTF_KIND_STRUCT) > 0;
	btf__free(btf);
	return ok;
}

/*
 * An fd for the registered plasmatic_tpl struct_ops map, or -1.  A map of
 * that name not (or no longer) registered does not count.
 */
static int registered_map(void)
{
	struct bpf_map_info info;
	__u32 id = 0, len, zero = 0;
	int fd, state;
	void *val;

	while (!bpf_map_get_next_id(id, &id)) {
		fd = bpf_map_get_fd_by_id(id);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (bpf_obj_get_info_by_fd(fd, &info, &len) ||
		    info.type != BPF_MAP_TYPE_STRUCT_OPS ||
		    strcmp(info.name, PL_QDISC_KIND) || info.value_size < 8) {
			close(fd);
			continue;
		}
		val = calloc(1, info.value_size);
		state = -1;
		if (val && !bpf_map_lookup_elem(fd, &zero, val))
			memcpy(&state, (char *)val + 4, sizeof(state));
		free(val);
		if (state == STRUCT_OPS_INUSE)
			return fd;
		close(fd);
	}
	return -1;
}

int pl_qdisc_register(char *err, size_t errlen)
{
	struct tpl_qdisc *skel;
	struct bpf_link *link;
	int fd;

	fd = registered_map();
	if (fd >= 0) {
		close(fd);
		return 0;
	}
	skel = tpl_qdisc__open_and_load();
	if (!skel) {
		snprintf(err, errlen, "the kernel refused the %s qdisc program (%s)",
			 PL_QDISC_KIND, strerror(errno));
		return -1;
	}
	link = bpf_map__attach_struct_ops(skel->maps.plasmatic_tpl);
	if (!link) {
		snprintf(err, errlen, "cannot register the %s qdisc: %s",
			 PL_QDISC_KIND, strerror(errno));
		tpl_qdisc__destroy(skel);
		return -1;
	}
	/* Keep the registration when our fds close. */
	bpf_link__disconnect(link);
	bpf_link__destroy(link);
	tpl_qdisc__destroy(skel);
	return 0;
}

void pl_qdisc_unregister(void)
{
	__u32 zero = 0;
	int fd = registered_map();

	if (fd < 0)
		return;
	bpf_map_delete_elem(fd, &zero);
	close(fd);
}
