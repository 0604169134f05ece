/* What the writer and the reader share beyond format.h's layout. */
#include <xxhash.h>

#include "format.h"

uint64_t snap_header_csum(const uint8_t *hdr)
{
	uint8_t h[SNAP_HDR_SIZE];
	memcpy(h, hdr, sizeof h);
	snap_st64(h + SNAP_H_HDR_CSUM, 0);
	return XXH3_64bits(h, sizeof h);
}
