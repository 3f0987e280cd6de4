// SPDX-License-Identifier: GPL-2.0
/*
 * plasmatic shape --dev DEV [--off | --status] [--time-scale N] [--qdisc Q]
 *
 * Puts the TPL pacer on a device: bpf/pace.bpf.c at tc egress (it sets
 * skb->tstamp from plasmatic.ko's schedule through the module's kfunc) and
 * a root qdisc that holds each packet until skb->tstamp: fq, or on kernels
 * with BPF qdiscs (6.16 and later) our own plasmatic_tpl
 * (bpf/tpl_qdisc.bpf.c, shape_qdisc.c).  Idempotent both ways; --off
 * removes the program, the root qdisc (and plasmatic_tpl's registration
 * once no device uses it) and the clsact qdisc when no other filter is
 * left on it.  The programs are loaded from their libbpf skeletons, so it
 * needs plasmatic.ko (with BTF) loaded, root (CAP_BPF, CAP_NET_ADMIN) and
 * the tc binary (iproute2) for the root qdisc.
 *
 * Without the pacer the sizes are still shaped; only the timing is not.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ifaddrs.h>
#include <limits.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <net/if.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pace.h"
#include "pace.skel.h"
#include "cli.h"
#include "shape.h"

extern char **environ;

/* Our filter's place on the egress hook (handle "PL", first priority). */
#define SHAPE_HANDLE	0x504c
#define SHAPE_PRIO	1
#define MODULE_BTF	"/sys/kernel/btf/plasmatic"

static void seterr(char *err, size_t len, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, len, fmt, ap);
	va_end(ap);
}

/*
 * Run tc with @args (NULL-terminated); its status.  Its standard output
 * goes to @out (up to @len - 1 bytes, NUL-terminated) when given, else
 * with its errors to /dev/null.
 */
static int run_tc(const char *const *args, char *out, size_t len)
{
	posix_spawn_file_actions_t fa;
	int n = 0, status, p[2] = { -1, -1 };
	char *argv[16];
	size_t got = 0;
	ssize_t r;
	pid_t pid;

	argv[n++] = "tc";
	while (*args && n < 15)
		argv[n++] = (char *)*args++;
	argv[n] = NULL;
	if (out && pipe2(p, O_CLOEXEC))
		return -1;
	if (posix_spawn_file_actions_init(&fa))
		goto fail;
	if (out)
		posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	else
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
	n = posix_spawnp(&pid, "tc", &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (n)
		goto fail;
	if (out) {
		close(p[1]);
		p[1] = -1;
		while (got + 1 < len && (r = read(p[0], out + got, len - 1 - got)) > 0)
			got += r;
		out[got] = 0;
		close(p[0]);
	}
	if (waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
fail:
	if (out) {
		close(p[0]);
		close(p[1]);
	}
	return -1;
}

static void hook_init(struct bpf_tc_hook *hook, int ifindex, enum bpf_tc_attach_point at)
{
	memset(hook, 0, sizeof(*hook));
	hook->sz = sizeof(*hook);
	hook->ifindex = ifindex;
	hook->attach_point = at;
}

/* Whether our filter is on @ifindex's egress hook. */
static int attached(int ifindex)
{
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SHAPE_HANDLE, .priority = SHAPE_PRIO);
	struct bpf_tc_hook hook;

	hook_init(&hook, ifindex, BPF_TC_EGRESS);
	return bpf_tc_query(&hook, &opts) == 0;
}

static int check_dev(const char *dev, char *err, size_t errlen)
{
	int ifindex;

	if (!dev || !*dev || strlen(dev) >= IF_NAMESIZE) {
		seterr(err, errlen, "bad device name");
		return 0;
	}
	ifindex = if_nametoindex(dev);
	if (!ifindex)
		seterr(err, errlen, "no device '%s'", dev);
	return ifindex;
}

/* Whether @dev's root qdisc is of @kind. */
static bool root_is(const char *dev, const char *kind)
{
	const char *show[] = { "qdisc", "show", "dev", dev, "root", NULL };
	char out[256], want[64];

	snprintf(want, sizeof(want), "qdisc %s ", kind);
	return !run_tc(show, out, sizeof(out)) && !strncmp(out, want, strlen(want));
}

/*
 * Make @kind (fq or plasmatic_tpl) @dev's root qdisc: fq with a horizon
 * long enough for mode 7's delays (capped, never dropped), plasmatic_tpl
 * registered first.
 */
static int set_root(const char *dev, const char *kind, char *err, size_t errlen)
{
	const char *fq[] = { "qdisc", "replace", "dev", dev, "root", "fq",
			     "horizon", "60s", "horizon_cap", "flow_limit", "1000", NULL };
	const char *tpl[] = { "qdisc", "replace", "dev", dev, "root", PL_QDISC_KIND, NULL };
	int rc;

	if (strcmp(kind, "fq")) {
		if (pl_qdisc_register(err, errlen))
			return -1;
		/* plasmatic_tpl has no change operation: replacing it fails. */
		if (root_is(dev, PL_QDISC_KIND))
			return 0;
	}
	rc = run_tc(strcmp(kind, "fq") ? tpl : fq, NULL, 0);
	if (!rc)
		return 0;
	if (rc < 0)
		seterr(err, errlen, "cannot run tc (install iproute2)");
	else
		seterr(err, errlen, "tc could not make %s the root qdisc of %s%s", kind, dev,
		       strcmp(kind, "fq") ? "" : " (sch_fq missing?)");
	return -1;
}

int pl_shape_attach(const char *dev, unsigned int scale, char *err, size_t errlen)
{
	return pl_shape_attach_qdisc(dev, scale, NULL, err, errlen);
}

int pl_shape_attach_qdisc(const char *dev, unsigned int scale, const char *qdisc,
			  char *err, size_t errlen)
{
	struct bpf_tc_hook hook;
	struct stat st;
	struct pace *skel;
	int ifindex, rc;

	ifindex = check_dev(dev, err, errlen);
	if (!ifindex)
		return -1;
	if (scale < 1 || scale > PACE_SCALE_MAX) {
		seterr(err, errlen, "time scale %u out of 1..%u", scale, PACE_SCALE_MAX);
		return -1;
	}
	if (geteuid() != 0) {
		seterr(err, errlen, "the pacer needs root (CAP_BPF and CAP_NET_ADMIN)");
		return -1;
	}
	if (stat(MODULE_BTF, &st)) {
		seterr(err, errlen, "plasmatic.ko is not loaded, or was built without BTF "
		       "(%s missing)", MODULE_BTF);
		return -1;
	}

	if (!qdisc)
		qdisc = pl_qdisc_supported() ? PL_QDISC_KIND : "fq";
	if (strcmp(qdisc, "fq") && !pl_qdisc_supported()) {
		seterr(err, errlen, "this kernel has no BPF qdiscs (6.16 and later): "
		       "use --qdisc fq");
		return -1;
	}
	if (set_root(dev, qdisc, err, errlen))
		return -1;

	skel = pace__open();
	if (!skel) {
		seterr(err, errlen, "cannot open the pacer program: %s", strerror(errno));
		return -1;
	}
	skel->rodata->time_scale = scale;
	if (pace__load(skel)) {
		seterr(err, errlen, "the kernel refused the pacer program (%s): "
		       "BPF or the module's kfunc missing", strerror(errno));
		pace__destroy(skel);
		return -1;
	}
	hook_init(&hook, ifindex, BPF_TC_EGRESS);
	rc = bpf_tc_hook_create(&hook);
	if (rc && rc != -EEXIST) {
		seterr(err, errlen, "cannot add clsact to %s: %s", dev, strerror(-rc));
		pace__destroy(skel);
		return -1;
	}
	{
		LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SHAPE_HANDLE, .priority = SHAPE_PRIO,
			    .flags = BPF_TC_F_REPLACE,
			    .prog_fd = bpf_program__fd(skel->progs.plasmatic_pace));

		rc = bpf_tc_attach(&hook, &opts);
	}
	/* The filter holds the program; our references can go. */
	pace__destroy(skel);
	if (rc) {
		seterr(err, errlen, "cannot attach the pacer to %s: %s", dev, strerror(-rc));
		return -1;
	}
	return 0;
}

static int shape_detach(const char *dev, char *err, size_t errlen)
{
	const char *del_root[] = { "qdisc", "del", "dev", dev, "root", NULL };
	const char *del_clsact[] = { "qdisc", "del", "dev", dev, "clsact", NULL };
	const char *show_egress[] = { "filter", "show", "dev", dev, "egress", NULL };
	const char *show_ingress[] = { "filter", "show", "dev", dev, "ingress", NULL };
	const char *show_any[] = { "qdisc", "show", NULL };
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = SHAPE_HANDLE, .priority = SHAPE_PRIO);
	struct bpf_tc_hook hook;
	char out[16384];
	int ifindex, rc;

	ifindex = check_dev(dev, err, errlen);
	if (!ifindex)
		return -1;
	if (geteuid() != 0) {
		seterr(err, errlen, "removing the pacer needs root (CAP_NET_ADMIN)");
		return -1;
	}
	hook_init(&hook, ifindex, BPF_TC_EGRESS);
	rc = bpf_tc_detach(&hook, &opts);
	if (rc && rc != -ENOENT && rc != -EINVAL) {
		seterr(err, errlen, "cannot detach the pacer from %s: %s", dev, strerror(-rc));
		return -1;
	}
	/* The root back to the device's default; nothing to do when it is not ours. */
	run_tc(del_root, NULL, 0);
	if (pl_qdisc_supported() && !run_tc(show_any, out, sizeof(out)) &&
	    !strstr(out, "qdisc " PL_QDISC_KIND " "))
		pl_qdisc_unregister();
	/* clsact only when no filter is left on it, ours or another's. */
	if (!run_tc(show_egress, out, sizeof(out)) && !*out &&
	    !run_tc(show_ingress, out, sizeof(out)) && !*out)
		run_tc(del_clsact, NULL, 0);
	return 0;
}

/* The device whose address @fd's local end has ("lo" for loopback). */
static int dev_of(int fd, char *dev, size_t len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct ifaddrs *ifa, *i;
	int found = -1;

	if (getsockname(fd, (struct sockaddr *)&ss, &sl) || getifaddrs(&ifa))
		return -1;
	for (i = ifa; i && found; i = i->ifa_next) {
		if (!i->ifa_addr || i->ifa_addr->sa_family != ss.ss_family)
			continue;
		if (ss.ss_family == AF_INET &&
		    ((struct sockaddr_in *)i->ifa_addr)->sin_addr.s_addr ==
		    ((struct sockaddr_in *)&ss)->sin_addr.s_addr)
			found = 0;
		else if (ss.ss_family == AF_INET6 &&
			 !memcmp(&((struct sockaddr_in6 *)i->ifa_addr)->sin6_addr,
				 &((struct sockaddr_in6 *)&ss)->sin6_addr, 16))
			found = 0;
		if (!found)
			snprintf(dev, len, "%s", i->ifa_name);
	}
	freeifaddrs(ifa);
	return found;
}

/*
 * The output device of the route to @fd's peer (with the socket's mark),
 * asked of the kernel by RTM_GETROUTE: its ifindex, or 0.  A local peer
 * (our own address, 127.0.0.1) routes by lo.
 */
static int route_oif(int fd)
{
	struct {
		struct nlmsghdr nh;
		struct rtmsg rt;
		char attrs[64];
	} req;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
	const void *addr = &((struct sockaddr_in *)&ss)->sin_addr;
	struct rtattr *rta;
	struct nlmsghdr *nh;
	int nl, oif = 0, len, alen = 4, family = AF_INET;
	uint32_t mark = 0;
	socklen_t ml = sizeof(mark);
	union {
		struct nlmsghdr nh;
		char b[4096];
	} buf;

	if (getpeername(fd, (struct sockaddr *)&ss, &sl))
		return 0;
	if (ss.ss_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&s6->sin6_addr)) {
		addr = &s6->sin6_addr.s6_addr[12];
	} else if (ss.ss_family == AF_INET6) {
		addr = &s6->sin6_addr;
		alen = 16;
		family = AF_INET6;
	} else if (ss.ss_family != AF_INET) {
		return 0;
	}
	memset(&req, 0, sizeof(req));
	req.nh.nlmsg_len = NLMSG_LENGTH(sizeof(req.rt));
	req.nh.nlmsg_type = RTM_GETROUTE;
	req.nh.nlmsg_flags = NLM_F_REQUEST;
	req.rt.rtm_family = family;
	req.rt.rtm_dst_len = alen * 8;
	rta = (struct rtattr *)((char *)&req + NLMSG_ALIGN(req.nh.nlmsg_len));
	rta->rta_type = RTA_DST;
	rta->rta_len = RTA_LENGTH(alen);
	memcpy(RTA_DATA(rta), addr, alen);
	req.nh.nlmsg_len = NLMSG_ALIGN(req.nh.nlmsg_len) + RTA_ALIGN(rta->rta_len);
	if (!getsockopt(fd, SOL_SOCKET, SO_MARK, &mark, &ml) && mark) {
		rta = (struct rtattr *)((char *)&req + req.nh.nlmsg_len);
		rta->rta_type = RTA_MARK;
		rta->rta_len = RTA_LENGTH(sizeof(mark));
		memcpy(RTA_DATA(rta), &mark, sizeof(mark));
		req.nh.nlmsg_len += RTA_ALIGN(rta->rta_len);
	}
	nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (nl < 0)
		return 0;
	if (send(nl, &req, req.nh.nlmsg_len, 0) < 0) {
		close(nl);
		return 0;
	}
	len = (int)recv(nl, &buf, sizeof(buf), 0);
	close(nl);
	nh = &buf.nh;
	if (len <= 0 || !NLMSG_OK(nh, (unsigned int)len) || nh->nlmsg_type != RTM_NEWROUTE)
		return 0;
	len = RTM_PAYLOAD(nh);
	for (rta = RTM_RTA(NLMSG_DATA(nh)); RTA_OK(rta, len); rta = RTA_NEXT(rta, len))
		if (rta->rta_type == RTA_OIF && RTA_PAYLOAD(rta) >= sizeof(int))
			memcpy(&oif, RTA_DATA(rta), sizeof(oif));
	return oif;
}

/*
 * The device @fd's segments leave by: the one it is bound to
 * (SO_BINDTODEVICE), else the route's to its peer, else the one owning
 * its local address.
 */
static int egress_dev(int fd, char *dev, size_t len)
{
	char name[IF_NAMESIZE] = "";
	socklen_t nl = sizeof(name);
	int oif;

	if (!getsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, name, &nl) && nl > 1 && *name) {
		snprintf(dev, len, "%.*s", (int)nl, name);
		return 0;
	}
	oif = route_oif(fd);
	if (oif && if_indextoname(oif, name)) {
		snprintf(dev, len, "%s", name);
		return 0;
	}
	return dev_of(fd, dev, len);
}

int pl_shape_auto(int fd, char *dev, size_t devlen, char *err, size_t errlen)
{
	int ifindex;

	libbpf_set_print(NULL);
	if (egress_dev(fd, dev, devlen)) {
		*dev = 0;
		seterr(err, errlen, "cannot tell which device the connection leaves by");
		return -1;
	}
	ifindex = if_nametoindex(dev);
	if (ifindex && attached(ifindex))
		return 0;
	return pl_shape_attach(dev, PACE_SCALE_REAL, err, errlen) ? -1 : 1;
}

static void usage(FILE *f)
{
	fprintf(f,
"usage: plasmatic shape --dev DEV [--off | --status] [--time-scale N]\n"
"                       [--qdisc fq|plasmatic_tpl]\n"
"\n"
"Put the traffic pattern pacer on DEV (or take it off): a BPF program at tc\n"
"egress that gives each record of a shaped Plasmatic connection (--tpl-mode\n"
"1..8, kernel datapath) its drawn departure time, and a root qdisc that\n"
"holds packets until then.  Needs root, plasmatic.ko loaded and tc\n"
"(iproute2).  Without it, record sizes are still shaped, their timing is not.\n"
"\n"
"options:\n"
"  --dev DEV        the network device the connections leave by\n"
"  --off            remove the pacer (and fq, and clsact if left empty)\n"
"  --status         print whether the pacer is on DEV; exit 0 if it is, 1 if not\n"
"  --time-scale N   multiply every delay by N/1000 (1..%u; default 1000):\n"
"                   for tests and demonstrations\n"
"  --qdisc Q        the root qdisc: fq, or plasmatic_tpl (a BPF qdisc; kernels\n"
"                   6.16 and later, where it is the default)\n"
"  -h, --help       this text\n", PACE_SCALE_MAX);
}

struct shape_opts {
	const char *dev, *qdisc;
	long scale;
	int off, status;
};

static const struct optdef shape_opts[] = {
	{ .name = "dev", .kind = OPT_STR, OPT_FIELD(struct shape_opts, dev) },
	{ .name = "off", .kind = OPT_FLAG, .lo = 1,
	  OPT_FIELD(struct shape_opts, off) },
	{ .name = "status", .kind = OPT_FLAG, .lo = 1,
	  OPT_FIELD(struct shape_opts, status) },
	{ .name = "qdisc", .kind = OPT_STR, OPT_FIELD(struct shape_opts, qdisc) },
	{ .name = "time-scale", .kind = OPT_INT, .lo = 1, .hi = PACE_SCALE_MAX,
	  OPT_FIELD(struct shape_opts, scale) },
	{ .name = NULL },
};

static int run_shape(int argc, char **argv)
{
	struct shape_opts o = { .scale = PACE_SCALE_REAL };
	int rc, first, ifindex;
	char err[256];

	/* Our own messages say what failed; libbpf's would repeat it. */
	libbpf_set_print(NULL);
	rc = opt_parse(&cmd_shape, argc, argv, &o, &first);
	if (!rc)
		rc = opt_args(&cmd_shape, argc, argv, first, 0, NULL);
	if (rc)
		return rc < 0 ? 0 : rc;
	if (!o.dev || (o.off && o.status)) {
		msg("%s (see plasmatic shape --help)", !o.dev ?
		    "--dev DEV is required" :
		    "--off and --status exclude each other");
		return 2;
	}
	if (o.qdisc && strcmp(o.qdisc, "fq") && strcmp(o.qdisc, PL_QDISC_KIND)) {
		msg("--qdisc must be fq or %s (see plasmatic shape --help)", PL_QDISC_KIND);
		return 2;
	}
	if (cli_parse_only)
		return 0;
	if (o.status) {
		ifindex = check_dev(o.dev, err, sizeof(err));
		if (!ifindex) {
			msg("%s", err);
			return 1;
		}
		rc = attached(ifindex);
		printf("pacer on %s: %s\n", o.dev, rc ? "yes" : "no");
		return rc ? 0 : 1;
	}
	if (o.off ? shape_detach(o.dev, err, sizeof(err)) :
		    pl_shape_attach_qdisc(o.dev, (unsigned int)o.scale, o.qdisc,
					  err, sizeof(err))) {
		msg("%s", err);
		return 1;
	}
	return 0;
}

const struct command cmd_shape = {
	.name = "shape",
	.run = run_shape,
	.usage = usage,
	.tables = (const struct optdef *const[]){ opt_help, shape_opts, NULL },
	.tagged = true,
};
