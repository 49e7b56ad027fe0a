/*-------------------------------------------------------------------------
 *
 * shopify_bulk.c
 *	  Bulk query operations of the Shopify Admin API: start one with
 *	  bulkOperationRunQuery, poll it with node(id:) until it is COMPLETED,
 *	  download its JSONL result.
 *
 * A shop runs one bulk query of an app at a time.  One left running by a
 * pull that was cancelled or killed is cancelled (bulkOperationCancel)
 * before a new one starts.  A FAILED operation fails the pull, even when
 * Shopify offers partial data (partialDataUrl): a pull is all or nothing.
 *
 * src/io/shopify_bulk.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "io/shopify_bulk.h"

#include "utils/builtins.h"
#include "utils/json.h"

static const char *const run_mutation =
"mutation ecpowerBulkRun($query: String!) {"
" bulkOperationRunQuery(query: $query) {"
"  bulkOperation { id status }"
"  userErrors { field message } } }";

static const char *const poll_query =
"query ecpowerBulkPoll($id: ID!) {"
" node(id: $id) { ... on BulkOperation {"
"  id status errorCode objectCount url partialDataUrl } } }";

static const char *const current_bulk_query =
"query ecpowerBulkCurrent {"
" currentBulkOperation { id status } }";

static const char *const cancel_mutation =
"mutation ecpowerBulkCancel($id: ID!) {"
" bulkOperationCancel(id: $id) {"
"  bulkOperation { id status }"
"  userErrors { field message } } }";

/* a {"name": "value"} variables object */
static char *
one_variable(const char *name, const char *value)
{
	StringInfoData buf;

	initStringInfo(&buf);
	appendStringInfo(&buf, "{\"%s\":", name);
	escape_json(&buf, value);
	appendStringInfoChar(&buf, '}');
	return buf.data;
}

/* true for the statuses of an operation that has not ended */
static bool
still_running(const char *status)
{
	return strcmp(status, "CREATED") == 0 || strcmp(status, "RUNNING") == 0 ||
		strcmp(status, "CANCELING") == 0;
}

/*
 * user_errors
 *		Raise HV000 with the first entry of a mutation's userErrors.
 */
static void
user_errors(JsonbContainer *payload, const char *path, const char *what)
{
	JsonbContainer *errs = ecp_json_array(payload, "userErrors", false, path);
	JsonbValue *e;

	if (errs == NULL || JsonContainerSize(errs) == 0)
		return;
	e = getIthJsonbValueFromContainer(errs, 0);
	ereport(ERROR,
			(errcode(ERRCODE_FDW_ERROR),
			 errmsg("Shopify refused %s: %s", what,
					(e != NULL && e->type == jbvBinary) ?
					ecp_json_string(e->val.binary.data, "message", true, path) :
					"(no message)")));
}

/*
 * cancel_leftover
 *		Cancel a bulk query still running from an earlier, interrupted pull
 *		and wait until it has ended.
 */
static void
cancel_leftover(ShopifyConn *conn)
{
	JsonbContainer *data = ecp_shopify_graphql(conn, current_bulk_query, NULL, 1,
											   "the current bulk operation query");
	JsonbContainer *op = ecp_json_object(data, "currentBulkOperation", false,
										 "$.data");
	char	   *id;
	char	   *status;

	if (op == NULL)
		return;
	id = ecp_json_string(op, "id", true, "$.data.currentBulkOperation");
	status = ecp_json_string(op, "status", true, "$.data.currentBulkOperation");
	if (!still_running(status))
		return;
	if (strcmp(status, "CANCELING") != 0)
	{
		data = ecp_shopify_graphql(conn, cancel_mutation, one_variable("id", id), 10,
								   "bulkOperationCancel");
		user_errors(ecp_json_object(data, "bulkOperationCancel", true, "$.data"),
					"$.data.bulkOperationCancel", "to cancel the running bulk operation");
	}
	for (;;)
	{
		data = ecp_shopify_graphql(conn, poll_query, one_variable("id", id), 1,
								   "the bulk operation poll");
		op = ecp_json_object(data, "node", true, "$.data");
		status = ecp_json_string(op, "status", true, "$.data.node");
		if (!still_running(status))
			return;
		ecp_shopify_sleep(conn->poll_interval);
	}
}

/*
 * ecp_shopify_bulk_query
 *		Run one bulk query and return its JSONL result ("" when the query
 *		matched nothing: a completed operation without url).
 */
char *
ecp_shopify_bulk_query(ShopifyConn *conn, const char *query, const char *what,
					   int64 *nobjects)
{
	JsonbContainer *data;
	JsonbContainer *payload;
	JsonbContainer *op;
	char	   *id;
	char	   *status;
	char	   *url;
	EcpHttpResponse resp;
	int			attempt;

	cancel_leftover(conn);
	data = ecp_shopify_graphql(conn, run_mutation, one_variable("query", query), 10,
							   psprintf("bulkOperationRunQuery (%s)", what));
	payload = ecp_json_object(data, "bulkOperationRunQuery", true, "$.data");
	user_errors(payload, "$.data.bulkOperationRunQuery",
				psprintf("the bulk query of %s", what));
	op = ecp_json_object(payload, "bulkOperation", true,
						 "$.data.bulkOperationRunQuery");
	id = ecp_json_string(op, "id", true, "$.data.bulkOperationRunQuery.bulkOperation");

	for (;;)
	{
		ecp_shopify_sleep(conn->poll_interval);
		data = ecp_shopify_graphql(conn, poll_query, one_variable("id", id), 1,
								   psprintf("the bulk operation poll (%s)", what));
		op = ecp_json_object(data, "node", true, "$.data");
		status = ecp_json_string(op, "status", true, "$.data.node");
		if (!still_running(status))
			break;
	}
	if (strcmp(status, "COMPLETED") != 0)
	{
		char	   *code = ecp_json_string(op, "errorCode", false, "$.data.node");
		char	   *partial = ecp_json_string(op, "partialDataUrl", false, "$.data.node");

		ereport(ERROR,
				(errcode(ERRCODE_FDW_ERROR),
				 errmsg("the Shopify bulk operation of %s ended %s%s%s", what, status,
						code ? " with error code " : "", code ? code : ""),
				 partial ? errdetail("Shopify offers partial data; a pull loads all or nothing, so none of it was loaded.") : 0,
				 errhint("Run the pull again; ACCESS_DENIED means the access token lacks a read scope.")));
	}
	/* objectCount is an UnsignedInt64: a string */
	{
		char	   *count = ecp_json_string(op, "objectCount", false, "$.data.node");

		*nobjects = count ? strtoi64(count, NULL, 10) : 0;
	}
	url = ecp_json_string(op, "url", false, "$.data.node");
	if (url == NULL)
		return pstrdup("");

	/* the result file: a signed URL, fetched without the access token */
	for (attempt = 0;; attempt++)
	{
		ecp_http_request(url, NULL, NULL, &conn->http,
						 psprintf("the download of the bulk result (%s)", what), &resp);
		conn->requests++;
		if (resp.error == NULL && resp.status == 200)
			return resp.body.data;
		if (attempt >= conn->max_retries ||
			(resp.error == NULL && resp.status < 500 && resp.status != 429))
			ereport(ERROR,
					(errcode(resp.error ? ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION : ERRCODE_FDW_ERROR),
					 errmsg("the download of the bulk result of %s failed: %s", what,
							resp.error ? resp.error : psprintf("HTTP %ld", resp.status))));
		ecp_shopify_sleep(Min(0.5 * (1 << Min(attempt, 6)), 30.0));
	}
}
