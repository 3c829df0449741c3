/*
 * rn-net: the network side of rn-init (compiled into the same binary; docs/runtime.md, "Networks").
 *
 * The bridge network lives in a network namespace of the node's own, kept alive by a bind mount
 * of its nsfs file at <root>/netns/bridge: the bridge rn0, the host ends of the veth pairs and
 * the forwarders' connections are all in there; the host's own network namespace gets nothing
 * (no interface, route or iptables rule). Everything here talks rtnetlink directly rather than
 * running iproute2's `ip`: it is a few hundred bytes of messages, needs no tool on the host,
 * and every step runs in a single-threaded C process, where setns(2) is safe (in the CLR it is
 * not: another thread could run in whichever namespace the switching thread left behind).
 *
 * Three entry points:
 *   rn_bridge_up     `rn-init --bridge NETNS BRIDGE ADDR/PREFIX`: makes the namespace and the bridge if missing
 *   rn_attach_veth   called by the container's init right after it unshared its network namespace
 *   rn_forward       `rn-init --forward NETNS STATUS_FD PORT=IP:PORT...`: the published-port forwarder
 */
#define _GNU_SOURCE
#include "rn-net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/veth.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#ifndef NSFS_MAGIC
#define NSFS_MAGIC 0x6e736673
#endif

static char error_text[512];

static int failed(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int failed(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(error_text, sizeof error_text, fmt, ap);
	va_end(ap);
	errno = saved;
	return -1;
}

const char *rn_net_error(void)
{
	return error_text;
}

/* ---- rtnetlink: one request, one acknowledgement ---------------------------------------- */

struct nlmsg {
	union {
		struct nlmsghdr header;
		char buf[2048];
	};
};

static void nl_start(struct nlmsg *m, int type, int flags, const void *body, size_t len)
{
	memset(m, 0, sizeof *m);
	m->header.nlmsg_len = NLMSG_LENGTH(len);
	m->header.nlmsg_type = (unsigned short)type;
	m->header.nlmsg_flags = (unsigned short)(NLM_F_REQUEST | NLM_F_ACK | flags);
	memcpy(NLMSG_DATA(&m->header), body, len);
}

static struct rtattr *nl_attr(struct nlmsg *m, int type, const void *data, size_t len)
{
	struct rtattr *attr = (struct rtattr *)(m->buf + NLMSG_ALIGN(m->header.nlmsg_len));
	attr->rta_type = (unsigned short)type;
	attr->rta_len = (unsigned short)RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(attr), data, len);
	m->header.nlmsg_len = NLMSG_ALIGN(m->header.nlmsg_len) + RTA_ALIGN(attr->rta_len);
	return attr;
}

static void nl_string(struct nlmsg *m, int type, const char *value)
{
	nl_attr(m, type, value, strlen(value) + 1);
}

/* Appends raw bytes (the ifinfomsg a veth peer starts with) inside the current nest. */
static void nl_raw(struct nlmsg *m, const void *data, size_t len)
{
	memcpy(m->buf + NLMSG_ALIGN(m->header.nlmsg_len), data, len);
	m->header.nlmsg_len = NLMSG_ALIGN(m->header.nlmsg_len) + (unsigned)NLMSG_ALIGN(len);
}

static void nl_end(struct nlmsg *m, struct rtattr *nest)
{
	nest->rta_len = (unsigned short)(m->buf + m->header.nlmsg_len - (char *)nest);
}

/* The request's result: 0, or -1 with errno set from the kernel's answer. */
static int nl_talk(int sock, struct nlmsg *m)
{
	static unsigned seq;
	m->header.nlmsg_seq = ++seq;
	if (send(sock, m, m->header.nlmsg_len, 0) < 0)
		return -1;
	char answer[4096];
	for (;;) {
		ssize_t n = recv(sock, answer, sizeof answer, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		for (struct nlmsghdr *h = (struct nlmsghdr *)answer; NLMSG_OK(h, (unsigned)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_seq != m->header.nlmsg_seq || h->nlmsg_type != NLMSG_ERROR)
				continue;
			int code = ((struct nlmsgerr *)NLMSG_DATA(h))->error;
			if (code == 0)
				return 0;
			errno = -code;
			return -1;
		}
	}
}

static int nl_open(void)
{
	int sock = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	struct sockaddr_nl local = {.nl_family = AF_NETLINK};
	if (sock < 0 || bind(sock, (struct sockaddr *)&local, sizeof local) < 0)
		return -1;
	return sock;
}

static int link_up(int sock, int index)
{
	struct ifinfomsg info = {.ifi_family = AF_UNSPEC, .ifi_index = index, .ifi_flags = IFF_UP, .ifi_change = IFF_UP};
	struct nlmsg m;
	nl_start(&m, RTM_NEWLINK, 0, &info, sizeof info);
	return nl_talk(sock, &m);
}

static int link_master(int sock, int index, int master)
{
	struct ifinfomsg info = {.ifi_family = AF_UNSPEC, .ifi_index = index};
	struct nlmsg m;
	nl_start(&m, RTM_NEWLINK, 0, &info, sizeof info);
	unsigned value = (unsigned)master;
	nl_attr(&m, IFLA_MASTER, &value, sizeof value);
	return nl_talk(sock, &m);
}

static int add_address(int sock, int index, struct in_addr address, int prefix)
{
	struct ifaddrmsg info = {.ifa_family = AF_INET, .ifa_prefixlen = (unsigned char)prefix, .ifa_index = (unsigned)index};
	struct nlmsg m;
	nl_start(&m, RTM_NEWADDR, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
	nl_attr(&m, IFA_LOCAL, &address, sizeof address);
	nl_attr(&m, IFA_ADDRESS, &address, sizeof address);
	return nl_talk(sock, &m);
}

static int add_default_route(int sock, struct in_addr gateway)
{
	struct rtmsg info = {
		.rtm_family = AF_INET, .rtm_table = RT_TABLE_MAIN, .rtm_protocol = RTPROT_BOOT,
		.rtm_scope = RT_SCOPE_UNIVERSE, .rtm_type = RTN_UNICAST,
	};
	struct nlmsg m;
	nl_start(&m, RTM_NEWROUTE, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
	nl_attr(&m, RTA_GATEWAY, &gateway, sizeof gateway);
	return nl_talk(sock, &m);
}

static int create_bridge(int sock, const char *name)
{
	struct ifinfomsg info = {.ifi_family = AF_UNSPEC};
	struct nlmsg m;
	nl_start(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
	nl_string(&m, IFLA_IFNAME, name);
	struct rtattr *linkinfo = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	nl_string(&m, IFLA_INFO_KIND, "bridge");
	nl_end(&m, linkinfo);
	return nl_talk(sock, &m);
}

/* A veth pair NAME <-> PEER made in this namespace, with PEER created straight in PEER_NETNS. */
static int create_veth(int sock, const char *name, const char *peer, int peer_netns)
{
	struct ifinfomsg info = {.ifi_family = AF_UNSPEC};
	struct nlmsg m;
	nl_start(&m, RTM_NEWLINK, NLM_F_CREATE | NLM_F_EXCL, &info, sizeof info);
	nl_string(&m, IFLA_IFNAME, name);
	struct rtattr *linkinfo = nl_attr(&m, IFLA_LINKINFO, NULL, 0);
	nl_string(&m, IFLA_INFO_KIND, "veth");
	struct rtattr *data = nl_attr(&m, IFLA_INFO_DATA, NULL, 0);
	struct rtattr *peer_info = nl_attr(&m, VETH_INFO_PEER, NULL, 0);
	nl_raw(&m, &info, sizeof info);
	nl_string(&m, IFLA_IFNAME, peer);
	unsigned fd = (unsigned)peer_netns;
	nl_attr(&m, IFLA_NET_NS_FD, &fd, sizeof fd);
	nl_end(&m, peer_info);
	nl_end(&m, data);
	nl_end(&m, linkinfo);
	return nl_talk(sock, &m);
}

/* "10.88.0.5/16" -> address and prefix. */
static int parse_cidr(const char *text, struct in_addr *address, int *prefix)
{
	char copy[64];
	snprintf(copy, sizeof copy, "%s", text);
	char *slash = strchr(copy, '/');
	if (!slash)
		return -1;
	*slash = '\0';
	char *end;
	long value = strtol(slash + 1, &end, 10);
	if (*end || value < 1 || value > 30 || inet_pton(AF_INET, copy, address) != 1)
		return -1;
	*prefix = (int)value;
	return 0;
}

static int is_nsfs(int fd)
{
	struct statfs fs;
	return fstatfs(fd, &fs) == 0 && fs.f_type == NSFS_MAGIC;
}

/* ---- the node's bridge namespace -------------------------------------------------------- */

int rn_bridge_up(const char *netns_path, const char *bridge, const char *cidr)
{
	struct in_addr address;
	int prefix;
	if (parse_cidr(cidr, &address, &prefix))
		return failed("bad bridge address %s", cidr);
	int ns = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (ns >= 0 && is_nsfs(ns)) {
		if (setns(ns, CLONE_NEWNET) < 0)
			return failed("enter the network namespace %s: %s", netns_path, strerror(errno));
	} else {
		/* The namespace lives as long as its nsfs file stays bind-mounted at NETNS_PATH. */
		int file = open(netns_path, O_WRONLY | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0444);
		if (file < 0)
			return failed("create %s: %s", netns_path, strerror(errno));
		close(file);
		if (unshare(CLONE_NEWNET) < 0)
			return failed("create a network namespace: %s", strerror(errno));
		if (mount("/proc/self/ns/net", netns_path, NULL, MS_BIND, NULL) < 0)
			return failed("bind-mount the network namespace on %s: %s", netns_path, strerror(errno));
	}
	if (ns >= 0)
		close(ns);

	int sock = nl_open();
	if (sock < 0)
		return failed("open a netlink socket: %s", strerror(errno));
	if (link_up(sock, (int)if_nametoindex("lo")) < 0)
		return failed("bring loopback up in the bridge namespace: %s", strerror(errno));
	if (if_nametoindex(bridge) == 0) {
		if (create_bridge(sock, bridge) < 0)
			return failed("create the bridge %s: %s", bridge, strerror(errno));
		int index = (int)if_nametoindex(bridge);
		if (add_address(sock, index, address, prefix) < 0)
			return failed("give %s the address %s: %s", bridge, cidr, strerror(errno));
		if (link_up(sock, index) < 0)
			return failed("bring %s up: %s", bridge, strerror(errno));
	}
	close(sock);
	return 0;
}

/* ---- a container's end of the bridge ------------------------------------------------------ */

int rn_attach_veth(const struct rn_bridge_attach *a)
{
	struct in_addr address, gateway;
	int prefix;
	if (parse_cidr(a->address, &address, &prefix) || inet_pton(AF_INET, a->gateway, &gateway) != 1)
		return failed("bad address %s or gateway %s", a->address, a->gateway);
	int own = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	int bridge_ns = open(a->netns, O_RDONLY | O_CLOEXEC);
	if (own < 0 || bridge_ns < 0)
		return failed("open the bridge network namespace %s: %s", a->netns, strerror(errno));
	if (!is_nsfs(bridge_ns))
		return failed("%s is not a network namespace (is the node's bridge set up?)", a->netns);
	int sock = nl_open();
	if (sock < 0)
		return failed("open a netlink socket: %s", strerror(errno));
	/* eth0 here, its peer created directly in the bridge's namespace: the host never sees either. */
	if (create_veth(sock, "eth0", a->host_veth, bridge_ns) < 0)
		return failed("create the veth pair eth0/%s: %s", a->host_veth, strerror(errno));

	/* This process is single-threaded: switching its network namespace back and forth is safe. */
	if (setns(bridge_ns, CLONE_NEWNET) < 0)
		return failed("enter the bridge network namespace: %s", strerror(errno));
	int bridge_sock = nl_open();
	int peer = (int)if_nametoindex(a->host_veth), master = (int)if_nametoindex(a->bridge);
	if (bridge_sock < 0 || peer == 0 || master == 0)
		return failed("find %s and %s in the bridge namespace: %s", a->host_veth, a->bridge, strerror(errno));
	if (link_master(bridge_sock, peer, master) < 0 || link_up(bridge_sock, peer) < 0)
		return failed("attach %s to %s: %s", a->host_veth, a->bridge, strerror(errno));
	close(bridge_sock);
	if (setns(own, CLONE_NEWNET) < 0)
		return failed("return to the container's network namespace: %s", strerror(errno));
	close(own);
	close(bridge_ns);

	int eth0 = (int)if_nametoindex("eth0");
	if (eth0 == 0 || add_address(sock, eth0, address, prefix) < 0 || link_up(sock, eth0) < 0)
		return failed("configure eth0 with %s: %s", a->address, strerror(errno));
	if (add_default_route(sock, gateway) < 0)
		return failed("add the default route via %s: %s", a->gateway, strerror(errno));
	close(sock);
	return 0;
}

/* ---- the published-port forwarder ------------------------------------------------------- */

/*
 * Like docker's userland proxy: listening sockets on the host's 127.0.0.1, bound before this
 * process enters the bridge namespace (a socket keeps the namespace it was made in), and per
 * accepted connection a new socket made after the switch, so it connects inside the bridge
 * namespace to the container's address. One poll loop copies bytes both ways; a half-close is
 * passed on with shutdown(SHUT_WR). It ends when its stdin closes (its owner went away or
 * closed it) or on SIGTERM.
 */

#define MAX_PORTS 64
#define MAX_PAIRS 512
#define PIPE_SIZE 65536

struct mapping {
	int listener;
	struct sockaddr_in target;
};

struct direction {
	char data[PIPE_SIZE];
	size_t start, end;
	int eof; /* the source has ended: shut the destination's write side once drained */
};

struct pair {
	int client, upstream, connecting;
	struct direction up, down; /* up: client -> container; down: container -> client */
};

static struct pair *pairs[MAX_PAIRS];

static void close_pair(int i)
{
	close(pairs[i]->client);
	close(pairs[i]->upstream);
	free(pairs[i]);
	pairs[i] = NULL;
}

/* Moves what can move from FROM to TO; returns -1 when the pair is finished or broken. */
static int pump(int from, int to, struct direction *d, short from_events, short to_events)
{
	if ((from_events & (POLLIN | POLLHUP | POLLERR)) && !d->eof && d->end < sizeof d->data) {
		ssize_t n = recv(from, d->data + d->end, sizeof d->data - d->end, MSG_DONTWAIT);
		if (n > 0)
			d->end += (size_t)n;
		else if (n == 0)
			d->eof = 1;
		else if (errno != EAGAIN && errno != EINTR)
			return -1;
	}
	if ((to_events & POLLOUT) && d->start < d->end) {
		ssize_t n = send(to, d->data + d->start, d->end - d->start, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (n > 0)
			d->start += (size_t)n;
		else if (n < 0 && errno != EAGAIN && errno != EINTR)
			return -1;
	}
	if (d->start == d->end)
		d->start = d->end = 0;
	if (d->eof == 1 && d->start == d->end) {
		shutdown(to, SHUT_WR);
		d->eof = 2;
	}
	return 0;
}

static void accept_one(const struct mapping *m)
{
	int client = accept4(m->listener, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (client < 0)
		return;
	int slot = 0;
	while (slot < MAX_PAIRS && pairs[slot])
		slot++;
	int upstream = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	struct pair *p = slot < MAX_PAIRS && upstream >= 0 ? calloc(1, sizeof *p) : NULL;
	if (!p || (connect(upstream, (const struct sockaddr *)&m->target, sizeof m->target) < 0 && errno != EINPROGRESS)) {
		close(client);
		if (upstream >= 0)
			close(upstream);
		free(p);
		return;
	}
	p->client = client;
	p->upstream = upstream;
	p->connecting = 1;
	pairs[slot] = p;
}

static int parse_mapping(const char *text, struct mapping *m)
{
	/* HOSTPORT=IP:PORT */
	char copy[64];
	snprintf(copy, sizeof copy, "%s", text);
	char *eq = strchr(copy, '='), *colon = strrchr(copy, ':');
	if (!eq || !colon || colon < eq)
		return -1;
	*eq = *colon = '\0';
	char *end1, *end2;
	long host_port = strtol(copy, &end1, 10), port = strtol(colon + 1, &end2, 10);
	if (*end1 || *end2 || host_port < 1 || host_port > 65535 || port < 1 || port > 65535)
		return -1;
	memset(&m->target, 0, sizeof m->target);
	m->target.sin_family = AF_INET;
	m->target.sin_port = htons((unsigned short)port);
	if (inet_pton(AF_INET, eq + 1, &m->target.sin_addr) != 1)
		return -1;

	struct sockaddr_in listen_on = {.sin_family = AF_INET, .sin_port = htons((unsigned short)host_port)};
	listen_on.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	m->listener = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int one = 1;
	if (m->listener < 0 || setsockopt(m->listener, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		return failed("socket: %s", strerror(errno));
	if (bind(m->listener, (struct sockaddr *)&listen_on, sizeof listen_on) < 0) {
		if (errno == EADDRINUSE)
			return failed("Bind for 127.0.0.1:%ld failed: port is already allocated", host_port);
		return failed("Bind for 127.0.0.1:%ld failed: %s", host_port, strerror(errno));
	}
	if (listen(m->listener, 128) < 0)
		return failed("listen on 127.0.0.1:%ld: %s", host_port, strerror(errno));
	return 0;
}

int rn_forward(const char *netns_path, int status_fd, int count, char **specs)
{
	static struct mapping mappings[MAX_PORTS];
	if (count < 1 || count > MAX_PORTS) {
		dprintf(status_fd, "error 125 between 1 and %d ports can be published\n", MAX_PORTS);
		return 125;
	}
	for (int i = 0; i < count; i++) {
		error_text[0] = '\0';
		if (parse_mapping(specs[i], &mappings[i]) < 0) {
			dprintf(status_fd, "error 125 %s\n", error_text[0] ? error_text : "bad port mapping");
			return 125;
		}
	}
	int ns = open(netns_path, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || !is_nsfs(ns) || setns(ns, CLONE_NEWNET) < 0) {
		dprintf(status_fd, "error 125 enter the bridge network namespace %s: %s\n", netns_path, strerror(errno));
		return 125;
	}
	close(ns);
	/* Out of registry-node's session: a detached container's forwarder outlives the CLI and its terminal. */
	(void)setsid();
	signal(SIGPIPE, SIG_IGN);
	dprintf(status_fd, "listening\n");
	close(status_fd);

	static struct pollfd fds[1 + MAX_PORTS + 2 * MAX_PAIRS];
	static int owner[1 + MAX_PORTS + 2 * MAX_PAIRS];
	for (;;) {
		int n = 0;
		fds[n++] = (struct pollfd){.fd = STDIN_FILENO, .events = POLLIN};
		for (int i = 0; i < count; i++)
			fds[n++] = (struct pollfd){.fd = mappings[i].listener, .events = POLLIN};
		for (int i = 0; i < MAX_PAIRS; i++) {
			struct pair *p = pairs[i];
			if (!p)
				continue;
			short c = 0, u = 0;
			if (p->connecting) {
				u = POLLOUT;
			} else {
				if (!p->up.eof && p->up.end < PIPE_SIZE)
					c |= POLLIN;
				if (!p->down.eof && p->down.end < PIPE_SIZE)
					u |= POLLIN;
				if (p->up.start < p->up.end)
					u |= POLLOUT;
				if (p->down.start < p->down.end)
					c |= POLLOUT;
			}
			owner[n] = i;
			fds[n++] = (struct pollfd){.fd = p->client, .events = c};
			owner[n] = i;
			fds[n++] = (struct pollfd){.fd = p->upstream, .events = u};
		}
		if (poll(fds, (nfds_t)n, -1) < 0) {
			if (errno == EINTR)
				continue;
			return 1;
		}
		if (fds[0].revents) {
			char byte[256];
			if (read(STDIN_FILENO, byte, sizeof byte) <= 0)
				return 0; /* the owner is gone: so is the container's port */
		}
		for (int i = 0; i < count; i++)
			if (fds[1 + i].revents & POLLIN)
				accept_one(&mappings[i]);
		for (int k = 1 + count; k < n; k += 2) {
			int i = owner[k];
			struct pair *p = pairs[i];
			if (!p)
				continue;
			short c = fds[k].revents, u = fds[k + 1].revents;
			if (p->connecting) {
				if (!u)
					continue;
				int error = 0;
				socklen_t len = sizeof error;
				if (getsockopt(p->upstream, SOL_SOCKET, SO_ERROR, &error, &len) < 0 || error) {
					close_pair(i);
					continue;
				}
				p->connecting = 0;
				continue;
			}
			if (pump(p->client, p->upstream, &p->up, c, u) < 0 || pump(p->upstream, p->client, &p->down, u, c) < 0 ||
			    (p->up.eof == 2 && p->down.eof == 2) || ((c | u) & POLLERR))
				close_pair(i);
		}
	}
}
