/*-------------------------------------------------------------------------
 *
 * shopify.h
 *	  Shopify admin CSV exports into the ecpower input tables.
 *
 * ecpower.import_shopify_orders(csv text) and
 * ecpower.import_shopify_customers(csv text) parse the orders_export.csv
 * and customers_export.csv files of Shopify admin (every header version
 * since 2019: columns are found by name) and upsert customers, products,
 * orders and order lines in the caller's transaction.
 *
 * Ids Shopify's files do not carry are derived from stable keys, see
 * ecp_shopify_derived_id().
 *
 * src/io/shopify.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_SHOPIFY_H
#define ECP_SHOPIFY_H

#include "postgres.h"

/*
 * Derived ids live in [2^62, 2^63): Shopify's own ids (about 2^42 today)
 * and order numbers never reach that range.
 */
#define ECP_DERIVED_ID_BASE		(INT64CONST(1) << 62)

extern int64 ecp_shopify_derived_id(const char *key, size_t len);

#endif							/* ECP_SHOPIFY_H */
