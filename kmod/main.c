// SPDX-License-Identifier: GPL-2.0
/*
 * Plasmatic: TLS 1.3 records, each followed by an Encrypted External Mount,
 * as a TCP upper layer protocol.  See SPEC.md and <linux/plasmatic.h>.
 */
#include <linux/module.h>
#include <net/tcp.h>

#include "context.h"
#include "pace.h"
#include "proc.h"

static int __init plasmatic_init(void)
{
	int err;

	err = plasmatic_proc_init();
	if (err)
		return err;
	err = plasmatic_ulp_register();
	if (err)
		goto err_proc;
	/* After the ULP: a pacer may look up sockets from then on. */
	return pl_pace_register();

err_proc:
	plasmatic_proc_exit();
	return err;
}

static void __exit plasmatic_exit(void)
{
	plasmatic_ulp_unregister();
	plasmatic_proc_exit();
}

module_init(plasmatic_init);
module_exit(plasmatic_exit);

MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Plasmatic: TLS 1.3 records with Encrypted External Mounts");
MODULE_ALIAS_TCP_ULP(PLASMATIC_ULP_NAME);
