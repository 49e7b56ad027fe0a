# Reports on a streaming replica: BI tools usually read from a hot standby.
# Every report, membership and RFM function answers on the standby exactly
# as on the primary: after a refresh, after orders loaded since (the change
# log the readers consult), and after the next refresh.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "fsync = off\nTimeZone = 'UTC'\n");
$primary->start;
$primary->safe_psql('postgres', 'CREATE DATABASE shop');
$primary->safe_psql('shop', q{
	CREATE EXTENSION ecpower;
	SELECT ecpower.generate_demo_store(2000, 11);
	SELECT ecpower.create_segment('repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}');
	SELECT ecpower.create_segment('coffee', 'Coffee', '{"orders": {"product_type": ["coffee"]}}');
	SELECT ecpower.create_segment('lapsed', 'Lapsed', '{"metric": "days_since_last_order", "gt": 120}');
	CALL ecpower.refresh('2025-06-29 12:00+00');
	CALL ecpower.refresh('2025-06-30 12:00+00');
});

$primary->backup('b1');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'b1', has_streaming => 1);
$standby->start;

# one query per reader; each returns its whole answer as text
my @readers = (
	[ 'segment_kpis', q{SELECT ecpower.segment_kpis('repeat')::text} ],
	[ 'segment_kpis store', q{SELECT ecpower.segment_kpis(NULL, '2024-01-01', '2025-06-30')::text} ],
	[ 'compare_segments', q{SELECT string_agg(c::text, ';' ORDER BY c.slug) FROM ecpower.compare_segments(ARRAY['repeat', 'coffee', 'lapsed']) AS c} ],
	[ 'ltv_window', q{SELECT string_agg(w::text, ';') FROM ecpower.ltv_window('coffee', 3) AS w} ],
	[ 'segment_revenue', q{SELECT string_agg(r::text, ';' ORDER BY r.slug, r.period_start) FROM ecpower.segment_revenue(ARRAY['repeat', 'coffee'], 'month', '2025-01-01', '2025-06-30') AS r} ],
	[ 'cohorts', q{SELECT string_agg(c::text, ';' ORDER BY c.cohort_month, c.month_offset) FROM ecpower.cohorts('repeat', 6) AS c} ],
	[ 'cohort_summary', q{SELECT string_agg(c::text, ';' ORDER BY c.cohort_month) FROM ecpower.cohort_summary(NULL) AS c} ],
	[ 'journey', q{SELECT string_agg(j::text, ';' ORDER BY j.from_slug, j.to_slug) FROM ecpower.journey(ARRAY['repeat', 'lapsed'], '2025-06-29', '2025-06-30') AS j} ],
	[ 'feature_report', q{SELECT string_agg(f::text, ';' ORDER BY f.rank) FROM ecpower.feature_report('repeat', 'product', 'first') AS f} ],
	[ 'distribution', q{SELECT string_agg(d::text, ';' ORDER BY d.bin) FROM ecpower.distribution('coffee', 'order_count') AS d} ],
	[ 'bought_together', q{SELECT string_agg(b::text, ';' ORDER BY b.rank) FROM ecpower.bought_together(NULL) AS b} ],
	[ 'segment_members', q{SELECT count(*) || ':' || sum(m) FROM ecpower.segment_members('coffee') AS m} ],
	[ 'segment_members on a day', q{SELECT count(*) || ':' || sum(m) FROM ecpower.segment_members('repeat', '2025-06-29') AS m} ],
	[ 'customer_rfm', q{SELECT count(*) || ':' || md5(string_agg(r::text, ';' ORDER BY r.customer_id)) FROM ecpower.customer_rfm AS r} ],
	[ 'segment_customers', q{SELECT count(*) || ':' || md5(string_agg(c::text, ';' ORDER BY c.customer_id)) FROM ecpower.segment_customers('lapsed') AS c} ],
	[ 'evaluate', q{SELECT count(*) || ':' || sum(e) FROM ecpower.evaluate('{"orders": {"nth": "second", "has_discount": true}}', '2025-07-02 00:00+00') AS e} ],
);

sub compare_all
{
	my ($when) = @_;
	$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
	for my $r (@readers)
	{
		my ($name, $sql) = @$r;
		my $want = $primary->safe_psql('shop', $sql);
		my ($ret, $got, $err) = $standby->psql('shop', $sql);
		is($ret, 0, "$name runs on the standby ($when)") or diag($err);
		is($got, $want, "$name answers on the standby as on the primary ($when)");
	}
}

ok($standby->safe_psql('shop', 'SELECT pg_is_in_recovery()') eq 't', 'the standby is in recovery');
ok($standby->safe_psql('shop', 'SELECT count(*) FROM ecpower.order_cache') > 0,
	'the order cache is replicated');
compare_all('after a refresh');

# orders loaded after the refresh: the readers take them from the change log
$primary->safe_psql('shop', q{
	INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
	SELECT 990000 + row_number() OVER (), customer_id, timestamptz '2025-06-30 08:00+00', 42
	  FROM ecpower.customers WHERE customer_id % 17 = 0;
	UPDATE ecpower.orders SET refunded = total WHERE order_id % 41 = 3;
});
ok($primary->safe_psql('shop', 'SELECT count(*) FROM ecpower.order_changes') > 0, 'changes are logged');
compare_all('with changes since the refresh');

$primary->safe_psql('shop', q{CALL ecpower.refresh('2025-07-01 12:00+00')});
compare_all('after the next refresh');

$standby->stop;
$primary->stop;
done_testing();
