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

/*
 * ecp_bitmap_deserialize
 *		Inverse of ecp_bitmap_serialize.  The input is untrusted (it is a
 *		bytea any superuser could have written): a wrong version, a truncated
 *		or inconsistent body, or trailing bytes raise data_corrupted.
 */
roaring_bitmap_t *
ecp_bitmap_deserialize(bytea *b)
{
	const char *data = VARDATA_ANY(b);
	size_t		len = VARSIZE_ANY_EXHDR(b);
	roaring_bitmap_t *r;

	if (len < 1 || (uint8) data[0] != BITMAP_FORMAT_VERSION)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid membership bitmap: unknown format version")));
	r = roaring_bitmap_portable_deserialize_safe(data + 1, len - 1);
	if (r == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid membership bitmap: truncated or inconsistent data")));
	ecp_bitmap_own(r);
	if (roaring_bitmap_portable_size_in_bytes(r) != len - 1)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("invalid membership bitmap: %zu trailing bytes",
						len - 1 - roaring_bitmap_portable_size_in_bytes(r))));
	return r;
}
