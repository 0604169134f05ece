/* sysinfo.c - sysinfo(2): relations between fields only; memory sizes,
 * load and process counts are host-specific. */
#include "guest.h"
#include <sys/sysinfo.h>

int main(void)
{
	GUEST_INIT();
	struct sysinfo si;
	memset(&si, 0x5a, sizeof si);
	CHECK("sysinfo", syscall(SYS_sysinfo, &si));
	EXPECT("uptime >= 0", (long)si.uptime >= 0);
	EXPECT("totalram > 0", si.totalram > 0);
	EXPECT("freeram <= totalram", si.freeram <= si.totalram);
	EXPECT("sharedram <= totalram", si.sharedram <= si.totalram);
	EXPECT("bufferram <= totalram", si.bufferram <= si.totalram);
	EXPECT("freeswap <= totalswap", si.freeswap <= si.totalswap);
	EXPECT("procs >= 1", si.procs >= 1);
	EXPECT("totalhigh == 0 (64-bit)", si.totalhigh == 0);
	EXPECT("freehigh == 0 (64-bit)", si.freehigh == 0);
	EXPECT("mem_unit >= 1", si.mem_unit >= 1);
	EXPECT("totalram * mem_unit >= 16 MiB",
	       (unsigned long long)si.totalram * si.mem_unit >= (16ULL << 20));

	struct sysinfo s2;
	CHECK("sysinfo again", syscall(SYS_sysinfo, &s2));
	EXPECT("uptime non-decreasing", (long)s2.uptime >= (long)si.uptime);
	EXPECT("totalram stable", s2.totalram == si.totalram && s2.mem_unit == si.mem_unit);
	struct sysinfo s3;
	CHECK("libc sysinfo", sysinfo(&s3));
	EXPECT("libc agrees on totalram", s3.totalram == si.totalram);

	CHECK("sysinfo(NULL)", syscall(SYS_sysinfo, NULL));
	CHECK("sysinfo(bad)", syscall(SYS_sysinfo, BAD_LOW));
	CHECK("sysinfo(non-canonical)", syscall(SYS_sysinfo, BAD_NONCANON));
	unsigned char *ro = map_pages(1, PROT_READ);
	CHECK("sysinfo(read-only)", syscall(SYS_sysinfo, ro));
	return 0;
}
