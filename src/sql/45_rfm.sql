/*
 * RFM (README "RFM"), computed in C at every refresh (src/segments/rfm.c) and stored for
 * the last successful refresh only, packed in blocks of customers
 * (src/segments/rfmstore.c): the refresh replaces the rows in the same transaction
 * as the membership, so the view always matches segment_members() and the
 * rfm_group / rfm conditions of that refresh.
 */

CREATE TABLE ecpower.rfm_blocks (
    block           integer PRIMARY KEY,
    run_id          bigint NOT NULL,
    customers       integer NOT NULL,
    data            bytea NOT NULL
);
-- the blocks are written once per refresh and read whole: no compression
ALTER TABLE ecpower.rfm_blocks ALTER COLUMN data SET STORAGE EXTERNAL;
COMMENT ON TABLE ecpower.rfm_blocks IS
    'RFM of every customer as of the last refresh (prospects included), packed by blocks of customers (src/segments/rfmstore.c); read it through ecpower.customer_rfm';
SELECT pg_catalog.pg_extension_config_dump('ecpower.rfm_blocks', '');

CREATE FUNCTION ecpower._rfm_unpack(data bytea)
RETURNS TABLE (customer_id bigint, recency_days integer, order_count integer,
               revenue numeric, r smallint, f smallint, m smallint, fm smallint,
               rfm_group text)
AS 'MODULE_PATHNAME', 'rfm_unpack'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE ROWS 4096;
COMMENT ON FUNCTION ecpower._rfm_unpack(bytea) IS
    'the customers of one block of ecpower.rfm_blocks (internal: read ecpower.customer_rfm)';

CREATE VIEW ecpower.customer_rfm AS
SELECT u.customer_id, u.recency_days, u.order_count,
       u.revenue::numeric(16,2) AS revenue, u.r, u.f, u.m, u.fm, u.rfm_group
  FROM ecpower.rfm_blocks b
 CROSS JOIN LATERAL ecpower._rfm_unpack(b.data) AS u;
COMMENT ON VIEW ecpower.customer_rfm IS
    'RFM of every customer as of the last refresh: scores 1..5 (NULL for prospects) and group';

CREATE VIEW ecpower.rfm_groups AS
SELECT g.ord::integer AS ord, g.rfm_group
  FROM pg_catalog.unnest(ARRAY['champions', 'loyal', 'active', 'new', 'promising',
                               'needs_attention', 'at_risk', 'almost_lost',
                               'previously_loyal', 'dormant', 'prospects']::text[])
       WITH ORDINALITY AS g(rfm_group, ord);
COMMENT ON VIEW ecpower.rfm_groups IS
    'the 11 RFM groups in a readable order (best first, prospects last)';
