/*-------------------------------------------------------------------------
 *
 * shopify_conn.c
 *	  The Shopify Admin GraphQL API connection: the option validator of the
 *	  foreign-data wrapper ecpower_shopify, reading a server and the
 *	  caller's user mapping, and sending GraphQL requests.
 *
 * The access token lives only in the user mapping (pg_user_mappings shows
 * it to the mapping's user and superusers only).  It goes into one request
 * header and nowhere else: no message, log line or table of ecpower shows
 * it.
 *
 * Requests retry THROTTLED answers, HTTP 429 (after its Retry-After) and
 * 5xx or failed transfers (after 0.5, 1, 2, 4 ... seconds), and before each
 * request wait until the cost-based rate limit the API last reported
 * (extensions.cost.throttleStatus) has restored enough points.
 *
 * src/io/shopify_conn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "io/shopify_api.h"

#include <math.h>

#include "access/reloptions.h"
#include "catalog/pg_foreign_server.h"
#include "catalog/pg_user_mapping.h"
#include "commands/defrem.h"
#include "common/jsonapi.h"
#include "foreign/foreign.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "storage/latch.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/json.h"
#include "utils/jsonfuncs.h"

PG_FUNCTION_INFO_V1(shopify_fdw_validator);

typedef struct ShopifyOption
{
	const char *name;
	Oid			context;		/* ForeignServerRelationId or UserMappingRelationId */
} ShopifyOption;

static const ShopifyOption shopify_options[] = {
	{"shop", ForeignServerRelationId},
	{"api_version", ForeignServerRelationId},
	{"endpoint", ForeignServerRelationId},
	{"ca_file", ForeignServerRelationId},
	{"proxy", ForeignServerRelationId},
	{"connect_timeout", ForeignServerRelationId},
	{"timeout", ForeignServerRelationId},
	{"max_response_mb", ForeignServerRelationId},
	{"max_retries", ForeignServerRelationId},
	{"poll_interval", ForeignServerRelationId},
	{"access_token", UserMappingRelationId},
};

/*
 * option_int
 *		An integer option value in [min, max], or 22023 naming it.
 */
static int
option_int(DefElem *def, int min, int max)
{
	char	   *s = defGetString(def);
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0' || v < min || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a whole number from %d to %d, not \"%s\"",
						def->defname, min, max, s)));
	return (int) v;
}

/*
 * option_seconds
 *		A number of seconds in [min, max], or 22023 naming it.
 */
static double
option_seconds(DefElem *def, double min, double max)
{
	char	   *s = defGetString(def);
	char	   *end;
	double		v;

	errno = 0;
	v = strtod(s, &end);
	if (errno != 0 || end == s || *end != '\0' || isnan(v) || v < min || v > max)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("option \"%s\" must be a number of seconds from %g to %g, not \"%s\"",
						def->defname, min, max, s)));
	return v;
}

/*
 * loopback_url
 *		Whether a plain-HTTP URL points at this machine (127.0.0.1,
 *		localhost or [::1]): the only place a token may travel unencrypted.
 */
static bool
loopback_url(const char *url)
{
	static const char *const hosts[] = {"http://127.0.0.1", "http://localhost",
	"http://[::1]"};
	int			i;

	for (i = 0; i < lengthof(hosts); i++)
	{
		size_t		n = strlen(hosts[i]);

		if (pg_strncasecmp(url, hosts[i], n) == 0 &&
			(url[n] == ':' || url[n] == '/' || url[n] == '\0'))
			return true;
	}
	return false;
}

/*
 * check_option
 *		Validate one option value (the access token's value is never shown).
 */
static void
check_option(DefElem *def)
{
	const char *name = def->defname;

	if (strcmp(name, "access_token") == 0)
	{
		char	   *s = defGetString(def);
		const char *p;

		if (*s == '\0')
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"access_token\" must not be empty")));
		for (p = s; *p; p++)
			if ((unsigned char) *p < 0x21 || (unsigned char) *p > 0x7e)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("option \"access_token\" may hold printable ASCII characters only"),
						 errdetail("The value is not shown.")));
	}
	else if (strcmp(name, "shop") == 0)
	{
		char	   *s = defGetString(def);
		const char *p;

		for (p = s; *p; p++)
			if (!isalnum((unsigned char) *p) && *p != '-' && *p != '.')
				break;
		if (*s == '\0' || *p != '\0' || strchr(s, '.') == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"shop\" must be a shop domain such as \"brand.myshopify.com\", not \"%s\"",
							s)));
	}
	else if (strcmp(name, "api_version") == 0)
	{
		char	   *s = defGetString(def);

		if (strlen(s) != 7 || !isdigit((unsigned char) s[0]) ||
			!isdigit((unsigned char) s[1]) || !isdigit((unsigned char) s[2]) ||
			!isdigit((unsigned char) s[3]) || s[4] != '-' ||
			!isdigit((unsigned char) s[5]) || !isdigit((unsigned char) s[6]))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"api_version\" must be an Admin API version such as \"%s\", not \"%s\"",
							ECP_SHOPIFY_API_VERSION, s)));
	}
	else if (strcmp(name, "endpoint") == 0)
	{
		char	   *s = defGetString(def);

		if (pg_strncasecmp(s, "https://", 8) != 0 && !loopback_url(s))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"endpoint\" must be an https:// URL, not \"%s\"", s),
					 errdetail("Plain http:// is accepted for 127.0.0.1, localhost and [::1] only: the access token travels in a request header.")));
	}
	else if (strcmp(name, "ca_file") == 0)
	{
		if (!is_absolute_path(defGetString(def)))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("option \"ca_file\" must be an absolute path, not \"%s\"",
							defGetString(def))));
	}
	else if (strcmp(name, "connect_timeout") == 0)
		(void) option_int(def, 1, 3600);
	else if (strcmp(name, "timeout") == 0)
		(void) option_int(def, 1, 86400);
	else if (strcmp(name, "max_response_mb") == 0)
		(void) option_int(def, 1, 1023);
	else if (strcmp(name, "max_retries") == 0)
		(void) option_int(def, 0, 100);
	else if (strcmp(name, "poll_interval") == 0)
		(void) option_seconds(def, 0.01, 600);
}

/*
 * shopify_fdw_validator(options text[], catalog oid)
 *		Validate the options of the wrapper ecpower_shopify, its servers and
 *		their user mappings.
 */
Datum
shopify_fdw_validator(PG_FUNCTION_ARGS)
{
	List	   *options = untransformRelOptions(PG_GETARG_DATUM(0));
	Oid			catalog = PG_GETARG_OID(1);
	ListCell   *cell;

	foreach(cell, options)
	{
		DefElem    *def = (DefElem *) lfirst(cell);
		bool		known = false;
		int			i;

		for (i = 0; i < lengthof(shopify_options); i++)
			if (shopify_options[i].context == catalog &&
				strcmp(shopify_options[i].name, def->defname) == 0)
				known = true;
		if (!known)
		{
			StringInfoData buf;

			initStringInfo(&buf);
			for (i = 0; i < lengthof(shopify_options); i++)
				if (shopify_options[i].context == catalog)
					appendStringInfo(&buf, "%s%s", buf.len ? ", " : "",
									 shopify_options[i].name);
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_OPTION_NAME),
					 errmsg("invalid option \"%s\"", def->defname),
					 buf.len > 0 ?
					 errhint("Valid options in this context are: %s.", buf.data) :
					 errhint("There are no valid options in this context.")));
		}
		check_option(def);
	}
	PG_RETURN_VOID();
}

/*
 * ecp_shopify_connect
 *		The connection settings of a server for the current user.  Raises
 *		42704 for an unknown server or a missing user mapping, 42501 without
 *		USAGE on the server, 22023 for a server of another wrapper.
 */
ShopifyConn *
ecp_shopify_connect(const char *server)
{
	ForeignServer *fs;
	ForeignDataWrapper *fdw;
	UserMapping *um;
	ShopifyConn *conn = palloc0(sizeof(ShopifyConn));
	const char *shop = NULL;
	const char *version = ECP_SHOPIFY_API_VERSION;
	const char *endpoint = NULL;
	const char *token = NULL;
	AclResult	aclresult;
	ListCell   *cell;

	if (server == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("server name must not be null")));
	fs = GetForeignServerByName(server, false);
	fdw = GetForeignDataWrapper(fs->fdwid);
	if (strcmp(fdw->fdwname, "ecpower_shopify") != 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("server \"%s\" belongs to foreign-data wrapper \"%s\", not ecpower_shopify",
						server, fdw->fdwname)));
	aclresult = pg_foreign_server_aclcheck(fs->serverid, GetUserId(), ACL_USAGE);
	if (aclresult != ACLCHECK_OK)
		aclcheck_error(aclresult, OBJECT_FOREIGN_SERVER, fs->servername);
	um = GetUserMapping(GetUserId(), fs->serverid);

	conn->server = pstrdup(server);
	conn->http.connect_timeout = 10;
	conn->http.timeout = 120;
	conn->http.max_bytes = (Size) 512 * 1024 * 1024;
	conn->max_retries = 5;
	conn->poll_interval = 1.0;

	foreach(cell, fs->options)
	{
		DefElem    *def = (DefElem *) lfirst(cell);

		if (strcmp(def->defname, "shop") == 0)
			shop = defGetString(def);
		else if (strcmp(def->defname, "api_version") == 0)
			version = defGetString(def);
		else if (strcmp(def->defname, "endpoint") == 0)
			endpoint = defGetString(def);
		else if (strcmp(def->defname, "ca_file") == 0)
			conn->http.ca_file = defGetString(def);
		else if (strcmp(def->defname, "proxy") == 0)
			conn->http.proxy = defGetString(def);
		else if (strcmp(def->defname, "connect_timeout") == 0)
			conn->http.connect_timeout = option_int(def, 1, 3600);
		else if (strcmp(def->defname, "timeout") == 0)
			conn->http.timeout = option_int(def, 1, 86400);
		else if (strcmp(def->defname, "max_response_mb") == 0)
			conn->http.max_bytes = (Size) option_int(def, 1, 1023) * 1024 * 1024;
		else if (strcmp(def->defname, "max_retries") == 0)
			conn->max_retries = option_int(def, 0, 100);
		else if (strcmp(def->defname, "poll_interval") == 0)
			conn->poll_interval = option_seconds(def, 0.01, 600);
	}
	foreach(cell, um->options)
	{
		DefElem    *def = (DefElem *) lfirst(cell);

		if (strcmp(def->defname, "access_token") == 0)
			token = defGetString(def);
	}
	if (token == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("the user mapping of role \"%s\" for server \"%s\" has no option \"access_token\"",
						GetUserNameFromId(GetUserId(), false), server),
				 errhint("ALTER USER MAPPING FOR CURRENT_USER SERVER %s OPTIONS (ADD access_token '...').",
						 quote_identifier(server))));
	if (endpoint != NULL)
		conn->url = pstrdup(endpoint);
	else if (shop != NULL)
		conn->url = psprintf("https://%s/admin/api/%s/graphql.json", shop, version);
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("server \"%s\" has neither option \"shop\" nor option \"endpoint\"",
						server),
				 errhint("ALTER SERVER %s OPTIONS (ADD shop 'brand.myshopify.com').",
						 quote_identifier(server))));
	conn->auth_header = psprintf("X-Shopify-Access-Token: %s", token);
	return conn;
}

/*
 * ecp_shopify_sleep
 *		Wait, waking every 100 ms for interrupts.
 */
void
ecp_shopify_sleep(double seconds)
{
	TimestampTz until = GetCurrentTimestamp() + (TimestampTz) (seconds * USECS_PER_SEC);

	for (;;)
	{
		TimestampTz now = GetCurrentTimestamp();
		long		ms;

		CHECK_FOR_INTERRUPTS();
		if (now >= until)
			break;
		ms = Min((long) ((until - now) / 1000) + 1, 100L);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 ms, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/*
 * ecp_json_parse
 *		Parse a JSON document into jsonb; malformed text is 22032 naming
 *		what it was.
 */
Jsonb *
ecp_json_parse(const char *text, int len, const char *what)
{
	JsonLexContext *lex;
	JsonParseErrorType err;
	char	   *copy;

	lex = makeJsonLexContextCstringLen((char *) text, len, GetDatabaseEncoding(), true);
	err = pg_parse_json(lex, &nullSemAction);
	if (err != JSON_SUCCESS)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_JSON_TEXT),
				 errmsg("%s is not valid JSON: %s", what, json_errdetail(err, lex)),
				 errdetail("It starts with \"%.60s\".", text)));
	copy = pnstrdup(text, len);
	return DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum(copy)));
}

/* the value of key in an object, or NULL when absent or JSON null */
static JsonbValue *
json_get(JsonbContainer *c, const char *key)
{
	JsonbValue *v;

	if (c == NULL || !JsonContainerIsObject(c))
		return NULL;
	v = getKeyJsonValueFromContainer(c, key, strlen(key), NULL);
	if (v == NULL || v->type == jbvNull)
		return NULL;
	return v;
}

pg_attribute_noreturn()
static void
wrong_type(const char *path, const char *key, const char *expected, bool missing)
{
	ereport(ERROR,
			(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
			 missing ?
			 errmsg("the Shopify response has no %s at %s.%s", expected, path, key) :
			 errmsg("the Shopify response has a value that is not %s at %s.%s",
					expected, path, key)));
}

/*
 * ecp_json_object / ecp_json_array / ecp_json_string / ecp_json_bool /
 * ecp_json_number
 *		A member of an object, of the expected type; NULL (0, false) when
 *		absent or null and not required; HV004 naming the path otherwise.
 */
JsonbContainer *
ecp_json_object(JsonbContainer *c, const char *key, bool required, const char *path)
{
	JsonbValue *v = json_get(c, key);

	if (v == NULL)
	{
		if (required)
			wrong_type(path, key, "object", true);
		return NULL;
	}
	if (v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		wrong_type(path, key, "an object", false);
	return v->val.binary.data;
}

JsonbContainer *
ecp_json_array(JsonbContainer *c, const char *key, bool required, const char *path)
{
	JsonbValue *v = json_get(c, key);

	if (v == NULL)
	{
		if (required)
			wrong_type(path, key, "array", true);
		return NULL;
	}
	if (v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data))
		wrong_type(path, key, "an array", false);
	return v->val.binary.data;
}

char *
ecp_json_string(JsonbContainer *c, const char *key, bool required, const char *path)
{
	JsonbValue *v = json_get(c, key);

	if (v == NULL)
	{
		if (required)
			wrong_type(path, key, "string", true);
		return NULL;
	}
	if (v->type != jbvString)
		wrong_type(path, key, "a string", false);
	return pnstrdup(v->val.string.val, v->val.string.len);
}

bool
ecp_json_bool(JsonbContainer *c, const char *key, const char *path)
{
	JsonbValue *v = json_get(c, key);

	if (v == NULL)
		return false;
	if (v->type != jbvBool)
		wrong_type(path, key, "a boolean", false);
	return v->val.boolean;
}

double
ecp_json_number(JsonbContainer *c, const char *key, bool required, const char *path)
{
	JsonbValue *v = json_get(c, key);

	if (v == NULL)
	{
		if (required)
			wrong_type(path, key, "number", true);
		return 0;
	}
	if (v->type != jbvNumeric)
		wrong_type(path, key, "a number", false);
	return DatumGetFloat8(DirectFunctionCall1(numeric_float8,
											  NumericGetDatum(v->val.numeric)));
}

/*
 * ecp_shopify_gid
 *		The numeric id of a global id "gid://shopify/<type>/<digits>";
 *		HV004 for anything else.
 */
int64
ecp_shopify_gid(const char *gid, const char *type, const char *path)
{
	char	   *prefix = psprintf("gid://shopify/%s/", type);
	size_t		n = strlen(prefix);
	const char *s;
	int64		v = 0;

	if (gid == NULL || strncmp(gid, prefix, n) != 0 || gid[n] == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
				 errmsg("the Shopify response has \"%s\" at %s where a %s id (%s<number>) belongs",
						gid ? gid : "null", path, type, prefix)));
	for (s = gid + n; *s && *s != '?'; s++)
	{
		if (!isdigit((unsigned char) *s) || v > (PG_INT64_MAX - 9) / 10)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
					 errmsg("the Shopify response has \"%s\" at %s where a %s id (%s<number>) belongs",
							gid, path, type, prefix)));
		v = v * 10 + (*s - '0');
	}
	return v;
}

/*
 * update_throttle
 *		Remember extensions.cost.throttleStatus of a response.
 */
static void
update_throttle(ShopifyConn *conn, JsonbContainer *root)
{
	JsonbContainer *ext = ecp_json_object(root, "extensions", false, "$");
	JsonbContainer *cost = ecp_json_object(ext, "cost", false, "$.extensions");
	JsonbContainer *ts = ecp_json_object(cost, "throttleStatus", false,
										 "$.extensions.cost");

	if (ts == NULL)
		return;
	conn->maximum_available = ecp_json_number(ts, "maximumAvailable", true,
											  "$.extensions.cost.throttleStatus");
	conn->currently_available = ecp_json_number(ts, "currentlyAvailable", true,
												"$.extensions.cost.throttleStatus");
	conn->restore_rate = ecp_json_number(ts, "restoreRate", true,
										 "$.extensions.cost.throttleStatus");
	conn->status_at = GetCurrentTimestamp();
}

/*
 * wait_for_points
 *		Before a request of the given cost: wait until the bucket the API
 *		last reported has restored enough points.
 */
static void
wait_for_points(ShopifyConn *conn, double cost)
{
	double		elapsed;
	double		available;

	if (conn->status_at == 0 || conn->restore_rate <= 0)
		return;
	cost = Min(cost, conn->maximum_available);
	elapsed = (double) (GetCurrentTimestamp() - conn->status_at) / USECS_PER_SEC;
	available = Min(conn->maximum_available,
					conn->currently_available + elapsed * conn->restore_rate);
	/* a tenth of a second more: the status was measured before it arrived */
	if (available < cost)
		ecp_shopify_sleep((cost - available) / conn->restore_rate + 0.1);
}

/*
 * first_error
 *		The first entry of a GraphQL "errors" array: its message and
 *		extensions.code (either may be NULL).
 */
static void
first_error(JsonbContainer *errors, char **message, char **code)
{
	JsonbValue *e = getIthJsonbValueFromContainer(errors, 0);

	*message = NULL;
	*code = NULL;
	if (e == NULL || e->type != jbvBinary || !JsonContainerIsObject(e->val.binary.data))
		return;
	*message = ecp_json_string(e->val.binary.data, "message", false, "$.errors[0]");
	*code = ecp_json_string(ecp_json_object(e->val.binary.data, "extensions", false,
											"$.errors[0]"),
							"code", false, "$.errors[0].extensions");
}

/*
 * ecp_shopify_graphql
 *		Send one GraphQL document (variables: a JSON object or NULL) whose
 *		cost is about "cost" points; return its "data" object.  what names
 *		the request in messages.
 */
JsonbContainer *
ecp_shopify_graphql(ShopifyConn *conn, const char *query, const char *variables,
					double cost, const char *what)
{
	StringInfoData body;
	const char *headers[4];
	int			attempt;
	double		backoff = 0.5;
	char	   *last_problem = NULL;

	initStringInfo(&body);
	appendStringInfoString(&body, "{\"query\":");
	escape_json(&body, query);
	if (variables != NULL)
		appendStringInfo(&body, ",\"variables\":%s", variables);
	appendStringInfoChar(&body, '}');
	headers[0] = "Content-Type: application/json";
	headers[1] = "Accept: application/json";
	headers[2] = conn->auth_header;
	headers[3] = NULL;

	for (attempt = 0; attempt <= conn->max_retries; attempt++)
	{
		EcpHttpResponse resp;
		Jsonb	   *doc;
		JsonbContainer *root;
		JsonbContainer *errors;
		JsonbContainer *data;
		double		wait = backoff;

		wait_for_points(conn, cost);
		conn->requests++;
		ecp_http_request(conn->url, headers, body.data, &conn->http, what, &resp);

		if (resp.error != NULL)
			last_problem = psprintf("the transfer failed: %s", resp.error);
		else if (resp.status == 401 || resp.status == 403)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
					 errmsg("Shopify refused the access token of server \"%s\" (HTTP %ld) for %s",
							conn->server, resp.status, what),
					 errhint("Check the access_token of the user mapping and the app's access scopes (read_customers, read_products, read_orders, write_customers).")));
		else if (resp.status == 429)
		{
			conn->throttled++;
			last_problem = pstrdup("HTTP 429 Too Many Requests");
			if (resp.retry_after >= 0)
				wait = Min(resp.retry_after, 60.0);
		}
		else if (resp.status >= 500)
			last_problem = psprintf("HTTP %ld", resp.status);
		else if (resp.status != 200)
			ereport(ERROR,
					(errcode(ERRCODE_FDW_ERROR),
					 errmsg("Shopify answered HTTP %ld to %s on server \"%s\"",
							resp.status, what, conn->server),
					 errdetail("The response starts with \"%.200s\".", resp.body.data)));
		else
		{
			doc = ecp_json_parse(resp.body.data, resp.body.len,
								 psprintf("the response to %s", what));
			root = &doc->root;
			if (!JsonContainerIsObject(root))
				ereport(ERROR,
						(errcode(ERRCODE_FDW_INVALID_DATA_TYPE),
						 errmsg("the response to %s is not a JSON object", what)));
			update_throttle(conn, root);
			errors = ecp_json_array(root, "errors", false, "$");
			if (errors != NULL && JsonContainerSize(errors) > 0)
			{
				char	   *message;
				char	   *code;

				first_error(errors, &message, &code);
				if (code != NULL && strcmp(code, "THROTTLED") == 0)
				{
					conn->throttled++;
					last_problem = pstrdup("THROTTLED");
					wait = conn->restore_rate > 0 ?
						Max(0.1, (Min(cost, conn->maximum_available) -
								  conn->currently_available) / conn->restore_rate) :
						backoff;
					ecp_shopify_sleep(wait);
					continue;
				}
				ereport(ERROR,
						(errcode(ERRCODE_FDW_ERROR),
						 errmsg("Shopify returned an error for %s on server \"%s\": %s",
								what, conn->server, message ? message : "(no message)"),
						 code ? errdetail("Error code: %s.", code) : 0));
			}
			data = ecp_json_object(root, "data", true, "$");
			return data;
		}
		if (attempt < conn->max_retries)
		{
			ecp_shopify_sleep(wait);
			backoff = Min(backoff * 2, 30.0);
		}
	}
	ereport(ERROR,
			(errcode(ERRCODE_FDW_UNABLE_TO_ESTABLISH_CONNECTION),
			 errmsg("%s on server \"%s\" failed after %d attempts: %s",
					what, conn->server, conn->max_retries + 1,
					last_problem ? last_problem : "no answer"),
			 errhint("The server option max_retries sets the number of retries.")));
	return NULL;				/* keep compiler quiet */
}
