// SPDX-License-Identifier: GPL-2.0
/*
 * Module lifecycle: plasmatic.ko loads, registers its ULP, shows in
 * /proc/modules, refuses to go away while an upgraded socket holds it, and
 * unloads cleanly, repeatedly.
 *
 * Runs as root inside the test VM (tools/vm), with the module not loaded.
 * PLASMATIC_KO names the module file (default kmod/plasmatic.ko).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "kselftest_harness.h"
#include "plmain.h"
#include "sockpair.h"

static const char *ko_path(void)
{
	const char *p = getenv("PLASMATIC_KO");

	return p ? p : "kmod/plasmatic.ko";
}

static int load_module(void)
{
	int fd = open(ko_path(), O_RDONLY | O_CLOEXEC);
	int ret;

	if (fd < 0)
		return -errno;
	ret = syscall(SYS_finit_module, fd, "", 0);
	ret = ret ? -errno : 0;
	close(fd);
	return ret;
}

static int unload_module(void)
{
	return syscall(SYS_delete_module, "plasmatic", O_NONBLOCK) ? -errno : 0;
}

/* Is "plasmatic" a line of /proc/modules? */
static int module_listed(void)
{
	char line[512];
	FILE *f = fopen("/proc/modules", "re");
	int found = 0;

	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, "plasmatic ", 10))
			found = 1;
	fclose(f);
	return found;
}

TEST(load_list_unload)
{
	ASSERT_EQ(0, module_listed());
	ASSERT_EQ(0, load_module());
	EXPECT_EQ(1, module_listed());
	/* A second load of the same module is refused. */
	EXPECT_EQ(-EEXIST, load_module());
	ASSERT_EQ(0, unload_module());
	EXPECT_EQ(0, module_listed());
}

TEST(ulp_registered_only_while_loaded)
{
	struct pl_sockpair sp;

	ASSERT_EQ(0, pl_sockpair_tcp(&sp));
	/* Without the module (and without autoload) the ULP is unknown. */
	EXPECT_NE(0, setsockopt(sp.a, SOL_TCP, TCP_ULP, "plasmatic", sizeof("plasmatic")));
	pl_sockpair_close(&sp);

	ASSERT_EQ(0, load_module());
	ASSERT_EQ(0, pl_sockpair_tcp(&sp));
	EXPECT_EQ(0, setsockopt(sp.a, SOL_TCP, TCP_ULP, "plasmatic", sizeof("plasmatic")));
	pl_sockpair_close(&sp);
	ASSERT_EQ(0, unload_module());
}

TEST(unload_refused_while_socket_upgraded)
{
	struct pl_sockpair sp;

	ASSERT_EQ(0, load_module());
	ASSERT_EQ(0, pl_sockpair_tcp(&sp));
	ASSERT_EQ(0, setsockopt(sp.a, SOL_TCP, TCP_ULP, "plasmatic", sizeof("plasmatic")));
	/* The upgraded socket pins the module. */
	EXPECT_EQ(-EWOULDBLOCK, unload_module());
	EXPECT_EQ(1, module_listed());
	pl_sockpair_close(&sp);
	/* The last reference goes with the socket, possibly a little later. */
	for (int i = 0; i < 100 && unload_module() == -EWOULDBLOCK; i++)
		usleep(10000);
	EXPECT_EQ(0, module_listed());
}

TEST(load_unload_100_times)
{
	for (int i = 0; i < 100; i++) {
		ASSERT_EQ(0, load_module());
		ASSERT_EQ(0, unload_module());
	}
	EXPECT_EQ(0, module_listed());
}

PL_HARNESS_MAIN
