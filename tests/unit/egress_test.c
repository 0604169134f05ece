/* The egress policy: what --egress accepts, and what it lets a guest
 * reach (never the host's loopback, link-local, multicast, the link's own
 * subnet, or the node's ports on the host's addresses). */
#include <criterion/criterion.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "../../executor/executor.h"

#define A(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (d))

Test(egress, parse)
{
	struct ex_egress e;
	cr_assert_eq(ex_egress_parse("none", &e), 0);
	cr_assert(!ex_egress_any(&e));
	cr_assert_eq(ex_egress_parse("all", &e), 0);
	cr_assert(e.all && ex_egress_any(&e));
	cr_assert_eq(ex_egress_parse("10.1.0.0/16,192.0.2.7", &e), 0);
	cr_assert_eq(e.ncidr, 2);
	cr_assert_eq(e.cidr[0].addr, A(10, 1, 0, 0));
	cr_assert_eq(e.cidr[0].mask, 0xffff0000u);
	cr_assert_eq(e.cidr[1].mask, 0xffffffffu);
	/* Host bits are masked off, as iptables does. */
	cr_assert_eq(ex_egress_parse("10.1.2.3/8", &e), 0);
	cr_assert_eq(e.cidr[0].addr, A(10, 0, 0, 0));
	cr_assert_eq(ex_egress_parse("0.0.0.0/0", &e), 0);
	cr_assert_eq(e.cidr[0].mask, 0u);
	static const char *bad[] = {"", "some", "10.0.0.0/33", "10.0.0.0/", "10.0.0/8",
				    "10.0.0.0/8,", ",10.0.0.0/8", "10.0.0.0/-1", "10.0.0.0/8x",
				    "::1/128", "1.2.3.4 ", "999.1.1.1", "10.0.0.0/8,,1.1.1.1",
				    "1.2.3.4/1.2"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		cr_assert_eq(ex_egress_parse(bad[i], &e), -EINVAL, "'%s'", bad[i]);
	cr_assert_eq(ex_egress_parse(NULL, &e), -EINVAL);
	char many[33 * 16] = "";
	for (int i = 0; i < 33; i++)
		sprintf(many + strlen(many), "%s10.%d.0.0/16", i ? "," : "", i);
	cr_assert_eq(ex_egress_parse(many, &e), -E2BIG);
}

Test(egress, allows)
{
	struct ex_egress e;
	ex_egress_parse("all", &e);
	cr_assert(ex_egress_allows(&e, A(93, 184, 216, 34), 443));
	cr_assert(ex_egress_allows(&e, A(10, 9, 8, 7), 5432));
	/* Never, whatever the policy. */
	static const uint32_t never[] = {
		A(127, 0, 0, 1), A(127, 9, 9, 9), A(0, 0, 0, 0), A(0, 1, 2, 3), A(169, 254, 169, 254),
		A(224, 0, 0, 1), A(239, 255, 255, 250), A(240, 0, 0, 1), A(255, 255, 255, 255),
		A(10, 0, 2, 2), A(10, 0, 2, 99),
	};
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++)
		cr_assert(!ex_egress_allows(&e, never[i], 80), "%#x", never[i]);
	/* The node's ports on the host's addresses, and only those. */
	e.host[e.nhost++] = A(192, 0, 2, 1);
	cr_assert_eq(ex_egress_add_node_port(&e, 8080), 0);
	cr_assert_eq(ex_egress_add_node_port(&e, 8080), 0, "once");
	cr_assert_eq(e.nports, 1);
	cr_assert(!ex_egress_allows(&e, A(192, 0, 2, 1), 8080));
	cr_assert(ex_egress_allows(&e, A(192, 0, 2, 1), 5432));
	cr_assert(ex_egress_allows(&e, A(192, 0, 2, 2), 8080));
	/* A list: inside only. */
	ex_egress_parse("192.0.2.0/24,198.51.100.7", &e);
	cr_assert(ex_egress_allows(&e, A(192, 0, 2, 200), 80));
	cr_assert(ex_egress_allows(&e, A(198, 51, 100, 7), 80));
	cr_assert(!ex_egress_allows(&e, A(198, 51, 100, 8), 80));
	cr_assert(!ex_egress_allows(&e, A(8, 8, 8, 8), 53));
	/* Even a list naming the forbidden ranges does not open them. */
	ex_egress_parse("0.0.0.0/0", &e);
	cr_assert(ex_egress_allows(&e, A(8, 8, 8, 8), 53));
	cr_assert(!ex_egress_allows(&e, A(127, 0, 0, 1), 53));
	ex_egress_parse("169.254.0.0/16", &e);
	cr_assert(!ex_egress_allows(&e, A(169, 254, 169, 254), 80));
	ex_egress_parse("none", &e);
	cr_assert(!ex_egress_allows(&e, A(8, 8, 8, 8), 53));
	cr_assert(!ex_egress_allows(NULL, A(8, 8, 8, 8), 53));
	for (int i = 0; i < EX_NODE_PORTS_MAX; i++)
		cr_assert_eq(ex_egress_add_node_port(&e, (uint16_t)(1000 + i)), 0);
	cr_assert_eq(ex_egress_add_node_port(&e, 1), -E2BIG);
}
