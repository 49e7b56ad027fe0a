/*-------------------------------------------------------------------------
 *
 * rfmstore.c
 *	  Storage of the last refresh's RFM (README "RFM") in packed blocks.
 *
 * A refresh stores the RFM of every customer (prospects included) as a few
 * rows of ecpower.rfm_blocks, one per block of RFM_BLOCK_CUSTOMERS
 * customers in the evaluation's order, each holding a compact encoding of
 * the block's measures and scores in a bytea (about 8 bytes per buyer and
 * 2 per prospect).  That costs a few dozen row writes per refresh instead
 * of one heap row, one B-tree entry and one numeric per customer.  The
 * refresh replaces the rows in its own transaction (DELETE then INSERT:
 * MVCC gives readers the previous or the new refresh, never a mix).
 *
 * ecpower.customer_rfm unpacks the blocks with ecpower._rfm_unpack(), which
 * treats its input as untrusted: any superuser can write the table, and a
 * reader can call the function on any bytea.  The header, the CRC, every
 * varint and every value are checked; a bad block raises data_corrupted.
 *
 * Block format, version 1:
 *
 *	offset	size	content
 *	0		4		magic "ECRF"
 *	4		1		format version (1)
 *	5		3		zero
 *	8		4		n: customers in the block, 1 .. RFM_BLOCK_MAX (uint32 LE)
 *	12		4		CRC-32C of the rest of the block (uint32 LE)
 *	16		...		n customer records, then nothing
 *
 * A customer record is a sequence of LEB128 varints (7 bits a byte, low
 * groups first, high bit set on every byte but the last):
 *
 *	customer_id minus the previous record's (the first: minus 0), taken
 *		modulo 2^64 and zigzag-encoded (0, -1, 1, -2 .. as 0, 1, 2, 3 ..)
 *	order_count (0 .. 2^31 - 1)
 *	and for a buyer (order_count > 0) only:
 *	recency_days (0 .. 2^31 - 1)
 *	revenue in net cents, zigzag-encoded
 *	one byte: 25 (R - 1) + 5 (F - 1) + (M - 1), scores 1..5
 *
 * FM and the group follow from R, F and M (README "RFM").  A prospect has NULL
 * recency and scores, revenue 0 and group prospects.
 *
 * src/segments/rfmstore.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/pg_crc32c.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/tuplestore.h"

#include "segments/definition.h"
#include "core/ecpower.h"
#include "segments/rfm.h"
#include "segments/rfmstore.h"

/* customers per block written by a refresh */
#define RFM_BLOCK_CUSTOMERS 4096
/* most customers a valid block may hold (any writer) */
#define RFM_BLOCK_MAX		65536

#define RFM_MAGIC			"ECRF"
#define RFM_VERSION			1
#define RFM_HEADER			16
/* longest record: two 10-byte varints, two 5-byte ones and the scores */
#define RFM_RECORD_MAX		31

/* the columns of ecpower._rfm_unpack() */
#define RFM_NATTS			9

PG_FUNCTION_INFO_V1(rfm_unpack);

/* append v as a LEB128 varint at p; returns the byte after it */
static inline uint8 *
put_varint(uint8 *p, uint64 v)
{
	while (v >= 0x80)
	{
		*p++ = (uint8) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8) v;
	return p;
}

/* zigzag encoding of a signed value: small magnitudes give small codes */
static inline uint64
zigzag(int64 v)
{
	return ((uint64) v << 1) ^ (uint64) (v >> 63);
}

static inline int64
unzigzag(uint64 u)
{
	return (int64) ((u >> 1) ^ (~(u & 1) + 1));
}

/* put a uint32 little-endian at p / read one */
static inline void
put_u32(uint8 *p, uint32 v)
{
	p[0] = (uint8) v;
	p[1] = (uint8) (v >> 8);
	p[2] = (uint8) (v >> 16);
	p[3] = (uint8) (v >> 24);
}

static inline uint32
get_u32(const uint8 *p)
{
	return (uint32) p[0] | ((uint32) p[1] << 8) |
		((uint32) p[2] << 16) | ((uint32) p[3] << 24);
}

/* CRC-32C of len bytes at p */
static uint32
rfm_crc(const uint8 *p, size_t len)
{
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, p, len);
	FIN_CRC32C(crc);
	return (uint32) crc;
}

/*
 * pack_block
 *		Encode the n customers of 'ev' from index 'start' as a block into
 *		'buf' (a bytea of at least VARHDRSZ + RFM_HEADER + n * RFM_RECORD_MAX
 *		bytes) and set its length.
 */
static void
pack_block(const EcpEval *ev, int32 start, uint32 n, bytea *buf)
{
	uint8	   *block = (uint8 *) VARDATA(buf);
	uint8	   *p = block + RFM_HEADER;
	uint64		prev = 0;

	memcpy(block, RFM_MAGIC, 4);
	block[4] = RFM_VERSION;
	block[5] = block[6] = block[7] = 0;
	put_u32(block + 8, n);
	for (uint32 i = 0; i < n; i++)
	{
		int32		c = start + (int32) i;
		int64		cnt = ev->cust_start[c + 1] - ev->cust_start[c];
		uint64		id = (uint64) ev->cust_id[c];

		p = put_varint(p, zigzag((int64) (id - prev)));
		prev = id;
		p = put_varint(p, (uint64) cnt);
		if (cnt > 0)
		{
			const EcpRfm *s = &ev->rfm[c];

			p = put_varint(p, (uint64) ev->recency[c]);
			p = put_varint(p, zigzag(ev->revenue[c]));
			*p++ = (uint8) (25 * (s->r - 1) + 5 * (s->f - 1) + (s->m - 1));
		}
	}
	put_u32(block + 12, rfm_crc(block + RFM_HEADER, p - (block + RFM_HEADER)));
	SET_VARSIZE(buf, VARHDRSZ + (p - block));
}

/*
 * ecp_rfm_store
 *		Replace the content of ecpower.rfm_blocks with the RFM of every
 *		customer of the evaluation (prospects included), tagged with run_id.
 *		Runs in the caller's transaction.
 */
void
ecp_rfm_store(EcpEval *ev, int64 run_id)
{
	SPIPlanPtr	plan;
	Oid			argtypes[4] = {INT4OID, INT8OID, INT4OID, BYTEAOID};
	bytea	   *buf;

	SPI_connect();
	if (SPI_execute("DELETE FROM ecpower.rfm_blocks", false, 0) != SPI_OK_DELETE)
		elog(ERROR, "could not delete from ecpower.rfm_blocks");
	plan = SPI_prepare("INSERT INTO ecpower.rfm_blocks (block, run_id, customers, data)"
					   " VALUES ($1, $2, $3, $4)", 4, argtypes);
	if (plan == NULL)
		elog(ERROR, "could not prepare the RFM insert: %s",
			 SPI_result_code_string(SPI_result));

	buf = palloc(VARHDRSZ + RFM_HEADER + (Size) RFM_BLOCK_CUSTOMERS * RFM_RECORD_MAX);
	for (int32 start = 0, block = 0; start < ev->ncust;
		 start += RFM_BLOCK_CUSTOMERS, block++)
	{
		uint32		n = (uint32) Min(RFM_BLOCK_CUSTOMERS, ev->ncust - start);
		Datum		values[4];

		CHECK_FOR_INTERRUPTS();
		pack_block(ev, start, n, buf);
		values[0] = Int32GetDatum(block);
		values[1] = Int64GetDatum(run_id);
		values[2] = Int32GetDatum((int32) n);
		values[3] = PointerGetDatum(buf);
		if (SPI_execute_plan(plan, values, NULL, false, 0) != SPI_OK_INSERT)
			elog(ERROR, "could not insert into ecpower.rfm_blocks");
	}
	pfree(buf);
	SPI_finish();
}

/* raise data_corrupted for a bad block */
#define rfm_corrupt(...) \
	ereport(ERROR, \
			(errcode(ERRCODE_DATA_CORRUPTED), \
			 errmsg("invalid RFM block"), \
			 errdetail(__VA_ARGS__)))

/* a block being decoded */
typedef struct RfmReader
{
	const uint8 *p;
	const uint8 *end;
	uint32		i;				/* the record being read */
} RfmReader;

/* read a varint of record rd->i ('what') that must not exceed 'max' */
static uint64
get_varint(RfmReader *rd, uint64 max, const char *what)
{
	uint64		v = 0;

	for (int shift = 0; shift < 64; shift += 7)
	{
		uint8		b;

		if (rd->p >= rd->end)
			rfm_corrupt("The block ends inside customer %u.", rd->i);
		b = *rd->p++;
		/* the tenth byte holds bit 63 only */
		if (shift == 63 && b > 1)
			break;
		v |= (uint64) (b & 0x7F) << shift;
		if (b < 0x80)
		{
			if (v > max)
				rfm_corrupt("Customer %u of the block has %s " UINT64_FORMAT ".",
							rd->i, what, v);
			return v;
		}
	}
	rfm_corrupt("Customer %u of the block has an overlong %s.", rd->i, what);
	return 0;					/* keep the compiler quiet */
}

/*
 * _rfm_unpack(data bytea) RETURNS TABLE (customer_id bigint,
 *		recency_days integer, order_count integer, revenue numeric,
 *		r smallint, f smallint, m smallint, fm smallint, rfm_group text)
 *		The customers of one RFM block (see the file header), in the
 *		order stored.
 */
Datum
rfm_unpack(PG_FUNCTION_ARGS)
{
	bytea	   *b = PG_GETARG_BYTEA_PP(0);
	const uint8 *block = (const uint8 *) VARDATA_ANY(b);
	size_t		len = VARSIZE_ANY_EXHDR(b);
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	RfmReader	rd;
	uint32		n;
	uint64		id = 0;
	Datum		groups[ECP_RFM_NGROUPS];
	Datum		zero;
	MemoryContext rowcxt;
	MemoryContext old;

	if (len < RFM_HEADER || memcmp(block, RFM_MAGIC, 4) != 0)
		rfm_corrupt("The block does not start with the RFM block header.");
	if (block[4] != RFM_VERSION)
		rfm_corrupt("The block has format version %d; this version of ecpower reads version %d.",
					block[4], RFM_VERSION);
	if (block[5] != 0 || block[6] != 0 || block[7] != 0)
		rfm_corrupt("The block header has nonzero reserved bytes.");
	n = get_u32(block + 8);
	if (n < 1 || n > RFM_BLOCK_MAX)
		rfm_corrupt("The block claims %u customers.", n);
	if (get_u32(block + 12) != rfm_crc(block + RFM_HEADER, len - RFM_HEADER))
		rfm_corrupt("The block's checksum does not match its content.");

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	for (int g = 0; g < ECP_RFM_NGROUPS; g++)
		groups[g] = CStringGetTextDatum(ecp_rfm_group_names[g]);
	zero = ecp_cents_to_numeric(0);
	rowcxt = AllocSetContextCreate(CurrentMemoryContext, "ecpower rfm row",
								   ALLOCSET_SMALL_SIZES);
	rd.p = block + RFM_HEADER;
	rd.end = block + len;
	for (rd.i = 0; rd.i < n; rd.i++)
	{
		Datum		values[RFM_NATTS];
		bool		nulls[RFM_NATTS] = {false};
		uint64		cnt;

		if ((rd.i & 1023) == 0)
			CHECK_FOR_INTERRUPTS();
		id += (uint64) unzigzag(get_varint(&rd, PG_UINT64_MAX, "identifier step"));
		cnt = get_varint(&rd, PG_INT32_MAX, "order count");
		values[2] = Int32GetDatum((int32) cnt);
		if (cnt == 0)
		{
			values[1] = values[4] = values[5] = values[6] = values[7] = (Datum) 0;
			nulls[1] = nulls[4] = nulls[5] = nulls[6] = nulls[7] = true;
			values[3] = zero;
			values[8] = groups[ECP_RFM_PROSPECTS];
		}
		else
		{
			int32		recency = (int32) get_varint(&rd, PG_INT32_MAX, "recency");
			int64		revenue = unzigzag(get_varint(&rd, PG_UINT64_MAX, "revenue"));
			int			scores;
			int			r,
						f,
						m,
						fm;

			if (rd.p >= rd.end)
				rfm_corrupt("The block ends inside customer %u.", rd.i);
			scores = *rd.p++;
			if (scores >= 125)
				rfm_corrupt("Customer %u of the block has scores %d.", rd.i, scores);
			r = scores / 25 + 1;
			f = scores / 5 % 5 + 1;
			m = scores % 5 + 1;
			fm = (f + m + 1) / 2;
			values[1] = Int32GetDatum(recency);
			old = MemoryContextSwitchTo(rowcxt);
			values[3] = ecp_cents_to_numeric(revenue);
			MemoryContextSwitchTo(old);
			values[4] = Int16GetDatum(r);
			values[5] = Int16GetDatum(f);
			values[6] = Int16GetDatum(m);
			values[7] = Int16GetDatum(fm);
			values[8] = groups[ecp_rfm_group(r, fm)];
		}
		values[0] = Int64GetDatum((int64) id);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		MemoryContextReset(rowcxt);
	}
	if (rd.p != rd.end)
		rfm_corrupt("The block has %zu bytes after its %u customers.",
					(size_t) (rd.end - rd.p), n);
	MemoryContextDelete(rowcxt);
	return (Datum) 0;
}
