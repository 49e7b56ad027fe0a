-- Reports on one segment (psql variables slug and as_of, the as_of of the
-- current refresh; slugs, a text[] literal of the five segments compared by
-- compare_segments; jfrom and jto, two refreshed days for journey): each
-- ecpower call and its plain-SQL equivalent, written the obvious way (joins,
-- count(DISTINCT), window functions, percentile_cont), projecting the same
-- columns so that the benchmark can check once that both give the same rows
-- (EXCEPT both ways).
-- The plain queries read the segment's members from bench.members, a table
-- with a primary key filled from ecpower.segment_members() beforehand (a
-- DBA's segment table); the five compared segments from bench.members5
-- (slug, customer_id), and the membership of the journey's two days from
-- bench.jmembers (day, slug, customer_id), filled the same way.
CREATE TABLE IF NOT EXISTS bench.reports (
    label  text PRIMARY KEY,
    ours   text NOT NULL,
    plain  text NOT NULL
);
TRUNCATE bench.reports;
-- the KPI columns the plain queries and DuckDB compute (gross_profit and
-- gross_margin are left out of the comparison: the input export has no costs)
DROP TYPE IF EXISTS bench.kpi12 CASCADE;
CREATE TYPE bench.kpi12 AS (customers bigint, buyers bigint, orders bigint, revenue numeric,
    ltv numeric, aov numeric, customer_aov numeric, avg_orders numeric, repeat_rate numeric,
    avg_interval_days numeric, median_interval_days numeric, avg_lifetime_days numeric);
DROP TABLE IF EXISTS bench.members;
CREATE TABLE bench.members (customer_id bigint PRIMARY KEY);
INSERT INTO bench.members SELECT m FROM ecpower.segment_members(:'slug') m;
ANALYZE bench.members;
DROP TABLE IF EXISTS bench.members5;
CREATE TABLE bench.members5 (slug text, customer_id bigint, PRIMARY KEY (slug, customer_id));
INSERT INTO bench.members5
SELECT s, m FROM unnest(:'slugs'::text[]) s, ecpower.segment_members(s) m;
ANALYZE bench.members5;
DROP TABLE IF EXISTS bench.jmembers;
CREATE TABLE bench.jmembers (day date, slug text, customer_id bigint, PRIMARY KEY (day, slug, customer_id));
INSERT INTO bench.jmembers
SELECT d, s, m FROM unnest(ARRAY[:'jfrom', :'jto']::date[]) d, unnest(:'slugs'::text[]) s,
       ecpower.segment_members(s, d) m;
ANALYZE bench.jmembers;

INSERT INTO bench.reports VALUES
('feature_report', format($q$
SELECT rank, key, label, customers, share, store_share, lift
  FROM ecpower.feature_report(%L, 'product')$q$, :'slug'),
format($q$
WITH co AS (SELECT order_id, customer_id FROM ecpower.orders
             WHERE cancelled_at IS NULL AND ordered_at <= %L::timestamptz),
sel AS (SELECT l.product_id, co.customer_id
          FROM co JOIN ecpower.order_lines l USING (order_id) WHERE l.product_id IS NOT NULL),
seg AS (SELECT product_id, count(DISTINCT customer_id) AS c FROM sel
         WHERE customer_id IN (SELECT customer_id FROM bench.members) GROUP BY 1),
st AS (SELECT product_id, count(DISTINCT customer_id) AS c FROM sel GROUP BY 1),
n AS (SELECT (SELECT count(*) FROM bench.members) AS n,
             (SELECT count(DISTINCT customer_id) FROM co) AS sn)
SELECT (row_number() OVER (ORDER BY seg.c DESC, seg.product_id::text COLLATE "C"))::int AS rank,
       seg.product_id::text AS key, p.title AS label, seg.c AS customers,
       seg.c::numeric / n.n AS share, st.c::numeric / n.sn AS store_share,
       (seg.c::numeric / n.n) / (st.c::numeric / n.sn) AS lift
  FROM seg JOIN st USING (product_id) JOIN ecpower.products p USING (product_id), n
 ORDER BY 1 LIMIT 10$q$, :'as_of')),

('distribution', format($q$
SELECT bin, customers
  FROM ecpower.distribution(%L, 'amount', 'all', NULL, NULL,
                            '{0,20,40,60,80,100,150,200,300}'::numeric[])
 WHERE customers > 0$q$, :'slug'),
format($q$
WITH v AS (SELECT o.customer_id, avg(o.total - o.refunded) AS a
             FROM ecpower.orders o JOIN bench.members m USING (customer_id)
            WHERE o.cancelled_at IS NULL AND o.ordered_at <= %L::timestamptz
            GROUP BY 1),
b AS (SELECT width_bucket(a, '{0,20,40,60,80,100,150,200,300}'::numeric[]) AS bin FROM v)
SELECT bin, count(*) AS customers FROM b WHERE bin >= 1 GROUP BY 1$q$, :'as_of')),

('cohorts', format($q$
SELECT cohort_month, month_offset, customers, active_customers, revenue
  FROM ecpower.cohorts(%L, 12)$q$, :'slug'),
format($q$
WITH c AS (SELECT o.customer_id, (o.ordered_at AT TIME ZONE 'UTC')::date AS d,
                  o.total - o.refunded AS net
             FROM ecpower.orders o JOIN bench.members m USING (customer_id)
            WHERE o.cancelled_at IS NULL AND o.ordered_at <= %1$L::timestamptz),
f AS (SELECT customer_id, date_trunc('month', min(d))::date AS cm FROM c GROUP BY 1),
co AS (SELECT c.customer_id, c.net, f.cm,
              ((extract(year FROM c.d) * 12 + extract(month FROM c.d))
               - (extract(year FROM f.cm) * 12 + extract(month FROM f.cm)))::int AS k
         FROM c JOIN f USING (customer_id)),
sz AS (SELECT cm, count(*) AS size FROM f GROUP BY cm),
offs AS (SELECT sz.cm, sz.size, k FROM sz, generate_series(0, 11) k
          WHERE sz.cm + make_interval(months => k)
                <= date_trunc('month', (%1$L::timestamptz AT TIME ZONE 'UTC')::date)),
act AS (SELECT cm, k, count(DISTINCT customer_id) AS a, sum(net) AS rev FROM co GROUP BY cm, k)
SELECT offs.cm AS cohort_month, offs.k AS month_offset, offs.size::int AS customers,
       coalesce(act.a, 0)::int AS active_customers, coalesce(act.rev, 0) AS revenue
  FROM offs LEFT JOIN act ON act.cm = offs.cm AND act.k = offs.k$q$, :'as_of')),

('segment_kpis', format($q$
SELECT k.customers, k.buyers, k.orders, k.revenue, k.ltv, k.aov, k.customer_aov, k.avg_orders,
       k.repeat_rate, k.avg_interval_days, k.median_interval_days, k.avg_lifetime_days
  FROM ecpower.segment_kpis(%L) k$q$, :'slug'),
format($q$
WITH r AS (SELECT m.customer_id, o.ordered_at, o.total - o.refunded AS net,
                  (o.ordered_at AT TIME ZONE 'UTC')::date AS d
             FROM bench.members m
             LEFT JOIN ecpower.orders o ON o.customer_id = m.customer_id
              AND o.cancelled_at IS NULL AND o.ordered_at <= %L::timestamptz),
c AS (SELECT count(DISTINCT customer_id) AS customers FROM r),
o AS (SELECT * FROM r WHERE ordered_at IS NOT NULL),
pc AS (SELECT customer_id, count(*) AS n, sum(net) AS rev, max(d) - min(d) AS life
         FROM o GROUP BY customer_id),
p AS (SELECT count(*) AS buyers, sum(n) AS orders, sum(rev) AS revenue,
             count(*) FILTER (WHERE n >= 2) AS repeaters, sum(life) AS life,
             avg(rev / n) AS caov
        FROM pc),
gp AS (SELECT d - lag(d) OVER (PARTITION BY customer_id ORDER BY d) AS gap FROM o),
med AS (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS med
          FROM gp WHERE gap IS NOT NULL)
SELECT (ROW(c.customers, coalesce(p.buyers, 0), coalesce(p.orders, 0),
           coalesce(p.revenue, 0),
           round(coalesce(p.revenue, 0) / nullif(c.customers, 0), 2),
           round(p.revenue / nullif(p.orders, 0), 2),
           round(p.caov, 2),
           round(coalesce(p.orders, 0)::numeric / nullif(c.customers, 0), 4),
           round(coalesce(p.repeaters, 0)::numeric / nullif(c.customers, 0), 4),
           round(p.life::numeric / nullif(p.orders - p.buyers, 0), 2),
           m.med::numeric,
           round(p.life::numeric / nullif(p.buyers, 0), 2))::bench.kpi12).*
  FROM c, p, med m$q$, :'as_of')),

('kpis_group_by', format($q$
SELECT sales_channel, (k).customers, (k).buyers, (k).orders, (k).revenue, (k).ltv, (k).aov,
       (k).customer_aov, (k).avg_orders, (k).repeat_rate, (k).avg_interval_days,
       (k).median_interval_days, (k).avg_lifetime_days
  FROM (SELECT o.sales_channel, ecpower.kpis(o.customer_id, o.ordered_at, o.total - o.refunded) AS k
          FROM ecpower.orders o
         WHERE o.customer_id IN (SELECT customer_id FROM bench.members)
           AND o.cancelled_at IS NULL AND o.ordered_at <= %L::timestamptz
         GROUP BY 1) x$q$, :'as_of'),
format($q$
WITH r AS (SELECT o.sales_channel AS g, o.customer_id, o.ordered_at, o.total - o.refunded AS net,
                  (o.ordered_at AT TIME ZONE 'UTC')::date AS d
             FROM ecpower.orders o
            WHERE o.customer_id IN (SELECT customer_id FROM bench.members)
              AND o.cancelled_at IS NULL AND o.ordered_at <= %L::timestamptz),
c AS (SELECT g, count(DISTINCT customer_id) AS customers FROM r GROUP BY g),
pc AS (SELECT g, customer_id, count(*) AS n, sum(net) AS rev, max(d) - min(d) AS life
         FROM r GROUP BY g, customer_id),
p AS (SELECT g, count(*) AS buyers, sum(n) AS orders, sum(rev) AS revenue,
             count(*) FILTER (WHERE n >= 2) AS repeaters, sum(life) AS life,
             avg(rev / n) AS caov
        FROM pc GROUP BY g),
gp AS (SELECT g, d - lag(d) OVER (PARTITION BY g, customer_id ORDER BY d) AS gap FROM r),
med AS (SELECT g, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS med
          FROM gp WHERE gap IS NOT NULL GROUP BY g)
SELECT c.g, (ROW(c.customers, p.buyers, p.orders, p.revenue,
           round(p.revenue / nullif(c.customers, 0), 2),
           round(p.revenue / nullif(p.orders, 0), 2),
           round(p.caov, 2),
           round(p.orders::numeric / nullif(c.customers, 0), 4),
           round(p.repeaters::numeric / nullif(c.customers, 0), 4),
           round(p.life::numeric / nullif(p.orders - p.buyers, 0), 2),
           m.med::numeric,
           round(p.life::numeric / nullif(p.buyers, 0), 2))::bench.kpi12).*
  FROM c JOIN p ON p.g IS NOT DISTINCT FROM c.g
  LEFT JOIN med m ON m.g IS NOT DISTINCT FROM c.g$q$, :'as_of')),

('feature_report_first', format($q$
SELECT rank, key, label, customers, share, store_share, lift
  FROM ecpower.feature_report(%L, 'product', 'first')$q$, :'slug'),
format($q$
WITH co AS (SELECT order_id, customer_id,
                   row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS seq
              FROM ecpower.orders
             WHERE cancelled_at IS NULL AND ordered_at <= %L::timestamptz),
sel AS (SELECT l.product_id, co.customer_id
          FROM co JOIN ecpower.order_lines l USING (order_id)
         WHERE co.seq = 1 AND l.product_id IS NOT NULL),
seg AS (SELECT product_id, count(DISTINCT customer_id) AS c FROM sel
         WHERE customer_id IN (SELECT customer_id FROM bench.members) GROUP BY 1),
st AS (SELECT product_id, count(DISTINCT customer_id) AS c FROM sel GROUP BY 1),
n AS (SELECT (SELECT count(*) FROM bench.members) AS n,
             (SELECT count(*) FROM co WHERE seq = 1) AS sn)
SELECT (row_number() OVER (ORDER BY seg.c DESC, seg.product_id::text COLLATE "C"))::int AS rank,
       seg.product_id::text AS key, p.title AS label, seg.c AS customers,
       seg.c::numeric / n.n AS share, st.c::numeric / n.sn AS store_share,
       (seg.c::numeric / n.n) / (st.c::numeric / n.sn) AS lift
  FROM seg JOIN st USING (product_id) JOIN ecpower.products p USING (product_id), n
 ORDER BY 1 LIMIT 10$q$, :'as_of')),

('distribution_orders', format($q$
SELECT bin, lower, upper, customers, share
  FROM ecpower.distribution(%L, 'order_count', 'all', NULL, NULL,
                            '{1,2,3,4,5,6,8,10,15,20}'::numeric[])
 WHERE customers > 0$q$, :'slug'),
format($q$
WITH v AS (SELECT o.customer_id, count(*) AS n
             FROM ecpower.orders o JOIN bench.members m USING (customer_id)
            WHERE o.cancelled_at IS NULL AND o.ordered_at <= %L::timestamptz
            GROUP BY 1),
b AS (SELECT width_bucket(n::numeric, '{1,2,3,4,5,6,8,10,15,20}'::numeric[]) AS bin FROM v),
t AS (SELECT bin, count(*) AS customers FROM b WHERE bin >= 1 GROUP BY 1)
SELECT bin, ('{1,2,3,4,5,6,8,10,15,20}'::numeric[])[bin] AS lower,
       ('{1,2,3,4,5,6,8,10,15,20}'::numeric[])[bin + 1] AS upper, customers,
       customers::numeric / sum(customers) OVER () AS share
  FROM t$q$, :'as_of')),

('cohort_summary', format($q$
SELECT cohort_month, customers, ltv_3m, ltv_6m, ltv_12m, f2_rate, f2_rate_90d
  FROM ecpower.cohort_summary(%L)$q$, :'slug'),
format($q$
WITH c AS (SELECT o.customer_id, o.order_id, o.ordered_at,
                  (o.ordered_at AT TIME ZONE 'UTC')::date AS d, o.total - o.refunded AS net
             FROM ecpower.orders o JOIN bench.members m USING (customer_id)
            WHERE o.cancelled_at IS NULL AND o.ordered_at <= %1$L::timestamptz),
r AS (SELECT customer_id, d, net,
             row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS seq,
             min(d) OVER (PARTITION BY customer_id) AS first
        FROM c),
pc AS (SELECT customer_id, first, date_trunc('month', first)::date AS cm, count(*) AS n,
              sum(net) FILTER (WHERE d < first + interval '3 months') AS l3,
              sum(net) FILTER (WHERE d < first + interval '6 months') AS l6,
              sum(net) FILTER (WHERE d < first + interval '12 months') AS l12,
              max(d) FILTER (WHERE seq = 2) AS second
         FROM r GROUP BY customer_id, first),
a AS (SELECT (%1$L::timestamptz AT TIME ZONE 'UTC')::date AS as_of_date),
k AS (SELECT cm, (cm + interval '1 month')::date - 1 AS last_day, count(*) AS size,
             sum(l3) AS l3, sum(l6) AS l6, sum(l12) AS l12,
             count(*) FILTER (WHERE n >= 2) AS f2,
             count(*) FILTER (WHERE second - first <= 90) AS f2_90
        FROM pc GROUP BY cm)
SELECT k.cm AS cohort_month, k.size::int AS customers,
       CASE WHEN (k.last_day + interval '3 months')::date <= a.as_of_date THEN round(k.l3 / k.size, 2) END AS ltv_3m,
       CASE WHEN (k.last_day + interval '6 months')::date <= a.as_of_date THEN round(k.l6 / k.size, 2) END AS ltv_6m,
       CASE WHEN (k.last_day + interval '12 months')::date <= a.as_of_date THEN round(k.l12 / k.size, 2) END AS ltv_12m,
       round(k.f2::numeric / k.size, 4) AS f2_rate,
       CASE WHEN k.last_day + 90 <= a.as_of_date THEN round(k.f2_90::numeric / k.size, 4) END AS f2_rate_90d
  FROM k, a$q$, :'as_of')),

('compare_segments', format($q$
SELECT slug, customers, buyers, orders, revenue, ltv, aov, customer_aov, avg_orders,
       repeat_rate, avg_interval_days, median_interval_days, avg_lifetime_days,
       revenue_share, customer_share
  FROM ecpower.compare_segments(%L::text[])$q$, :'slugs'),
format($q$
WITH r AS (SELECT m.slug, m.customer_id, o.ordered_at, o.total - o.refunded AS net,
                  (o.ordered_at AT TIME ZONE 'UTC')::date AS d
             FROM bench.members5 m
             LEFT JOIN ecpower.orders o ON o.customer_id = m.customer_id
              AND o.cancelled_at IS NULL AND o.ordered_at <= %1$L::timestamptz),
c AS (SELECT slug, count(DISTINCT customer_id) AS customers FROM r GROUP BY slug),
o AS (SELECT * FROM r WHERE ordered_at IS NOT NULL),
pc AS (SELECT slug, customer_id, count(*) AS n, sum(net) AS rev, max(d) - min(d) AS life
         FROM o GROUP BY slug, customer_id),
p AS (SELECT slug, count(*) AS buyers, sum(n) AS orders, sum(rev) AS revenue,
             count(*) FILTER (WHERE n >= 2) AS repeaters, sum(life) AS life,
             avg(rev / n) AS caov
        FROM pc GROUP BY slug),
gp AS (SELECT slug, d - lag(d) OVER (PARTITION BY slug, customer_id ORDER BY d) AS gap FROM o),
med AS (SELECT slug, percentile_cont(0.5) WITHIN GROUP (ORDER BY gap) AS med
          FROM gp WHERE gap IS NOT NULL GROUP BY slug),
st AS (SELECT sum(total - refunded) AS revenue, count(DISTINCT customer_id) AS buyers
         FROM ecpower.orders WHERE cancelled_at IS NULL AND ordered_at <= %1$L::timestamptz)
SELECT c.slug, (ROW(c.customers, coalesce(p.buyers, 0), coalesce(p.orders, 0),
           coalesce(p.revenue, 0),
           round(coalesce(p.revenue, 0) / nullif(c.customers, 0), 2),
           round(p.revenue / nullif(p.orders, 0), 2),
           round(p.caov, 2),
           round(coalesce(p.orders, 0)::numeric / nullif(c.customers, 0), 4),
           round(coalesce(p.repeaters, 0)::numeric / nullif(c.customers, 0), 4),
           round(p.life::numeric / nullif(p.orders - p.buyers, 0), 2),
           m.med::numeric,
           round(p.life::numeric / nullif(p.buyers, 0), 2))::bench.kpi12).*,
       round(coalesce(p.revenue, 0) / nullif(st.revenue, 0), 4) AS revenue_share,
       round(c.customers::numeric / nullif(st.buyers, 0), 4) AS customer_share
  FROM c LEFT JOIN p USING (slug) LEFT JOIN med m USING (slug), st$q$, :'as_of')),

('bought_together', format($q$
SELECT rank, product_a, product_b, customers, support, confidence, lift
  FROM ecpower.bought_together(%L, 10)$q$, :'slug'),
format($q$
WITH co AS (SELECT order_id, customer_id FROM ecpower.orders
             WHERE cancelled_at IS NULL AND ordered_at <= %L::timestamptz
               AND customer_id IN (SELECT customer_id FROM bench.members)),
mo AS (SELECT DISTINCT co.customer_id, co.order_id, l.product_id
         FROM co JOIN ecpower.order_lines l USING (order_id) WHERE l.product_id IS NOT NULL),
ab AS (SELECT a.product_id AS pa, b.product_id AS pb, count(DISTINCT a.customer_id) AS c
         FROM mo a JOIN mo b ON b.order_id = a.order_id AND b.product_id > a.product_id
        GROUP BY 1, 2),
s AS (SELECT product_id, count(DISTINCT customer_id) AS c FROM mo GROUP BY 1),
n AS (SELECT count(*) AS n FROM bench.members)
SELECT (row_number() OVER (ORDER BY ab.c DESC, ab.pa, ab.pb))::int AS rank,
       ab.pa AS product_a, ab.pb AS product_b, ab.c AS customers,
       ab.c::numeric / n.n AS support, ab.c::numeric / sa.c AS confidence,
       (ab.c * n.n)::numeric / (sa.c * sb.c) AS lift
  FROM ab JOIN s sa ON sa.product_id = ab.pa JOIN s sb ON sb.product_id = ab.pb, n
 ORDER BY 1 LIMIT 10$q$, :'as_of')),

('journey', format($q$
SELECT from_slug, to_slug, customers, revenue
  FROM ecpower.journey(%L::text[], %L, %L)$q$, :'slugs', :'jfrom', :'jto'),
format($q$
WITH a AS (SELECT customer_id, slug FROM bench.jmembers WHERE day = %1$L),
b AS (SELECT customer_id, slug FROM bench.jmembers WHERE day = %2$L),
fa AS (SELECT customer_id, slug FROM a
       UNION ALL
       SELECT DISTINCT customer_id, NULL FROM b WHERE customer_id NOT IN (SELECT customer_id FROM a)),
fb AS (SELECT customer_id, slug FROM b
       UNION ALL
       SELECT DISTINCT customer_id, NULL FROM a WHERE customer_id NOT IN (SELECT customer_id FROM b)),
p AS (SELECT fa.customer_id, fa.slug AS f, fb.slug AS t FROM fa JOIN fb USING (customer_id)),
rev AS (SELECT o.customer_id, sum(o.total - o.refunded) AS r
          FROM ecpower.orders o
         WHERE o.cancelled_at IS NULL AND o.ordered_at <= %3$L::timestamptz
           AND (o.ordered_at AT TIME ZONE 'UTC')::date > %1$L::date
           AND (o.ordered_at AT TIME ZONE 'UTC')::date <= %2$L::date
           AND o.customer_id IN (SELECT customer_id FROM p)
         GROUP BY 1)
SELECT p.f AS from_slug, p.t AS to_slug, count(*) AS customers, coalesce(sum(rev.r), 0) AS revenue
  FROM p LEFT JOIN rev USING (customer_id)
 GROUP BY 1, 2$q$, :'jfrom', :'jto', :'as_of'));

-- acquisition_report by UTM campaign (with the demo spend: CAC and payback)
-- and next_purchases of products, on the segment and on the whole store.
-- %2$s restricts the counted orders to the segment's members, or not.
CREATE TEMP TABLE bench_acq_cases (label text, slug text, members text);
INSERT INTO bench_acq_cases VALUES
    ('acquisition_report', :'slug', 'AND o.customer_id IN (SELECT customer_id FROM bench.members)'),
    ('acquisition_report_store', NULL, '');
INSERT INTO bench.reports
SELECT c.label,
format($q$
SELECT rank, key, label, customers, share, first_aov, repeat_rate, f2_rate_90d, ltv_3m, ltv_6m,
       ltv_12m, ltv, avg_orders, gross_profit_ltv, cac, ltv_12m_to_cac, payback_days
  FROM ecpower.acquisition_report('utm_campaign', %L)$q$, c.slug),
format($q$
WITH st AS (SELECT store_timezone AS tz FROM ecpower.settings),
co AS (SELECT o.order_id, o.customer_id, o.utm_campaign, (o.ordered_at AT TIME ZONE st.tz)::date AS d,
              o.total - o.refunded AS net,
              row_number() OVER (PARTITION BY o.customer_id ORDER BY o.ordered_at, o.order_id) AS seq
         FROM ecpower.orders o, st
        WHERE o.cancelled_at IS NULL AND o.ordered_at <= %1$L::timestamptz %2$s),
lc AS (SELECT l.order_id, sum(l.quantity * l.unit_cost) AS cost,
              bool_or(l.unit_cost IS NULL OR l.product_id IS NULL) AS missing
         FROM ecpower.order_lines l GROUP BY 1),
cop AS (SELECT co.*, CASE WHEN lc.missing THEN NULL ELSE co.net - coalesce(lc.cost, 0) END AS profit
          FROM co LEFT JOIN lc USING (order_id)),
asof AS (SELECT (%1$L::timestamptz AT TIME ZONE st.tz)::date AS d FROM st),
f AS (SELECT customer_id, d AS fd, net AS fnet, utm_campaign AS val, lower(utm_campaign) AS key
        FROM co WHERE seq = 1),
pc AS (SELECT f.customer_id, f.key, f.fd, f.fnet, count(*) AS n,
              min(c.d) FILTER (WHERE c.seq = 2) AS d2, sum(c.net) AS net, sum(c.profit) AS profit,
              bool_or(c.profit IS NULL) AS pm,
              coalesce(sum(c.net) FILTER (WHERE c.d < (f.fd + interval '3 months')::date), 0) AS n3,
              coalesce(sum(c.net) FILTER (WHERE c.d < (f.fd + interval '6 months')::date), 0) AS n6,
              coalesce(sum(c.net) FILTER (WHERE c.d < (f.fd + interval '12 months')::date), 0) AS n12
         FROM f JOIN cop c USING (customer_id)
        WHERE f.key <> ''
        GROUP BY 1, 2, 3, 4),
agg AS (SELECT pc.key, count(*) AS customers, avg(pc.fnet) AS first_aov,
               avg((pc.n >= 2)::int) AS repeat_rate,
               avg(coalesce(pc.d2 <= pc.fd + 90, false)::int) FILTER (WHERE pc.fd + 90 <= asof.d) AS f2,
               avg(pc.n3) FILTER (WHERE (pc.fd + interval '3 months')::date <= asof.d) AS l3,
               avg(pc.n6) FILTER (WHERE (pc.fd + interval '6 months')::date <= asof.d) AS l6,
               avg(pc.n12) FILTER (WHERE (pc.fd + interval '12 months')::date <= asof.d) AS l12,
               avg(pc.net) AS ltv, avg(pc.n) AS avg_orders,
               CASE WHEN bool_or(pc.pm) THEN NULL ELSE avg(pc.profit) END AS gp
          FROM pc, asof GROUP BY 1),
top AS (SELECT * FROM agg ORDER BY customers DESC, key COLLATE "C" LIMIT 20),
spend AS (SELECT lower(s.key) AS key, sum(s.amount) AS amount FROM ecpower.acquisition_spend s
           WHERE s.dimension = 'utm_campaign' GROUP BY 1),
ev AS (SELECT pc.key, c.d - pc.fd AS dd, sum(coalesce(c.profit, c.net)) AS amt
         FROM pc JOIN cop c USING (customer_id) WHERE pc.key IN (SELECT key FROM top) GROUP BY 1, 2),
pb AS (SELECT e.key, min(e.dd) AS d
         FROM (SELECT key, dd, sum(amt) OVER (PARTITION BY key ORDER BY dd) AS cum FROM ev) e
         JOIN top USING (key) JOIN spend USING (key)
        WHERE e.cum / top.customers >= spend.amount / top.customers GROUP BY 1),
lab AS (SELECT DISTINCT ON (key) key, val
          FROM (SELECT key, val, count(*) AS n FROM f WHERE key <> '' GROUP BY 1, 2) x
         ORDER BY key, n DESC, val COLLATE "C")
SELECT (row_number() OVER (ORDER BY t.customers DESC, t.key COLLATE "C"))::int AS rank,
       t.key, lab.val AS label, t.customers,
       round(t.customers::numeric / (SELECT count(*) FROM f), 4) AS share,
       round(t.first_aov, 2), round(t.repeat_rate, 4), round(t.f2, 4),
       round(t.l3, 2), round(t.l6, 2), round(t.l12, 2), round(t.ltv, 2), round(t.avg_orders, 4),
       round(t.gp, 2), round(spend.amount / t.customers, 2),
       round(t.l12 / nullif(spend.amount / t.customers, 0), 4), pb.d
  FROM top t LEFT JOIN lab USING (key) LEFT JOIN spend USING (key) LEFT JOIN pb USING (key)
 ORDER BY 1$q$, :'as_of', c.members)
  FROM bench_acq_cases c;

UPDATE bench_acq_cases SET label = replace(label, 'acquisition_report', 'next_purchases');
INSERT INTO bench.reports
SELECT c.label,
format($q$
SELECT from_key, from_label, to_key, to_label, customers, share, median_days
  FROM ecpower.next_purchases(%L)$q$, c.slug),
format($q$
WITH st AS (SELECT store_timezone AS tz FROM ecpower.settings),
co AS (SELECT o.order_id, o.customer_id, (o.ordered_at AT TIME ZONE st.tz)::date AS d,
              row_number() OVER (PARTITION BY o.customer_id ORDER BY o.ordered_at, o.order_id) AS seq
         FROM ecpower.orders o, st
        WHERE o.cancelled_at IS NULL AND o.ordered_at <= %1$L::timestamptz %2$s),
a AS (SELECT * FROM co WHERE seq = 1),
b AS (SELECT * FROM co WHERE seq = 2),
fv AS (SELECT DISTINCT a.customer_id, l.product_id AS fkey
         FROM a JOIN ecpower.order_lines l USING (order_id) WHERE l.product_id IS NOT NULL),
tv AS (SELECT DISTINCT b.customer_id, l.product_id AS tkey, b.d - a.d AS gap
         FROM b JOIN a USING (customer_id) JOIN ecpower.order_lines l ON l.order_id = b.order_id
        WHERE l.product_id IS NOT NULL),
fc AS (SELECT fkey, count(*) AS n FROM fv GROUP BY 1),
pairs AS (SELECT fv.fkey, tv.tkey, count(*) AS customers,
                 (percentile_cont(0.5) WITHIN GROUP (ORDER BY tv.gap))::numeric AS med
            FROM fv JOIN tv USING (customer_id) GROUP BY 1, 2
          UNION ALL
          SELECT fv.fkey, NULL, count(*), NULL FROM fv
           WHERE NOT EXISTS (SELECT 1 FROM b WHERE b.customer_id = fv.customer_id) GROUP BY 1),
ranked AS (SELECT p.*, fc.n,
                  row_number() OVER (PARTITION BY p.fkey, p.tkey IS NULL
                                     ORDER BY p.customers DESC, p.tkey) AS rn
             FROM pairs p JOIN fc USING (fkey))
SELECT r.fkey::text AS from_key, pf.title AS from_label, r.tkey::text AS to_key,
       pt.title AS to_label, r.customers, round(r.customers::numeric / r.n, 4) AS share,
       r.med AS median_days
  FROM ranked r LEFT JOIN ecpower.products pf ON pf.product_id = r.fkey
  LEFT JOIN ecpower.products pt ON pt.product_id = r.tkey
 WHERE r.tkey IS NULL OR r.rn <= 10
 ORDER BY r.n DESC, r.fkey, r.customers DESC, r.tkey IS NULL, r.tkey$q$, :'as_of', c.members)
  FROM bench_acq_cases c;
