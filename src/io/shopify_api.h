/*-------------------------------------------------------------------------
 *
 * shopify_api.h
 *	  The Shopify Admin GraphQL API connection of ecpower.
 *
 * A shop is a foreign server of the wrapper ecpower_shopify; its access
 * token is the access_token option of the caller's user mapping.
 * ecp_shopify_connect() reads both, ecp_shopify_graphql() sends one
 * GraphQL document and returns its data, retrying throttled and failed
 * requests and pacing itself by the cost-based rate limit the API reports.
 *
 * src/io/shopify_api.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_SHOPIFY_API_H
#define ECP_SHOPIFY_API_H

#include "postgres.h"

#include "io/http.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

/* the Admin API version ecpower speaks, unless a server names another */
#define ECP_SHOPIFY_API_VERSION "2025-01"

typedef struct ShopifyConn
{
	char	   *server;			/* foreign server name */
	char	   *url;			/* GraphQL endpoint */
	char	   *auth_header;	/* "X-Shopify-Access-Token: ..." (never shown) */
	EcpHttpOptions http;
	int			max_retries;	/* per request, for THROTTLED, 429 and 5xx */
	double		poll_interval;	/* seconds between bulk operation polls */
	/* the last throttle status the API reported */
	double		maximum_available;
	double		currently_available;
	double		restore_rate;
	TimestampTz status_at;		/* when it was reported; 0 = never */
	int64		requests;		/* requests sent, retries included */
	int64		throttled;		/* THROTTLED answers and 429s */
} ShopifyConn;

extern ShopifyConn *ecp_shopify_connect(const char *server);
extern JsonbContainer *ecp_shopify_graphql(ShopifyConn *conn, const char *query,
										   const char *variables, double cost,
										   const char *what);
extern void ecp_shopify_sleep(double seconds);

/* reading a parsed response; "path" names the value in error messages */
extern Jsonb *ecp_json_parse(const char *text, int len, const char *what);
extern JsonbContainer *ecp_json_object(JsonbContainer *c, const char *key,
									   bool required, const char *path);
extern JsonbContainer *ecp_json_array(JsonbContainer *c, const char *key,
									  bool required, const char *path);
extern char *ecp_json_string(JsonbContainer *c, const char *key,
							 bool required, const char *path);
extern bool ecp_json_bool(JsonbContainer *c, const char *key, const char *path);
extern double ecp_json_number(JsonbContainer *c, const char *key,
							  bool required, const char *path);
extern int64 ecp_shopify_gid(const char *gid, const char *type, const char *path);

#endif							/* ECP_SHOPIFY_API_H */
