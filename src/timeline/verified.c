/*-------------------------------------------------------------------------
 *
 * verified.c
 *	  The chunk tuples of the timeline (order cache, values) that this
 *	  backend has already checked: checksum, header and every record.
 *
 * A chunk is checked before its first use in a backend; a dashboard's
 * pooled session then reads the same chunks again and again.  A heap tuple
 * never changes in place: an UPDATE writes a new version at another TID
 * with another xmin, and VACUUM FULL or CLUSTER write a new relfilenode.
 * So a tuple identified by (relfilenode, TID, raw xmin) that passed its
 * checks once holds the same bytes for as long as it is visible, and the
 * checks need not be repeated.  (A TID is reused only after VACUUM removed
 * the old tuple, by another transaction, hence with another xmin.)  The
 * set lives in this backend's memory and is emptied when it passes
 * VERIFIED_MAX entries, so it stays below a few tens of megabytes.
 *
 * Only what depends on the chunk's bytes alone is skipped; a reader still
 * checks what depends on other state (the customer key map, the size of a
 * dictionary) every time.
 *
 * src/timeline/verified.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "common/hashfn.h"
#include "utils/memutils.h"

#include "timeline/verified.h"

#define VERIFIED_MAX	(1 << 20)

typedef struct VerifiedKey
{
	Oid			relnode;
	BlockNumber block;
	uint32		offset;
	TransactionId xmin;
} VerifiedKey;

typedef struct VerifiedEntry
{
	VerifiedKey key;
	char		status;
} VerifiedEntry;

static inline uint32
verified_hash(VerifiedKey k)
{
	return hash_bytes((const unsigned char *) &k, sizeof(k));
}

#define SH_PREFIX ecp_verified
#define SH_ELEMENT_TYPE VerifiedEntry
#define SH_KEY_TYPE VerifiedKey
#define SH_KEY key
#define SH_HASH_KEY(tb, k) verified_hash(k)
#define SH_EQUAL(tb, a, b) ((a).relnode == (b).relnode && (a).block == (b).block && \
							(a).offset == (b).offset && (a).xmin == (b).xmin)
#define SH_SCOPE static inline
#define SH_DEFINE
#define SH_DECLARE
#include "lib/simplehash.h"

static MemoryContext verified_cxt = NULL;
static ecp_verified_hash *verified = NULL;

static VerifiedKey
key_of(Relation rel, HeapTuple tup)
{
	VerifiedKey k;

	memset(&k, 0, sizeof(k));
	k.relnode = rel->rd_node.relNode;
	k.block = ItemPointerGetBlockNumberNoCheck(&tup->t_self);
	k.offset = ItemPointerGetOffsetNumberNoCheck(&tup->t_self);
	k.xmin = HeapTupleHeaderGetRawXmin(tup->t_data);
	return k;
}

/*
 * ecp_chunk_verified
 *		Has this tuple of rel passed its checks in this backend before?
 */
bool
ecp_chunk_verified(Relation rel, HeapTuple tup)
{
	if (verified == NULL || !ItemPointerIsValid(&tup->t_self))
		return false;
	return ecp_verified_lookup(verified, key_of(rel, tup)) != NULL;
}

/*
 * ecp_chunk_mark_verified
 *		Remember that this tuple of rel passed its checks.
 */
void
ecp_chunk_mark_verified(Relation rel, HeapTuple tup)
{
	bool		found;

	if (!ItemPointerIsValid(&tup->t_self))
		return;
	if (verified_cxt == NULL)
		verified_cxt = AllocSetContextCreate(TopMemoryContext, "ecpower verified chunks",
											 ALLOCSET_DEFAULT_SIZES);
	if (verified != NULL && verified->members >= VERIFIED_MAX)
	{
		MemoryContextReset(verified_cxt);
		verified = NULL;
	}
	if (verified == NULL)
		verified = ecp_verified_create(verified_cxt, 4096, NULL);
	ecp_verified_insert(verified, key_of(rel, tup), &found);
}
