/*-------------------------------------------------------------------------
 *
 * bitmap.c
 *	  Roaring bitmaps of customer keys: ownership by a memory context and
 *	  the stored format.
 *
 * CRoaring allocates with malloc; ecp_bitmap_own() ties a bitmap's life to
 * the current memory context, so an error or a context reset frees it.  A
 * stored bitmap is one format-version byte followed by CRoaring's portable
 * serialization.
 *
 * src/core/bitmap.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bitutils.h"
#include "utils/memutils.h"

#include "core/bitmap.h"

/* first byte of a serialized bitmap */
#define BITMAP_FORMAT_VERSION	1

/*
 * Bitmap ownership: a reset callback in the owning memory context frees
 * the malloc'd CRoaring bitmap.
 */
static void
bitmap_free_callback(void *arg)
{
	roaring_bitmap_free((roaring_bitmap_t *) arg);
}

/*
 * ecp_bitmap_bits
 *		The keys of a bitmap below nbits as a zeroed array of one bit per
 *		key, (nbits + 63) / 64 words in CurrentMemoryContext: a loop that
 *		tests many keys tests a bit instead of searching the bitmap.
 */
uint64 *
ecp_bitmap_bits(roaring_bitmap_t *r, int32 nbits)
{
	uint64	   *bits = palloc_extended(sizeof(uint64) * ((Size) Max(nbits, 0) / 64 + 1),
									   MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	roaring_uint32_iterator_t it;

	roaring_init_iterator(r, &it);
	while (it.has_value && it.current_value < (uint32) nbits)
	{
		bits[it.current_value / 64] |= UINT64CONST(1) << (it.current_value % 64);
		roaring_advance_uint32_iterator(&it);
	}
	return bits;
}

/*
 * ecp_bitmap_own
 *		Make CurrentMemoryContext own a CRoaring bitmap; returns it.
 */
roaring_bitmap_t *
ecp_bitmap_own(roaring_bitmap_t *r)
{
	MemoryContextCallback *cb;

	if (r == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory for a membership bitmap")));
	cb = palloc(sizeof(MemoryContextCallback));
	cb->func = bitmap_free_callback;
	cb->arg = r;
	MemoryContextRegisterResetCallback(CurrentMemoryContext, cb);
	return r;
}

/*
 * ecp_bitmap_create
 *		An empty bitmap owned by CurrentMemoryContext.
 */
roaring_bitmap_t *
ecp_bitmap_create(void)
{
	return ecp_bitmap_own(roaring_bitmap_create());
}

/*
 * ecp_bitmap_serialize
 *		A version byte followed by the portable roaring format (which other
 *		roaring implementations read too).  Run-optimises the bitmap first.
 */
bytea *
ecp_bitmap_serialize(roaring_bitmap_t *r)
{
	size_t		size;
	bytea	   *result;

	roaring_bitmap_run_optimize(r);
	size = roaring_bitmap_portable_size_in_bytes(r);
	if (size + 1 + VARHDRSZ > MaxAllocSize)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("membership bitmap too large: %zu bytes", size)));
	result = palloc(VARHDRSZ + 1 + size);
	SET_VARSIZE(result, VARHDRSZ + 1 + size);
	*((uint8 *) VARDATA(result)) = BITMAP_FORMAT_VERSION;
	if (roaring_bitmap_portable_serialize(r, VARDATA(result) + 1) != size)
		elog(ERROR, "roaring serialization size mismatch");
	return result;
}

/* the portable format (CRoaring's roaring_array.h, RoaringFormatSpec) */
#define PORTABLE_COOKIE_NO_RUNS		12346
#define PORTABLE_COOKIE_RUNS		12347
#define PORTABLE_NO_OFFSET_THRESHOLD 4
#define PORTABLE_ARRAY_MAX			4096	/* more values: a bitset */
#define PORTABLE_BITSET_BYTES		8192

/* little-endian readers of the portable format */
static inline uint16
get_le16(const uint8 *p)
{
	return (uint16) (p[0] | (p[1] << 8));
}

static inline uint32
get_le32(const uint8 *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) |
		((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

/*
 * portable_check
 *		Checks that 'len' bytes are exactly one bitmap in the portable
 *		format with every invariant CRoaring relies on and does not check
 *		itself: container keys strictly ascending, every cardinality in the
 *		header equal to the values the container really holds, array values
 *		strictly ascending, runs ascending, disjoint and within 16 bits,
 *		offsets pointing at their containers, no byte left over.  Values
 *		must also be valid customer keys (at most PG_INT32_MAX).  Returns
 *		NULL when the bytes are sound, else what is wrong.
 */
static const char *
portable_check(const uint8 *buf, size_t len)
{
	const uint8 *p = buf;
	const uint8 *end = buf + len;
	const uint8 *runflags = NULL;
	const uint8 *header;
	uint32		cookie;
	uint32		size;
	bool		offsets;

	if (len < 4)
		return "the header is truncated";
	cookie = get_le32(p);
	if ((cookie & 0xFFFF) == PORTABLE_COOKIE_RUNS)
	{
		size = (cookie >> 16) + 1;
		p += 4;
		if ((size_t) (end - p) < (size + 7) / 8)
			return "the header is truncated";
		runflags = p;
		p += (size + 7) / 8;
		offsets = size >= PORTABLE_NO_OFFSET_THRESHOLD;
	}
	else if (cookie == PORTABLE_COOKIE_NO_RUNS)
	{
		if (len < 8)
			return "the header is truncated";
		size = get_le32(p + 4);
		p += 8;
		offsets = true;
	}
	else
		return "the format cookie is unknown";

	/* keys are 16-bit and strictly ascending: at most 65536 containers */
	if (size > 65536)
		return psprintf("%u containers is more than a bitmap can hold", size);
	if ((size_t) (end - p) < (size_t) size * 4 + (offsets ? (size_t) size * 4 : 0))
		return "the header is truncated";
	header = p;
	p += (size_t) size * 4;
	if (offsets)
		p += (size_t) size * 4;

	for (uint32 i = 0; i < size; i++)
	{
		uint32		key = get_le16(header + 4 * i);
		uint32		card = (uint32) get_le16(header + 4 * i + 2) + 1;

		if (i > 0 && key <= get_le16(header + 4 * (i - 1)))
			return psprintf("container keys are not ascending at container %u", i);
		if (key > (PG_INT32_MAX >> 16))
			return psprintf("container %u holds values above the largest customer key", i);
		if (offsets && get_le32(header + 4 * size + 4 * i) != (uint32) (p - buf))
			return psprintf("the offset of container %u is wrong", i);

		if (runflags != NULL && (runflags[i / 8] & (1 << (i % 8))) != 0)
		{
			uint32		nruns;
			uint32		total = 0;
			int32		prev_end = -2;

			if (end - p < 2)
				return psprintf("container %u is truncated", i);
			nruns = get_le16(p);
			p += 2;
			if ((size_t) (end - p) < (size_t) nruns * 4)
				return psprintf("container %u is truncated", i);
			if (nruns == 0)
				return psprintf("run container %u is empty", i);
			for (uint32 r = 0; r < nruns; r++)
			{
				int32		start = get_le16(p + 4 * r);
				int32		length = get_le16(p + 4 * r + 2);

				if (start <= prev_end + 1)
					return psprintf("the runs of container %u overlap or are not ascending", i);
				if (start + length > 0xFFFF)
					return psprintf("a run of container %u passes the end of its range", i);
				prev_end = start + length;
				total += (uint32) length + 1;
			}
			p += (size_t) nruns * 4;
			if (total != card)
				return psprintf("container %u holds %u values, its header says %u",
								i, total, card);
		}
		else if (card > PORTABLE_ARRAY_MAX)
		{
			uint64		bits = 0;

			if (end - p < PORTABLE_BITSET_BYTES)
				return psprintf("container %u is truncated", i);
			for (int w = 0; w < PORTABLE_BITSET_BYTES / 8; w++)
			{
				uint64		word;

				memcpy(&word, p + 8 * w, 8);
				bits += pg_popcount64(word);
			}
			p += PORTABLE_BITSET_BYTES;
			if (bits != card)
				return psprintf("container %u holds " UINT64_FORMAT " values, its header says %u",
								i, bits, card);
		}
		else
		{
			if ((size_t) (end - p) < (size_t) card * 2)
				return psprintf("container %u is truncated", i);
			for (uint32 v = 1; v < card; v++)
			{
				if (get_le16(p + 2 * v) <= get_le16(p + 2 * (v - 1)))
					return psprintf("the values of container %u are not ascending", i);
			}
			p += (size_t) card * 2;
		}
	}
	if (p != end)
		return psprintf("%zu bytes follow the bitmap", (size_t) (end - p));
	return NULL;
}

/*
 * ecp_bitmap_deserialize
 *		Inverse of ecp_bitmap_serialize.  The input is untrusted (a role
 *		that may write the table could have written anything): the bytes
 *		are checked in full before CRoaring sees them, since CRoaring trusts
 *		the cardinalities it reads.  Damaged bytes raise data_corrupted
 *		naming 'source', the stored row they come from (for example
 *		"ecpower.membership, segment 3, day 2025-12-31").
 */
roaring_bitmap_t *
ecp_bitmap_deserialize(bytea *b, const char *source)
{
	const char *data = VARDATA_ANY(b);
	size_t		len = VARSIZE_ANY_EXHDR(b);
	const char *problem;
	roaring_bitmap_t *r;

	if (len < 1 || (uint8) data[0] != BITMAP_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid bitmap in %s", source),
				 errdetail("The format version byte is %s.",
						   len < 1 ? "missing" : psprintf("%d, not %d", (uint8) data[0],
														 BITMAP_FORMAT_VERSION))));
	problem = portable_check((const uint8 *) data + 1, len - 1);
	if (problem != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid bitmap in %s", source),
				 errdetail("The stored bytes are damaged: %s.", problem)));
	r = roaring_bitmap_portable_deserialize_safe(data + 1, len - 1);
	if (r == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid bitmap in %s", source),
				 errdetail("The stored bytes could not be read.")));
	ecp_bitmap_own(r);
	if (roaring_bitmap_portable_size_in_bytes(r) != len - 1)
		elog(ERROR, "checked bitmap in %s read back with a different size", source);
	return r;
}
