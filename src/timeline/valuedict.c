/*-------------------------------------------------------------------------
 *
 * valuedict.c
 *	  The value dictionary of the report engine: every distinct value a
 *	  report meets (a text spelling, or a number such as a product id or a
 *	  calendar bucket) gets a dense int32 id, so that reports count
 *	  customers per value in arrays instead of hashing strings per order.
 *
 * Open addressing with linear probing over a power-of-two slot table that
 * is kept less than half full.
 *
 * src/timeline/valuedict.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "utils/memutils.h"

#include "timeline/fetch.h"

/*
 * ecp_dict_create
 *		An empty value dictionary in CurrentMemoryContext.
 */
EcpValueDict *
ecp_dict_create(void)
{
	EcpValueDict *d = palloc0(sizeof(EcpValueDict));

	d->mcxt = CurrentMemoryContext;
	d->capacity = 256;
	d->text = palloc0(sizeof(char *) * d->capacity);
	d->textlen = palloc0(sizeof(int32) * d->capacity);
	d->num = palloc0(sizeof(int64) * d->capacity);
	d->nslots = 1024;
	d->slots = palloc(sizeof(EcpDictSlot) * d->nslots);
	for (uint32 i = 0; i < d->nslots; i++)
		d->slots[i].id = -1;
	return d;
}

/* add a value; grows the arrays and rehashes as needed */
static int32
dict_add(EcpValueDict *d, uint32 hash, uint32 slot)
{
	int32		id;

	if (d->nvalues >= d->capacity)
	{
		int32		newcap;

		if (d->capacity >= (int32) (MaxAllocSize / sizeof(int64) / 2))
			ereport(ERROR,
					(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
					 errmsg("too many distinct values for a report")));
		newcap = d->capacity * 2;
		d->text = repalloc(d->text, sizeof(char *) * newcap);
		d->textlen = repalloc(d->textlen, sizeof(int32) * newcap);
		d->num = repalloc(d->num, sizeof(int64) * newcap);
		d->capacity = newcap;
	}
	id = d->nvalues++;
	d->text[id] = NULL;
	d->textlen[id] = 0;
	d->num[id] = 0;
	d->slots[slot].hash = hash;
	d->slots[slot].id = id;

	if ((uint32) d->nvalues * 2 > d->nslots)
	{
		uint32		nslots = d->nslots * 2;
		EcpDictSlot *slots = MemoryContextAllocHuge(d->mcxt, sizeof(EcpDictSlot) * nslots);

		for (uint32 i = 0; i < nslots; i++)
			slots[i].id = -1;
		for (uint32 i = 0; i < d->nslots; i++)
		{
			uint32		j;

			if (d->slots[i].id < 0)
				continue;
			j = d->slots[i].hash & (nslots - 1);
			while (slots[j].id >= 0)
				j = (j + 1) & (nslots - 1);
			slots[j] = d->slots[i];
		}
		pfree(d->slots);
		d->slots = slots;
		d->nslots = nslots;
	}
	return id;
}

/*
 * ecp_dict_text
 *		Id of a text value (exact bytes), interning it if new.
 */
int32
ecp_dict_text(EcpValueDict *d, const char *s, int len)
{
	uint32		hash = hash_bytes((const unsigned char *) s, len);
	uint32		i = hash & (d->nslots - 1);
	int32		id;

	for (;;)
	{
		EcpDictSlot *e = &d->slots[i];

		if (e->id < 0)
			break;
		if (e->hash == hash && d->textlen[e->id] == len &&
			memcmp(d->text[e->id], s, len) == 0)
			return e->id;
		i = (i + 1) & (d->nslots - 1);
	}
	id = dict_add(d, hash, i);
	d->text[id] = MemoryContextAlloc(d->mcxt, len + 1);
	memcpy(d->text[id], s, len);
	d->text[id][len] = '\0';
	d->textlen[id] = len;
	return id;
}

/*
 * ecp_dict_num
 *		Id of a numeric value, interning it if new.
 */
int32
ecp_dict_num(EcpValueDict *d, int64 v)
{
	uint32		hash = ecp_hash_int64(v);
	uint32		i = hash & (d->nslots - 1);
	int32		id;

	for (;;)
	{
		EcpDictSlot *e = &d->slots[i];

		if (e->id < 0)
			break;
		if (e->hash == hash && d->num[e->id] == v)
			return e->id;
		i = (i + 1) & (d->nslots - 1);
	}
	id = dict_add(d, hash, i);
	d->num[id] = v;
	return id;
}
