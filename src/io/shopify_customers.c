/*-------------------------------------------------------------------------
 *
 * shopify_customers.c
 *	  ecpower.import_shopify_customers(): the customers_export.csv of
 *	  Shopify admin.  Columns are found by header name (case and spacing
 *	  ignored); customers are matched by e-mail first, then by Customer ID.
 *
 * src/io/shopify_customers.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "io/shopify_import.h"
#include "core/ecpower.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "common/md5.h"
#include "executor/spi.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "pgtime.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"

PG_FUNCTION_INFO_V1(import_shopify_customers);

typedef enum CustomerColumn
{
	CC_ID,
	CC_EMAIL,
	CC_PHONE,
	CC_ACCEPTS,
	CC_CITY,
	CC_PROVINCE,
	CC_COUNTRY,
	CC_TAGS,
	CC_NCOLUMNS
} CustomerColumn;

static const ColumnSpec customer_columns[CC_NCOLUMNS] = {
	[CC_ID] = {"Customer ID", {"customer id", "id"}},
	[CC_EMAIL] = {"Email", {"email"}},
	[CC_PHONE] = {"Phone", {"phone", "default address phone"}},
	[CC_ACCEPTS] = {"Accepts Email Marketing", {"accepts email marketing", "accepts marketing"}},
	[CC_CITY] = {"Default Address City", {"default address city", "city"}},
	[CC_PROVINCE] = {"Default Address Province Code", {"default address province code", "province code", "province"}},
	[CC_COUNTRY] = {"Default Address Country Code", {"default address country code", "country code", "country"}},
	[CC_TAGS] = {"Tags", {"tags"}},
};

/*
 * parse_customers
 *		Phase 1 of the customers import: read and validate the whole file.
 *		Rows with neither Customer ID nor e-mail are skipped (counted).
 */
static void
parse_customers(ImportState *st)
{
	static const char *hint =
		"ecpower.import_shopify_customers() reads the customers_export.csv file of Shopify admin; orders_export.csv goes to ecpower.import_shopify_orders().";

	shp_read_header(st, customer_columns, CC_NCOLUMNS);
	shp_require_column(st, customer_columns, CC_EMAIL, CC_ID, hint);
	if (st->cols[CC_ID] < 0)
	{
		/* an orders export has Email too: refuse it */
		int			i;

		for (i = 0; i < st->ncolumns; i++)
			if (strcmp(st->normalized[i], "lineitem name") == 0)
				ereport(ERROR,
						(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
						 errmsg("the %s has a column \"%s\": this is an orders export",
								st->what, st->header[i]),
						 errhint("%s", hint)));
	}

	while (csv_next(&st->reader))
	{
		ImportCustomer *c;
		char	   *email;
		char	   *id_text;
		int64		export_id = 0;
		int			accepts;
		int			known = st->ncustomers;

		shp_check_field_count(st);
		id_text = shp_get_field(st, CC_ID);
		if (id_text != NULL &&
			(!shp_parse_int64(id_text, &export_id) || export_id <= 0))
			shp_bad_value(st, CC_ID, id_text, "a positive whole number");
		accepts = shp_get_bool(st, CC_ACCEPTS);
		email = shp_keep(shp_get_field(st, CC_EMAIL));
		if (email != NULL)
		{
			shp_ascii_lower(email);
			c = shp_customer_entry(st, shp_derived_id_for("email:", email), CK_EMAIL,
							   email);
		}
		else if (id_text != NULL)
			c = shp_customer_entry(st, shp_derived_id_for("id:", id_text),
							   CK_EXPORT_ID, NULL);
		else
		{
			st->customer_counts.skipped++;
			continue;
		}
		/* a later row for the same customer wins: say so, count it */
		if (st->ncustomers == known)
		{
			ereport(NOTICE,
					(errmsg("row %lld of the customers export is the customer of row %lld, whose values it replaces",
							(long long) st->reader.row, (long long) c->row),
					 email ? errdetail("E-mail addresses are matched without regard to case: \"%s\".", email) : 0));
			st->customer_counts.skipped++;
		}
		if (id_text != NULL)
			c->customer_id = export_id;
		c->accepts = accepts;
		c->city = shp_keep(shp_get_field(st, CC_CITY));
		c->province = shp_keep(shp_get_field(st, CC_PROVINCE));
		c->country = shp_keep(shp_get_field(st, CC_COUNTRY));
		c->tags = shp_split_list(shp_get_field(st, CC_TAGS));
	}
}

/*
 * import_shopify_customers(csv text) RETURNS TABLE (kind, inserted,
 * updated, skipped)
 *		Load a Shopify customers_export.csv (old or current header).
 *		Customers are matched by e-mail first, then by Customer ID; new
 *		ones take the export's Customer ID, or a derived id when the export
 *		has none.
 */
Datum
import_shopify_customers(PG_FUNCTION_ARGS)
{
	text	   *csv = PG_GETARG_TEXT_PP(0);
	MemoryContext importcxt;
	MemoryContext oldcxt;
	ImportState *st;
	int			i;

	InitMaterializedSRF(fcinfo, 0);
	importcxt = AllocSetContextCreate(CurrentMemoryContext, "shopify import",
									  ALLOCSET_DEFAULT_SIZES);
	oldcxt = MemoryContextSwitchTo(importcxt);

	st = shp_import_state_create(csv, "customers export");
	parse_customers(st);

	SPI_connect();
	/* an export id counts as a match: derived-id collisions do not apply */
	for (i = 0; i < st->ncustomers; i++)
		if (st->customers[i]->customer_id != st->customers[i]->key)
			st->customers[i]->id_known = true;
	shp_match_emails(st);
	shp_write_customers(st, false);
	SPI_finish();

	MemoryContextSwitchTo(oldcxt);
	shp_return_counts(fcinfo, st, false);
	MemoryContextDelete(importcxt);
	PG_RETURN_NULL();
}
