/* rn-net.c's entry points: the bridge network namespace, a container's veth, the port forwarder. */
#ifndef RN_NET_H
#define RN_NET_H

struct rn_bridge_attach {
	const char *netns;     /* the node's bridge namespace: its bind-mounted nsfs file */
	const char *bridge;    /* the bridge in it, e.g. rn0 */
	const char *host_veth; /* the name of the veth end that stays in the bridge namespace */
	const char *address;   /* the container's eth0, e.g. 10.88.0.5/16 */
	const char *gateway;   /* the bridge's address: the container's default route */
};

/* Each returns 0, or -1 with rn_net_error() saying what failed. */
int rn_bridge_up(const char *netns_path, const char *bridge, const char *cidr);
int rn_attach_veth(const struct rn_bridge_attach *attach);
const char *rn_net_error(void);

/* Runs the forwarder until its stdin closes; reports "listening" or "error 125 TEXT" on STATUS_FD. */
int rn_forward(const char *netns_path, int status_fd, int count, char **specs);

#endif
