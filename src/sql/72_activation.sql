/*
 * Activation (README "Shopify import and activation"): the tag-change feed and segment export.
 *
 *   tag_changes          add/remove events for segments with a sync_tag,
 *                        appended by refresh; apps page through them with
 *                        pending_tag_changes() and call Shopify's API
 *   tag_sync_state       per synced segment, the members the feed has
 *                        announced (roaring bitmap of customers.ckey): each
 *                        refresh announces the difference to its result
 *   segment_customers()  a segment's members with contact and order facts,
 *                        for \copy ... TO 'file.csv' CSV HEADER
 */

CREATE TABLE ecpower.tag_changes (
    change_id       bigserial PRIMARY KEY,
    customer_id     bigint NOT NULL,
    tag             text NOT NULL,
    action          text NOT NULL
                    CONSTRAINT tag_changes_action_check
                    CHECK (action OPERATOR(pg_catalog.=) ANY (ARRAY['add', 'remove']::text[])),
    slug            text NOT NULL,
    changed_at      timestamptz NOT NULL
);
COMMENT ON TABLE ecpower.tag_changes IS
    'tag add/remove events of segments with sync_tag, one per membership change, appended by refresh (README "Shopify import and activation")';
COMMENT ON COLUMN ecpower.tag_changes.changed_at IS
    'as_of of the refresh that saw the change';

CREATE TABLE ecpower.tag_sync_state (
    segment_id      integer PRIMARY KEY,
    slug            text NOT NULL,
    tag             text NOT NULL,
    run_id          bigint NOT NULL,
    members         bytea NOT NULL
);
COMMENT ON TABLE ecpower.tag_sync_state IS
    'per synced segment: the tag and members (bitmap of customers.ckey) the tag-change feed has announced';

SELECT pg_catalog.pg_extension_config_dump('ecpower.tag_changes', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.tag_changes_change_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.tag_sync_state', '');

CREATE FUNCTION ecpower._record_tag_changes(run_id bigint)
RETURNS bigint
AS 'MODULE_PATHNAME', 'record_tag_changes'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._record_tag_changes(bigint) IS
    'internal, called by refresh after storing membership: append tag_changes for segments with sync_tag';

CREATE FUNCTION ecpower.pending_tag_changes(after_id bigint, max integer DEFAULT 1000)
RETURNS SETOF ecpower.tag_changes
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF max IS NULL OR max OPERATOR(pg_catalog.<) 1 THEN
        RAISE EXCEPTION 'max must be at least 1, not %', COALESCE(max::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    RETURN QUERY
        SELECT t.*
          FROM ecpower.tag_changes AS t
         WHERE t.change_id OPERATOR(pg_catalog.>) COALESCE(after_id, 0)
         ORDER BY t.change_id
         LIMIT max;
END
$$;
COMMENT ON FUNCTION ecpower.pending_tag_changes(bigint, integer) IS
    'the next tag changes after change_id after_id (NULL or 0: from the start), at most max, in change_id order';

CREATE FUNCTION ecpower._segment_member_since(slug text)
RETURNS TABLE (customer_id bigint, member_since date)
AS 'MODULE_PATHNAME', 'segment_member_since'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._segment_member_since(text) IS
    'internal: members as of the last refresh with the first refreshed day of their current unbroken membership';

CREATE FUNCTION ecpower.segment_customers(slug text)
RETURNS TABLE (customer_id bigint, email text, tags text[], country text,
               orders bigint, revenue numeric, first_order_at timestamptz,
               last_order_at timestamptz, member_since date)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    WITH m AS MATERIALIZED (
        SELECT s.customer_id, s.member_since
          FROM ecpower._segment_member_since(slug) AS s
    )
    SELECT c.customer_id, c.email, c.tags, c.country,
           COALESCE(o.orders, 0::bigint), COALESCE(o.revenue, 0.00),
           o.first_order_at, o.last_order_at, m.member_since
      FROM m
      JOIN ecpower.customers AS c
        ON c.customer_id OPERATOR(pg_catalog.=) m.customer_id
      LEFT JOIN ecpower._customer_orders(
                (SELECT COALESCE(pg_catalog.array_agg(x.customer_id), '{}'::bigint[])
                   FROM m AS x),
                NULL,
                (SELECT r.as_of FROM ecpower.refresh_state AS s
                   JOIN ecpower.refresh_runs AS r
                     ON r.run_id OPERATOR(pg_catalog.=) s.current_run_id)) AS o
        ON o.customer_id OPERATOR(pg_catalog.=) c.customer_id
     ORDER BY c.customer_id
$$;
COMMENT ON FUNCTION ecpower.segment_customers(text) IS
    'a segment''s members as of the last refresh: e-mail, tags, country, counted orders, net revenue, first/last order, member_since; for \copy to CSV';
