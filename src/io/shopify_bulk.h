/*-------------------------------------------------------------------------
 *
 * shopify_bulk.h
 *	  Bulk query operations of the Shopify Admin API.
 *
 * src/io/shopify_bulk.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_SHOPIFY_BULK_H
#define ECP_SHOPIFY_BULK_H

#include "io/shopify_api.h"

/*
 * Run a bulk query (a GraphQL query document with one top-level
 * connection) to completion and return its JSONL result; what names it in
 * messages; *nobjects receives the operation's objectCount.
 */
extern char *ecp_shopify_bulk_query(ShopifyConn *conn, const char *query,
									const char *what, int64 *nobjects);

#endif							/* ECP_SHOPIFY_BULK_H */
