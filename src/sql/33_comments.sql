/*
 * Comments of the input tables, in the words of the README (they replace
 * those the first release gave them).
 */
COMMENT ON TABLE ecpower.customers IS 'the store''s customers (README "Loading your data")';
COMMENT ON TABLE ecpower.products IS 'the store''s products (README "Loading your data")';
COMMENT ON TABLE ecpower.orders IS
    'the store''s orders (README "Loading your data"); counted when not cancelled and not after as_of';
COMMENT ON TABLE ecpower.order_lines IS 'order line items (README "Loading your data")';
