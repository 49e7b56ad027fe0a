/*-------------------------------------------------------------------------
 *
 * customers.h
 *	  Customer keys: customer_id <-> the dense internal key (customers.ckey).
 *
 * src/timeline/customers.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef ECP_CUSTOMERS_H
#define ECP_CUSTOMERS_H

#include "postgres.h"

#include <roaring/roaring.h>

/* customer_id <-> ckey for every customer */
struct ecp_keyhash_hash;
typedef struct EcpKeyMap
{
	int32		max_ckey;		/* largest ckey in use (0 when none) */
	int32		ncustomers;
	int64	   *customer_ids;	/* indexed by ckey, max_ckey + 1 entries */
	bool	   *present;		/* indexed by ckey: a customer has this key */
	struct ecp_keyhash_hash *hash;	/* customer_id -> ckey, built on first use */
} EcpKeyMap;

extern EcpKeyMap *ecp_keymap_load(void);
extern EcpKeyMap *ecp_keymap_scan(void);
extern void ecp_keys_store(const EcpKeyMap *map);
extern int32 ecp_keymap_ckey(EcpKeyMap *map, int64 customer_id);
extern int32 *ecp_register_customer_keys(int64 first_id, int32 n);
extern int32 ecp_largest_customer_key(void);
extern void ecp_check_member_keys(roaring_bitmap_t *members, const char *source);
extern int64 *ecp_members_customer_ids(roaring_bitmap_t *members, int *count);

#endif							/* ECP_CUSTOMERS_H */
