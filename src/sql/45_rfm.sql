/*
 * RFM (SPEC 3.3), computed in C at every refresh (src/rfm.c) and stored for
 * the last successful refresh only: the refresh replaces the rows in the
 * same transaction as the membership, so the view always matches
 * segment_members() and the rfm_group / rfm conditions of that refresh.
 */

CREATE TABLE ecpower.rfm (
    customer_id     bigint PRIMARY KEY,
    run_id          bigint NOT NULL,
    recency_days    integer,
    order_count     integer NOT NULL,
    revenue         numeric(16,2) NOT NULL,
    r               smallint,
    f               smallint,
    m               smallint,
    fm              smallint,
    rfm_group       text NOT NULL
);
COMMENT ON TABLE ecpower.rfm IS
    'RFM scores of every customer as of the last refresh (prospects included)';
SELECT pg_catalog.pg_extension_config_dump('ecpower.rfm', '');

CREATE VIEW ecpower.customer_rfm AS
SELECT customer_id, recency_days, order_count, revenue, r, f, m, fm, rfm_group
  FROM ecpower.rfm;
COMMENT ON VIEW ecpower.customer_rfm IS
    'RFM of every customer as of the last refresh: scores 1..5 (NULL for prospects) and group';

CREATE VIEW ecpower.rfm_groups AS
SELECT g.ord::integer AS ord, g.rfm_group
  FROM pg_catalog.unnest(ARRAY['champions', 'loyal', 'active', 'new', 'promising',
                               'needs_attention', 'at_risk', 'almost_lost',
                               'previously_loyal', 'dormant', 'prospects']::text[])
       WITH ORDINALITY AS g(rfm_group, ord);
COMMENT ON VIEW ecpower.rfm_groups IS
    'the 11 RFM groups of SPEC 3.3 in a readable order (best first, prospects last)';
