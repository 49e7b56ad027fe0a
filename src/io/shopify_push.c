/*-------------------------------------------------------------------------
 *
 * shopify_push.c
 *	  ecpower._shopify_push_batch(server, sync_id): send the next tag
 *	  changes of the feed (ecpower.tag_changes) to Shopify and record them
 *	  as acknowledged.  ecpower.shopify_push() calls it and commits after
 *	  each batch until the feed is drained.
 *
 * A batch is one GraphQL document of up to PUSH_BATCH tagsAdd / tagsRemove
 * mutations on gid://shopify/Customer/<customer_id>, aliased c0, c1 ... in
 * change_id order.  GraphQL runs the top-level fields of a mutation one
 * after the other, in document order, so a customer's changes apply in
 * feed order.  Shopify's answer and the new acknowledged change id commit
 * together: a push stopped before the commit sends the same batch again,
 * in the same order, which leaves the same tags (adding a tag a customer
 * has, or removing one it lacks, changes nothing), and a change after the
 * acknowledged one is never skipped.
 *
 * userErrors of one mutation are stored in ecpower.shopify_push_errors
 * and the change counts as acknowledged: one customer Shopify refuses
 * (deleted, say) does not hold up the feed.
 *
 * src/io/shopify_push.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "io/shopify_api.h"
#include "io/shopify_import.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/memutils.h"

PG_FUNCTION_INFO_V1(shopify_push_batch);

/* changes per request: a tagsAdd / tagsRemove costs 10 points */
#define PUSH_BATCH	25
#define MUTATION_COST	10

/* the rate limit the API last reported, kept across the batches of a push */
static char *last_server = NULL;
static double last_maximum;
static double last_available;
static double last_restore;
static TimestampTz last_status_at = 0;

typedef struct TagChange
{
	int64		change_id;
	int64		customer_id;
	char	   *tag;
	char	   *action;
} TagChange;

/*
 * log_user_errors
 *		Store the userErrors of one mutation.
 */
static void
log_user_errors(const char *server, int64 sync_id, TagChange *c,
				JsonbContainer *errors, const char *path)
{
	static const Oid types[8] = {TEXTOID, INT8OID, INT8OID, INT8OID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID};
	SPIPlanPtr	plan;
	int			i;

	plan = shp_prepare("INSERT INTO ecpower.shopify_push_errors "
					   " (server, sync_id, change_id, customer_id, tag, action, field, message) "
					   "VALUES ($1, $2, $3, $4, $5, $6, $7, $8)", 8, (Oid *) types);
	for (i = 0; i < JsonContainerSize(errors); i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(errors, i);
		Datum		values[8];
		char		nulls[8] = {' ', ' ', ' ', ' ', ' ', ' ', ' ', ' '};
		JsonbContainer *field;
		char	   *message;
		StringInfoData f;
		int			k;

		if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("the Shopify response has a userErrors entry that is not an object at %s",
							path)));
		message = ecp_json_string(e->val.binary.data, "message", true, path);
		field = ecp_json_array(e->val.binary.data, "field", false, path);
		initStringInfo(&f);
		for (k = 0; field != NULL && k < JsonContainerSize(field); k++)
		{
			JsonbValue *v = getIthJsonbValueFromContainer(field, k);

			if (v != NULL && v->type == jbvString)
				appendStringInfo(&f, "%s%.*s", k ? "." : "", v->val.string.len,
								 v->val.string.val);
		}
		values[0] = CStringGetTextDatum(server);
		values[1] = Int64GetDatum(sync_id);
		values[2] = Int64GetDatum(c->change_id);
		values[3] = Int64GetDatum(c->customer_id);
		values[4] = CStringGetTextDatum(c->tag);
		values[5] = CStringGetTextDatum(c->action);
		values[6] = CStringGetTextDatum(f.data);
		nulls[6] = f.len ? ' ' : 'n';
		values[7] = CStringGetTextDatum(message);
		shp_spi_check(SPI_execute_plan(plan, values, nulls, false, 0),
					  SPI_OK_INSERT, "push error log");
	}
}

/*
 * shopify_push_batch(server text, sync_id bigint) RETURNS integer
 *		Send the changes after the acknowledged one (at most PUSH_BATCH)
 *		and acknowledge them; returns how many (0: the feed is drained).
 */
Datum
shopify_push_batch(PG_FUNCTION_ARGS)
{
	char	   *server = text_to_cstring(PG_GETARG_TEXT_PP(0));
	int64		sync_id = PG_GETARG_INT64(1);
	ShopifyConn *conn;
	Oid			argtypes[2] = {TEXTOID, INT8OID};
	Datum		args[2];
	SPIPlanPtr	plan;
	int64		acked;
	TagChange	changes[PUSH_BATCH] = {{0}};
	int			n;
	int			i;
	int			batch_size = PUSH_BATCH;
	StringInfoData doc;
	JsonbContainer *data;

	conn = ecp_shopify_connect(server);
	if (last_server != NULL && strcmp(last_server, server) == 0)
	{
		conn->maximum_available = last_maximum;
		conn->currently_available = last_available;
		conn->restore_rate = last_restore;
		conn->status_at = last_status_at;
	}

	/*
	 * A request may not cost more than the bucket holds: learn its size
	 * (a one-point query) before the first batch of this session.
	 */
	if (conn->status_at == 0)
		(void) ecp_shopify_graphql(conn, "query ecpowerProbe { shop { id } }", NULL, 1,
								   "the rate limit probe");
	if (conn->maximum_available > 0)
		batch_size = Max(1, Min(PUSH_BATCH, (int) (conn->maximum_available / MUTATION_COST)));

	SPI_connect();
	args[0] = CStringGetTextDatum(server);
	plan = shp_prepare("INSERT INTO ecpower.shopify_state (server) VALUES ($1) "
					   "ON CONFLICT DO NOTHING", 1, argtypes);
	shp_spi_check(SPI_execute_plan(plan, args, NULL, false, 0), SPI_OK_INSERT, "state");
	plan = shp_prepare("SELECT s.acked_change_id FROM ecpower.shopify_state AS s "
					   " WHERE s.server OPERATOR(pg_catalog.=) $1 FOR UPDATE NOWAIT",
					   1, argtypes);
	shp_spi_check(SPI_execute_plan(plan, args, NULL, false, 0), SPI_OK_SELECT, "state lock");
	{
		bool		isnull;

		acked = DatumGetInt64(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc,
											1, &isnull));
	}

	args[1] = Int64GetDatum(acked);
	plan = shp_prepare(psprintf("SELECT t.change_id, t.customer_id, t.tag, t.action "
								"  FROM ecpower.tag_changes AS t "
								" WHERE t.change_id OPERATOR(pg_catalog.>) $1 "
								" ORDER BY t.change_id LIMIT %d", PUSH_BATCH),
					   1, &argtypes[1]);
	shp_spi_check(SPI_execute_plan(plan, &args[1], NULL, true, 0), SPI_OK_SELECT, "tag feed");
	n = (int) SPI_processed;
	for (i = 0; i < n; i++)
	{
		HeapTuple	tup = SPI_tuptable->vals[i];
		TupleDesc	desc = SPI_tuptable->tupdesc;
		bool		isnull;

		changes[i].change_id = DatumGetInt64(SPI_getbinval(tup, desc, 1, &isnull));
		changes[i].customer_id = DatumGetInt64(SPI_getbinval(tup, desc, 2, &isnull));
		changes[i].tag = SPI_getvalue(tup, desc, 3);
		changes[i].action = SPI_getvalue(tup, desc, 4);
	}
	if (n == 0)
	{
		SPI_finish();
		PG_RETURN_INT32(0);
	}

	initStringInfo(&doc);
	appendStringInfoString(&doc, "mutation ecpowerTags {");
	n = Min(n, batch_size);
	for (i = 0; i < n; i++)
	{
		bool		add = strcmp(changes[i].action, "add") == 0;

		appendStringInfo(&doc, " c%d: %s(id: \"gid://shopify/Customer/%lld\", tags: [",
						 i, add ? "tagsAdd" : "tagsRemove",
						 (long long) changes[i].customer_id);
		escape_json(&doc, changes[i].tag);
		appendStringInfoString(&doc, "]) { node { id } userErrors { field message } }");
	}
	appendStringInfoString(&doc, " }");

	data = ecp_shopify_graphql(conn, doc.data, NULL, MUTATION_COST * n,
							   psprintf("tagsAdd/tagsRemove (changes %lld to %lld)",
										(long long) changes[0].change_id,
										(long long) changes[n - 1].change_id));
	for (i = 0; i < n; i++)
	{
		char		alias[16];
		char	   *path;
		JsonbContainer *payload;
		JsonbContainer *errors;

		snprintf(alias, sizeof(alias), "c%d", i);
		path = psprintf("$.data.%s", alias);
		payload = ecp_json_object(data, alias, true, "$.data");
		errors = ecp_json_array(payload, "userErrors", true, path);
		if (JsonContainerSize(errors) > 0)
			log_user_errors(server, sync_id, &changes[i], errors, path);
	}

	args[1] = Int64GetDatum(changes[n - 1].change_id);
	plan = shp_prepare("UPDATE ecpower.shopify_state AS s "
					   "   SET acked_change_id = $2, pushed_at = pg_catalog.now() "
					   " WHERE s.server OPERATOR(pg_catalog.=) $1", 2, argtypes);
	shp_spi_check(SPI_execute_plan(plan, args, NULL, false, 0), SPI_OK_UPDATE, "acknowledgement");
	args[0] = Int64GetDatum(sync_id);
	args[1] = Int64GetDatum(n);
	argtypes[0] = INT8OID;
	plan = shp_prepare("UPDATE ecpower.shopify_syncs AS s "
					   "   SET rows = s.rows OPERATOR(pg_catalog.+) $2 "
					   " WHERE s.sync_id OPERATOR(pg_catalog.=) $1", 2, argtypes);
	shp_spi_check(SPI_execute_plan(plan, args, NULL, false, 0), SPI_OK_UPDATE, "push log");
	SPI_finish();

	if (last_server == NULL || strcmp(last_server, server) != 0)
	{
		if (last_server)
			pfree(last_server);
		last_server = MemoryContextStrdup(TopMemoryContext, server);
	}
	last_maximum = conn->maximum_available;
	last_available = conn->currently_available;
	last_restore = conn->restore_rate;
	last_status_at = conn->status_at;
	PG_RETURN_INT32(n);
}
