/*-------------------------------------------------------------------------
 *
 * access.c
 *	  Table privileges and row-level security for the C readers.
 *
 * The reports, the evaluator, the predictions and the refresh read the
 * store's input tables (customers, products, orders, order_lines) below
 * the executor: by scanning the heap, or through the refresh's order
 * cache.  The executor's permission checks and row security policies do
 * not run there, so every such function first calls
 * ecp_check_input_access(), which holds the caller to what a plain SELECT
 * on the same tables would require:
 *
 *	- SELECT on each table (42501 naming the table otherwise);
 *	- no row-level security policy applying to the caller on any of them:
 *	  the readers see whole tables and cannot apply a policy's filter, so
 *	  they refuse (42501) rather than answer from rows the caller could
 *	  not read.  Owners without FORCE ROW LEVEL SECURITY, superusers and
 *	  roles with BYPASSRLS are not subject to policies and are answered.
 *
 * See docs/security.md.
 *
 * src/core/access.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/acl.h"
#include "utils/rls.h"

#include "core/access.h"
#include "core/ecpower.h"

static const char *const input_tables[] = {
	"customers", "products", "orders", "order_lines"
};

/*
 * ecp_check_input_access
 *		Refuse (42501) unless the current user may SELECT every input table
 *		named in the mask 'tables' (ECP_INPUT_*) and no row-level security
 *		policy applies to the current user on any of them.  Call it before
 *		the first read of those tables.
 */
void
ecp_check_input_access(int tables)
{
	Oid			userid = GetUserId();

	for (int i = 0; i < lengthof(input_tables); i++)
	{
		Oid			relid;

		if ((tables & (1 << i)) == 0)
			continue;
		relid = ecp_relid(input_tables[i]);
		if (pg_class_aclcheck(relid, userid, ACL_SELECT) != ACLCHECK_OK)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("permission denied for table ecpower.%s",
							input_tables[i]),
					 errdetail("ecpower's reports read ecpower.%s with the privileges of the calling role.",
							   input_tables[i]),
					 errhint("GRANT SELECT ON ecpower.%s to the role, or call the function as a role that has it.",
							 input_tables[i])));

		/*
		 * With row_security = off, check_enable_rls raises its own 42501
		 * when a policy would apply; with it on, it says RLS_ENABLED.
		 */
		if (check_enable_rls(relid, InvalidOid, false) == RLS_ENABLED)
			ereport(ERROR,
					(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
					 errmsg("row-level security is enabled on table ecpower.%s for this role",
							input_tables[i]),
					 errdetail("ecpower's reports read whole tables and do not apply row security policies, so they refuse to answer for a role that policies restrict."),
					 errhint("Call the function as a role that policies do not restrict (the owner, or a role with BYPASSRLS), or disable row-level security on ecpower.%s.",
							 input_tables[i])));
	}
}
