/*
 * Checks at the door of the input tables (docs/security.md "Input checks").
 * The tables were released in 0.1.0 and their script is frozen, so the
 * constraint is added here, where both a fresh install and the update
 * from 0.1.0 run it.
 *
 *   orders.ordered_at     from 1900-01-01 to before 2200-01-01 (UTC): every
 *                         date ecpower reports is a store-local calendar
 *                         day, and an infinite or far-away order date has
 *                         none a calendar can hold (one such order stopped
 *                         every refresh)
 *
 * An update from 0.1.0 on a store that holds orders breaking it stops
 * before adding it, naming the orders, so that they can be fixed first.
 * (A refund above the total, or a negative line price, stays legal in the
 * table, as the specification of the input tables allows it; the Shopify
 * importers refuse both in a file.)
 */
DO $$
DECLARE
    v_bad text;
BEGIN
    SELECT pg_catalog.string_agg(o.order_id::text, ', ' ORDER BY o.order_id)
      INTO v_bad
      FROM (SELECT x.order_id FROM ecpower.orders AS x
             WHERE x.ordered_at OPERATOR(pg_catalog.<) '1900-01-01 00:00:00+00'::pg_catalog.timestamptz
                OR x.ordered_at OPERATOR(pg_catalog.>=) '2200-01-01 00:00:00+00'::pg_catalog.timestamptz
             ORDER BY x.order_id LIMIT 20) AS o;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'ecpower.orders holds orders with ordered_at outside 1900-01-01 .. 2199-12-31: %', v_bad
            USING ERRCODE = 'check_violation',
                  HINT = 'Correct or delete these orders (the first 20 are listed), then update the extension again.';
    END IF;
END
$$;

ALTER TABLE ecpower.orders
    ADD CONSTRAINT orders_ordered_at_range
    CHECK (ordered_at OPERATOR(pg_catalog.>=) '1900-01-01 00:00:00+00'::pg_catalog.timestamptz
           AND ordered_at OPERATOR(pg_catalog.<) '2200-01-01 00:00:00+00'::pg_catalog.timestamptz);
COMMENT ON CONSTRAINT orders_ordered_at_range ON ecpower.orders IS
    'ordered_at is a date a store calendar can hold: from 1900-01-01 to before 2200-01-01 (UTC)';
