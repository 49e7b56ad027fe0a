-- Reports on one segment (psql variables slug and as_of, the as_of of the
-- current refresh): each ecpower call and its plain-SQL equivalent, written
-- the obvious way (joins, count(DISTINCT), window functions,
-- percentile_cont), projecting the same columns so that the benchmark can
-- check once that both give the same rows (EXCEPT both ways).
-- The plain queries read the segment's members from bench.members, a table
-- with a primary key filled from ecpower.segment_members() beforehand (a
-- DBA's segment table).
CREATE TABLE IF NOT EXISTS bench.reports (
    label  text PRIMARY KEY,
    ours   text NOT NULL,
    plain  text NOT NULL
);
TRUNCATE bench.reports;
DROP TABLE IF EXISTS bench.members;
CREATE TABLE bench.members (customer_id bigint PRIMARY KEY);
INSERT INTO bench.members SELECT m FROM ecpower.segment_members(:'slug') m;
ANALYZE bench.members;

INSERT INTO bench.reports VALUES
('feature_report', format($q$
SELECT rank, key, customers, share, store_share
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
       seg.product_id::text AS key, seg.c AS customers,
       seg.c::numeric / n.n AS share, st.c::numeric / n.sn AS store_share
  FROM seg JOIN st USING (product_id), n
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
SELECT k.* FROM ecpower.segment_kpis(%L) k$q$, :'slug'),
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
           round(p.life::numeric / nullif(p.buyers, 0), 2))::ecpower.kpi).*
  FROM c, p, med m$q$, :'as_of')),

('kpis_group_by', format($q$
SELECT o.sales_channel, (ecpower.kpis(o.customer_id, o.ordered_at, o.total - o.refunded)).*
  FROM ecpower.orders o
 WHERE o.customer_id IN (SELECT customer_id FROM bench.members)
   AND o.cancelled_at IS NULL AND o.ordered_at <= %L::timestamptz
 GROUP BY 1$q$, :'as_of'),
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
           round(p.life::numeric / nullif(p.buyers, 0), 2))::ecpower.kpi).*
  FROM c JOIN p ON p.g IS NOT DISTINCT FROM c.g
  LEFT JOIN med m ON m.g IS NOT DISTINCT FROM c.g$q$, :'as_of'));
