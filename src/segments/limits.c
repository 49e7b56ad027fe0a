/*-------------------------------------------------------------------------
 *
 * limits.c
 *	  Size limits of segment definitions and of sync tags.
 *
 * A definition may hold at most ECP_MAX_DEFINITION_FILTERS order filters
 * and ECP_MAX_DEFINITION_BYTES bytes of jsonb text, and the store's
 * segments together at most ECP_MAX_STORE_FILTERS filters and
 * ECP_MAX_STORE_BYTES bytes: every filter costs one bit per order in the
 * refresh's order cache and in every evaluation, so without a cap one
 * large definition multiplies the refresh's memory and cache by its size.
 * A sync tag is 1 to 255 characters without a comma (Shopify's tags are a
 * comma-separated list of at most 255 characters each).
 *
 * The row trigger on ecpower.segments calls _segment_limits() for every
 * written row; evaluate() checks its arguments here, the per-definition
 * limits among them.  Errors: 54000 for a limit, 22023 for a bad sync tag.  See
 * docs/security.md "Limits".
 *
 * src/segments/limits.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

#include "core/access.h"
#include "segments/definition.h"
#include "segments/limits.h"

PG_FUNCTION_INFO_V1(segment_limits);
PG_FUNCTION_INFO_V1(definition_filters);

/* _definition_references(jsonb) RETURNS text[], src/segments/definition.c */
extern Datum definition_references(PG_FUNCTION_ARGS);

/* a stand-in for a referenced segment: a customer condition, no filter */
static Jsonb *
placeholder_definition(void)
{
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in,
											  CStringGetDatum("{\"customer_tag\": [\"-\"]}")));
}

/*
 * ecp_definition_filters
 *		The number of order filters a definition compiles to, its own only:
 *		a referenced segment's filters are counted with that segment.
 *		Raises the definition's syntax errors (22023).
 */
int
ecp_definition_filters(Jsonb *def)
{
	MemoryContext tmp = AllocSetContextCreate(CurrentMemoryContext,
											  "ecpower definition limits",
											  ALLOCSET_SMALL_SIZES);
	MemoryContext old = MemoryContextSwitchTo(tmp);
	ArrayType  *refs;
	Datum	   *slugs;
	bool	   *nulls;
	int			nrefs;
	EcpProgram *prog;
	Jsonb	   *stand_in;
	int			n;

	refs = DatumGetArrayTypeP(DirectFunctionCall1(definition_references,
												  JsonbPGetDatum(def)));
	deconstruct_array(refs, TEXTOID, -1, false, TYPALIGN_INT,
					  &slugs, &nulls, &nrefs);
	prog = ecp_program_create();
	stand_in = placeholder_definition();
	for (int i = 0; i < nrefs; i++)
		ecp_program_add(prog, stand_in, TextDatumGetCString(slugs[i]), 0);
	ecp_program_add(prog, def, NULL, 0);
	n = prog->nfilters;
	MemoryContextSwitchTo(old);
	MemoryContextDelete(tmp);
	return n;
}

/* the jsonb text size of a definition */
static int64
definition_bytes(Jsonb *def)
{
	return (int64) strlen(JsonbToCString(NULL, &def->root, VARSIZE(def)));
}

/*
 * ecp_check_definition_limits
 *		54000 when one definition exceeds the per-definition limits.
 */
void
ecp_check_definition_limits(Jsonb *def)
{
	int64		bytes;
	int			filters;

	/* syntax errors (22023) first, as validate_definition() reports them */
	filters = ecp_definition_filters(def);
	bytes = definition_bytes(def);
	if (bytes > ECP_MAX_DEFINITION_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("segment definition of %lld bytes exceeds the limit of %d bytes",
						(long long) bytes, ECP_MAX_DEFINITION_BYTES),
				 errhint("Split long value lists over several segments, or group the values (for example with a product type or a tag).")));
	if (filters > ECP_MAX_DEFINITION_FILTERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("segment definition has %d order filters, more than the limit of %d",
						filters, ECP_MAX_DEFINITION_FILTERS),
				 errdetail("Every order filter costs one bit per order in each refresh."),
				 errhint("Put alternative values in one filter's list instead of one filter per value.")));
}

/*
 * ecp_adhoc_arguments
 *		The arguments of evaluate(definition, as_of), checked: 22023 for a
 *		NULL argument or an infinite as_of, 54000 over the per-definition
 *		limits, 42501 unless the caller may read the input tables
 *		(core/access.c).
 */
void
ecp_adhoc_arguments(FunctionCallInfo fcinfo, Jsonb **def, TimestampTz *as_of)
{
	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be null", PG_ARGISNULL(0) ? "definition" : "as_of")));
	*def = PG_GETARG_JSONB_P(0);
	*as_of = PG_GETARG_TIMESTAMPTZ(1);
	if (TIMESTAMP_NOT_FINITE(*as_of))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("as_of must be a finite timestamp")));
	ecp_check_definition_limits(*def);
	ecp_check_input_access(ECP_INPUT_ALL);
}

/* 22023 unless the sync tag is 1 to 255 characters without a comma */
static void
check_sync_tag(text *tag)
{
	char	   *s = text_to_cstring(tag);
	int			chars = pg_mbstrlen(s);

	if (chars == 0 || chars > ECP_MAX_SYNC_TAG_CHARS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sync_tag of %d characters is not 1 to %d characters long",
						chars, ECP_MAX_SYNC_TAG_CHARS),
				 errdetail("sync_tag starts \"%.40s\".", s),
				 errhint("Shopify tags are at most 255 characters; use NULL for no tag.")));
	if (strchr(s, ',') != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("sync_tag \"%.100s\" contains a comma", s),
				 errhint("Shopify reads a comma as the end of a tag.")));
}

/*
 * _segment_limits(definition jsonb, segment_id integer, sync_tag text)
 *		The limits a segment row must meet: its definition's own, the
 *		store's with this definition in place of the row's old one (the
 *		other segments are read as the caller sees them), and its sync tag.
 */
Datum
segment_limits(PG_FUNCTION_ARGS)
{
	Jsonb	   *def;
	int32		segment_id = PG_ARGISNULL(1) ? 0 : PG_GETARG_INT32(1);
	int64		bytes;
	int64		filters;
	Oid			argtypes[1] = {INT4OID};
	Datum		values[1];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid segment definition at $: expected a rule object, found null")));
	def = PG_GETARG_JSONB_P(0);
	if (!PG_ARGISNULL(2))
		check_sync_tag(PG_GETARG_TEXT_PP(2));
	ecp_check_definition_limits(def);

	bytes = definition_bytes(def);
	filters = ecp_definition_filters(def);
	values[0] = Int32GetDatum(segment_id);
	SPI_connect();
	if (SPI_execute_with_args("SELECT definition FROM ecpower.segments"
							  " WHERE segment_id OPERATOR(pg_catalog.<>) $1",
							  1, argtypes, values, NULL, true, 0) != SPI_OK_SELECT)
		elog(ERROR, "could not read ecpower.segments");
	for (uint64 i = 0; i < SPI_processed; i++)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[i], SPI_tuptable->tupdesc,
									  1, &isnull);
		Jsonb	   *other;

		CHECK_FOR_INTERRUPTS();
		if (isnull)
			continue;
		other = DatumGetJsonbP(d);
		bytes += definition_bytes(other);
		filters += ecp_definition_filters(other);
	}
	SPI_finish();
	if (filters > ECP_MAX_STORE_FILTERS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the store's segment definitions would hold %lld order filters, more than the limit of %d",
						(long long) filters, ECP_MAX_STORE_FILTERS),
				 errdetail("Every order filter costs one bit per order in each refresh."),
				 errhint("Drop segments that are no longer used, or simplify their definitions.")));
	if (bytes > ECP_MAX_STORE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("the store's segment definitions would hold %lld bytes, more than the limit of %d bytes",
						(long long) bytes, ECP_MAX_STORE_BYTES),
				 errhint("Drop segments that are no longer used, or simplify their definitions.")));
	PG_RETURN_VOID();
}

/*
 * _definition_filters(definition jsonb) RETURNS integer
 *		The number of order filters a definition compiles to (its own).
 */
Datum
definition_filters(PG_FUNCTION_ARGS)
{
	PG_RETURN_INT32(ecp_definition_filters(PG_GETARG_JSONB_P(0)));
}
