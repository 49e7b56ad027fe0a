# The incremental order cache against the truth, over many random days.
# Each round loads a random batch of what a store's night brings (new
# orders with lines, edits of dates, channels, codes and tags, refunds,
# cancellations and un-cancellations, deleted orders, changed, added and
# deleted lines, product attribute changes, new customers; some rounds in
# replica mode, as a sync tool writes), refreshes one day later from the
# cache, and compares:
#   - every segment's members with evaluate() of its definition, which
#     reads the heap and nothing cached;
#   - every RFM group of customer_rfm with evaluate() of that group;
#   - segment_kpis (several windows), cohorts, cohort_summary, ltv_window
#     and segment_revenue of three segments and the whole store with
#     plain-SQL oracles (test/kpi_oracle.sql);
#   - every third round, every member list with a refresh from scratch.
# Zero differences in every round (fixed seeds; ECP_RANDOM_ROUNDS rounds).
use strict;
use warnings;
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $rounds = $ENV{ECP_RANDOM_ROUNDS} || 20;
my $root = "$FindBin::RealBin/../..";
my $node = PostgreSQL::Test::Cluster->new('timeline_random');
$node->init;
$node->append_conf('postgresql.conf', "fsync = off\nTimeZone = 'UTC'\njit = off\nwork_mem = '64MB'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', q{
	CREATE EXTENSION ecpower;
	UPDATE ecpower.settings SET store_timezone = 'America/New_York';
	SELECT ecpower.generate_demo_store(1500, 9);
	SELECT count(ecpower.create_segment(slug, slug, def::jsonb)) FROM (VALUES
	  ('repeat', '{"orders": {}, "count": {"gte": 2}}'),
	  ('first-coffee', '{"orders": {"nth": "first", "product_type": ["coffee"]}}'),
	  ('vendor', '{"orders": {"vendor": ["juniper lane"]}}'),
	  ('product-tag', '{"orders": {"product_tag": ["organic", "vegan"]}}'),
	  ('shop-app', '{"orders": {"sales_channel": ["shop_app"]}, "count": {"gte": 1}}'),
	  ('utm', '{"orders": {"utm_source": ["klaviyo"]}}'),
	  ('code', '{"orders": {"discount_code": ["welcome10", "spring15"]}}'),
	  ('order-tag', '{"orders": {"order_tag": ["gift", "influencer"]}}'),
	  ('discounted', '{"orders": {"has_discount": true}, "count": {"gte": 2}}'),
	  ('subscriber', '{"orders": {"subscription": true}}'),
	  ('big-order', '{"orders": {"total": {"gte": 150}}}'),
	  ('recent', '{"orders": {"period": {"last_days": 45}}}'),
	  ('window', '{"orders": {"period": {"days_ago": [10, 200]}}, "count": {"gte": 2}}'),
	  ('items', '{"metric": "items", "gte": 6}'),
	  ('spent', '{"metric": "total_spent", "gte": 250}'),
	  ('lapsed', '{"metric": "days_since_last_order", "gt": 120}'),
	  ('interval', '{"metric": "avg_interval_days", "lt": 60}'),
	  ('latest-web', '{"orders": {"nth": "latest", "sales_channel": ["web"]}}'),
	  ('second-any', '{"orders": {"nth": "second"}}'),
	  ('champions', '{"rfm_group": "champions"}'),
	  ('loyal-us', '{"all": [{"country": ["us"]}, {"segment": "repeat"}]}')
	) AS d(slug, def);
	CALL ecpower.refresh('2025-12-31 23:00-05');
});
ok($node->safe_psql('shop', 'SELECT count(*) FROM ecpower.order_cache') > 0,
	'the first refresh built the order cache');

# one night of changes; :round seeds it, :day is the new day
my $batch = q{
SELECT setseed(:round / 100.0);
CREATE TEMP TABLE new_orders AS
SELECT (SELECT max(order_id) FROM ecpower.orders) + row_number() OVER () AS order_id,
       c.customer_id,
       (:'day'::date + time '08:00' + random() * interval '14 hours') AT TIME ZONE 'America/New_York' AS ordered_at,
       round((20 + random() * 200)::numeric, 2) AS total,
       CASE WHEN random() < 0.2 THEN '{WELCOME10}'::text[] ELSE '{}' END AS codes,
       (ARRAY['web', 'shop_app', 'pos'])[1 + floor(random() * 3)::int] AS channel
  FROM ecpower.customers AS c WHERE random() < 0.01;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, discount_codes, sales_channel, utm_source)
SELECT order_id, customer_id, ordered_at, total, codes, channel,
       CASE WHEN random() < 0.3 THEN 'klaviyo' END FROM new_orders;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
SELECT n.order_id, l, (SELECT product_id FROM ecpower.products ORDER BY random() + n.order_id * 0 + l * 0 LIMIT 1),
       1 + floor(random() * 3)::int, round((5 + random() * 60)::numeric, 2)
  FROM new_orders AS n, generate_series(1, 1 + floor(random() * 2)::int) AS l;
-- refunds, cancellations, an un-cancellation
UPDATE ecpower.orders SET refunded = round(total * random()::numeric, 2) WHERE random() < 0.004;
UPDATE ecpower.orders SET cancelled_at = ordered_at + interval '1 day' WHERE cancelled_at IS NULL AND random() < 0.003;
UPDATE ecpower.orders SET cancelled_at = NULL WHERE cancelled_at IS NOT NULL AND random() < 0.05;
-- edits: dates, channels, codes, tags
UPDATE ecpower.orders SET ordered_at = ordered_at - (1 + floor(random() * 40)::int) * interval '1 day'
 WHERE random() < 0.003;
UPDATE ecpower.orders SET sales_channel = 'shop_app', utm_source = 'klaviyo' WHERE random() < 0.003;
UPDATE ecpower.orders SET discount_codes = '{SPRING15}', tags = '{gift}' WHERE random() < 0.003;
-- deleted orders (their lines by cascade)
DELETE FROM ecpower.orders WHERE random() < 0.002;
-- lines: more items, another product, an extra line, a deleted line
UPDATE ecpower.order_lines SET quantity = quantity + 3 WHERE random() < 0.003;
UPDATE ecpower.order_lines SET product_id = (SELECT min(product_id) FROM ecpower.products) WHERE random() < 0.003;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
SELECT o.order_id, 50 + :round, (SELECT max(product_id) FROM ecpower.products), 1, 9.99
  FROM ecpower.orders AS o WHERE random() < 0.003;
DELETE FROM ecpower.order_lines WHERE line_no = 1 AND random() < 0.002;
-- new customers with an order
INSERT INTO ecpower.customers (customer_id, country, tags)
SELECT 9000000 + :round * 10 + i, 'US', '{newsletter}' FROM generate_series(1, 3) AS i;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
SELECT (SELECT max(order_id) FROM ecpower.orders) + i, 9000000 + :round * 10 + i,
       (:'day'::date + time '12:00') AT TIME ZONE 'America/New_York', 40 + i
  FROM generate_series(1, 3) AS i;
DROP TABLE new_orders;
};

# product attributes change now and then
my $products = q{
UPDATE ecpower.products SET product_type = 'Coffee', vendor = 'Juniper Lane'
 WHERE product_id IN (SELECT product_id FROM ecpower.products ORDER BY product_id OFFSET :round LIMIT 2);
UPDATE ecpower.products SET tags = tags || '{vegan}'
 WHERE product_id = (SELECT product_id FROM ecpower.products ORDER BY product_id DESC OFFSET :round LIMIT 1);
};

# the checks: each query returns the names of what differs, nothing when right
my $checks = q{
\set ECHO none
\i :root/test/kpi_oracle.sql
SET client_min_messages = warning;
-- members against the live evaluation of each definition
SELECT 'members ' || s.slug FROM ecpower.segments AS s
 WHERE ARRAY(SELECT m FROM ecpower.segment_members(s.slug) AS m ORDER BY m)
       IS DISTINCT FROM
       ARRAY(SELECT e FROM ecpower.evaluate(s.definition, pg_temp.o_as_of()) AS e ORDER BY e);
-- RFM groups against the live evaluation of each group
SELECT 'rfm ' || g FROM unnest(ARRAY['new', 'active', 'champions', 'promising', 'loyal',
       'needs_attention', 'almost_lost', 'at_risk', 'dormant', 'previously_loyal']) AS g
 WHERE ARRAY(SELECT r.customer_id FROM ecpower.customer_rfm AS r WHERE r.rfm_group = g ORDER BY 1)
       IS DISTINCT FROM
       ARRAY(SELECT e FROM ecpower.evaluate(jsonb_build_object('rfm_group', g), pg_temp.o_as_of()) AS e ORDER BY e);
-- KPI reports against plain SQL
CREATE TEMP TABLE test_slugs (slug text);
INSERT INTO test_slugs VALUES (NULL), ('repeat'), ('recent'), ('first-coffee');
CREATE TEMP TABLE test_windows (from_d date, to_d date);
INSERT INTO test_windows VALUES (NULL, NULL), ('2025-01-01', '2025-12-31'),
    (pg_temp.o_as_of_date() - 30, NULL);
SELECT 'segment_kpis ' || coalesce(slug, 'store') FROM pg_temp.o_segment_kpis_mismatches();
SELECT 'cohorts ' || coalesce(t.slug, 'store') FROM test_slugs AS t
 WHERE EXISTS ((SELECT * FROM ecpower.cohorts(t.slug, 6) EXCEPT ALL SELECT * FROM pg_temp.o_cohorts(t.slug, 6))
               UNION ALL
               (SELECT * FROM pg_temp.o_cohorts(t.slug, 6) EXCEPT ALL SELECT * FROM ecpower.cohorts(t.slug, 6)));
SELECT 'cohort_summary ' || coalesce(t.slug, 'store') FROM test_slugs AS t
 WHERE EXISTS ((SELECT * FROM ecpower.cohort_summary(t.slug) EXCEPT ALL SELECT * FROM pg_temp.o_cohort_summary(t.slug))
               UNION ALL
               (SELECT * FROM pg_temp.o_cohort_summary(t.slug) EXCEPT ALL SELECT * FROM ecpower.cohort_summary(t.slug)));
SELECT 'ltv_window ' || coalesce(t.slug, 'store') FROM test_slugs AS t
 WHERE EXISTS ((SELECT * FROM ecpower.ltv_window(t.slug, 3) EXCEPT ALL SELECT * FROM pg_temp.o_ltv_window(t.slug, 3))
               UNION ALL
               (SELECT * FROM pg_temp.o_ltv_window(t.slug, 3) EXCEPT ALL SELECT * FROM ecpower.ltv_window(t.slug, 3)));
SELECT 'segment_revenue ' || t.slug FROM test_slugs AS t
 WHERE t.slug IS NOT NULL AND EXISTS (
       (SELECT * FROM ecpower.segment_revenue(ARRAY[t.slug], 'week', '2025-10-01', pg_temp.o_as_of_date())
        EXCEPT ALL SELECT * FROM pg_temp.o_segment_revenue(t.slug, 'week', '2025-10-01', pg_temp.o_as_of_date()))
       UNION ALL
       (SELECT * FROM pg_temp.o_segment_revenue(t.slug, 'week', '2025-10-01', pg_temp.o_as_of_date())
        EXCEPT ALL SELECT * FROM ecpower.segment_revenue(ARRAY[t.slug], 'week', '2025-10-01', pg_temp.o_as_of_date())));
};

my ($incremental, $changed) = (0, 0);
for my $round (1 .. $rounds)
{
	my $day = $node->safe_psql('shop', "SELECT date '2026-01-01' + $round - 1");
	my $replica = $round % 4 == 0;
	my $script = ($replica ? "SET session_replication_role = replica;\n" : '')
	  . $batch . ($round % 3 == 0 ? $products : '')
	  . ($replica ? "RESET session_replication_role;\n" : '');
	$node->safe_psql('shop', $script, extra_params => [ '-v', "round=$round", '-v', "day=$day" ]);
	my $logged = $node->safe_psql('shop', 'SELECT count(*) FROM ecpower.order_changes');
	ok($logged > 0, "round $round: the night's changes are logged ($logged)"
		. ($replica ? ' in replica mode' : ''));

	$node->safe_psql('shop', "CALL ecpower.refresh('$day 23:00-05')");
	my $stale = $node->safe_psql('shop',
		'SELECT coalesce(octet_length(stale) / 8, 0) FROM ecpower.order_cache_state');
	$incremental++ if $stale > 0;

	my $diff = $node->safe_psql('shop', $checks, extra_params => [ '-v', "root=$root" ]);
	is($diff, '', "round $round ($day): members, RFM and KPI reports equal the truth");

	if ($round % 3 == 0)
	{
		my $members = q{SELECT string_agg(s.slug || ':' || (SELECT count(*) || '/' || coalesce(sum(m), 0)
			FROM ecpower.segment_members(s.slug) AS m), ' ' ORDER BY s.slug) FROM ecpower.segments AS s};
		my $cached = $node->safe_psql('shop', $members);
		$node->safe_psql('shop', "SELECT ecpower.reset_order_cache(); CALL ecpower.refresh('$day 23:00-05')");
		is($node->safe_psql('shop', $members), $cached,
			"round $round: a refresh from scratch finds the same members");
	}
}
ok($incremental >= $rounds / 2, "most rounds refreshed from the cache with stale orders ($incremental of $rounds)");

$node->stop;
done_testing();
