/*
 * Checks at the door of the input tables (docs/security.md "Input checks").
 * The tables were released in 0.1.0 and their script is frozen, so the
 * constraints are added here, where both a fresh install and the update
 * from 0.1.0 run them.
 *
 *   orders.ordered_at     from 1900-01-01 to before 2200-01-01 (UTC): every
 *                         date ecpower reports is a store-local calendar
 *                         day, and an infinite or far-away order date has
 *                         none a calendar can hold
 *   orders.refunded       at most total: the net amount is total - refunded
 *   order_lines.price     not negative
 *
 * An update from 0.1.0 on a store that holds rows breaking them stops
 * before adding them, naming the rows, so that they can be fixed first.
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
                OR x.refunded OPERATOR(pg_catalog.>) x.total
             ORDER BY x.order_id LIMIT 20) AS o;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'ecpower.orders holds orders with ordered_at outside 1900-01-01 .. 2199-12-31 or refunded above total: %', v_bad
            USING ERRCODE = 'check_violation',
                  HINT = 'Correct or delete these orders (the first 20 are listed), then update the extension again.';
    END IF;
    SELECT pg_catalog.string_agg(pg_catalog.format('(%s, %s)', l.order_id, l.line_no), ', ')
      INTO v_bad
      FROM (SELECT x.order_id, x.line_no FROM ecpower.order_lines AS x
             WHERE x.price OPERATOR(pg_catalog.<) 0
             ORDER BY x.order_id, x.line_no LIMIT 20) AS l;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'ecpower.order_lines holds lines with a negative price (order_id, line_no): %', v_bad
            USING ERRCODE = 'check_violation',
                  HINT = 'Correct or delete these lines (the first 20 are listed), then update the extension again.';
    END IF;
END
$$;

ALTER TABLE ecpower.orders
    ADD CONSTRAINT orders_ordered_at_range
    CHECK (ordered_at OPERATOR(pg_catalog.>=) '1900-01-01 00:00:00+00'::pg_catalog.timestamptz
           AND ordered_at OPERATOR(pg_catalog.<) '2200-01-01 00:00:00+00'::pg_catalog.timestamptz),
    ADD CONSTRAINT orders_refunded_total_check
    CHECK (refunded OPERATOR(pg_catalog.<=) total);
ALTER TABLE ecpower.order_lines
    ADD CONSTRAINT order_lines_price_check
    CHECK (price OPERATOR(pg_catalog.>=) 0);
COMMENT ON CONSTRAINT orders_ordered_at_range ON ecpower.orders IS
    'ordered_at is a date a store calendar can hold: from 1900-01-01 to before 2200-01-01 (UTC)';
COMMENT ON CONSTRAINT orders_refunded_total_check ON ecpower.orders IS
    'a refund is at most what the customer paid';
COMMENT ON CONSTRAINT order_lines_price_check ON ecpower.order_lines IS
    'a line price is not negative';
