/* net_ifreq.c - the interface ioctls on an AF_INET socket, asked about
 * lo (the same natively and in the sandbox): SIOCGIFADDR, SIOCGIFNETMASK,
 * SIOCGIFINDEX, SIOCGIFNAME, SIOCGIFMTU, SIOCGIFFLAGS, lo in SIOCGIFCONF's
 * list (and the length to ask for), ENODEV for a name nobody has. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>

#include "guest.h"

static struct ifreq req(const char *name)
{
	struct ifreq r;
	memset(&r, 0, sizeof r);
	strncpy(r.ifr_name, name, sizeof r.ifr_name - 1);
	return r;
}

static const char *in(const struct sockaddr *sa)
{
	return inet_ntoa(((const struct sockaddr_in *)sa)->sin_addr);
}

int main(void)
{
	GUEST_INIT();
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r = req("lo");
	CHECK("SIOCGIFADDR lo", ioctl(s, SIOCGIFADDR, &r));
	printf("address %s\n", in(&r.ifr_addr));
	r = req("lo");
	CHECK("SIOCGIFNETMASK lo", ioctl(s, SIOCGIFNETMASK, &r));
	printf("netmask %s\n", in(&r.ifr_netmask));
	r = req("lo");
	CHECK("SIOCGIFINDEX lo", ioctl(s, SIOCGIFINDEX, &r));
	int idx = r.ifr_ifindex;
	printf("index %d\n", idx);
	r = req("");
	r.ifr_ifindex = idx;
	CHECK("SIOCGIFNAME", ioctl(s, SIOCGIFNAME, &r));
	printf("name %s\n", r.ifr_name);
	r = req("lo");
	CHECK("SIOCGIFMTU lo", ioctl(s, SIOCGIFMTU, &r));
	printf("mtu %d\n", r.ifr_mtu);
	r = req("lo");
	CHECK("SIOCGIFFLAGS lo", ioctl(s, SIOCGIFFLAGS, &r));
	printf("up %d loopback %d running %d\n", !!(r.ifr_flags & IFF_UP),
	       !!(r.ifr_flags & IFF_LOOPBACK), !!(r.ifr_flags & IFF_RUNNING));
	r = req("nosuch0");
	CHECK("SIOCGIFADDR of nothing", ioctl(s, SIOCGIFADDR, &r));
	struct ifreq list[16];
	struct ifconf ic = {.ifc_len = sizeof list, .ifc_req = list};
	CHECK("SIOCGIFCONF", ioctl(s, SIOCGIFCONF, &ic));
	int has_lo = 0;
	for (int i = 0; i < ic.ifc_len / (int)sizeof(struct ifreq); i++)
		has_lo |= !strcmp(list[i].ifr_name, "lo") && !strcmp(in(&list[i].ifr_addr), "127.0.0.1");
	printf("lo listed with 127.0.0.1: %d\n", has_lo);
	struct ifconf count = {.ifc_len = 0, .ifc_buf = NULL};
	CHECK("SIOCGIFCONF without a buffer", ioctl(s, SIOCGIFCONF, &count));
	printf("a length to ask for: %d\n", count.ifc_len >= (int)sizeof(struct ifreq));
	return 0;
}
