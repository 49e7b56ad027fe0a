/*
 * Costs (README "Loading your data"): what one unit of a line cost the store when it was sold.
 * Loaded by ecpower.shopify_pull() (the variant's inventory cost when the
 * order is first pulled) or by the store's own INSERT/UPDATE; NULL when
 * unknown.
 */
ALTER TABLE ecpower.order_lines ADD COLUMN unit_cost numeric(14,2);
COMMENT ON COLUMN ecpower.order_lines.unit_cost IS
    'cost of one unit when sold, in the store currency; NULL when unknown (README "Loading your data")';
