# Upgrades as a DBA makes them (docs/upgrades.md): a server runs the 0.2.0
# library (built from the 0.2.0 release commit by tools/test.sh); a store
# installed as 0.1.0 is updated to 0.2.0, gets segments and a refresh by
# that library.  The server is stopped, started on the current files, and:
#  - a refresh before ALTER EXTENSION UPDATE fails and changes nothing;
#  - ALTER EXTENSION ecpower UPDATE keeps every input row, definition,
#    membership day, KPI snapshot, tag change and run, and the customer
#    keys the history is written in (with the gaps 0.2.0's upserts left);
#  - after a second batch of orders and a refresh by the current library, the catalog
#    equals a fresh install object by object, and every report
#    (membership now and on the day 0.2.0 refreshed, KPIs, snapshot
#    history, cohorts, journey, feature reports, RFM, tag feed) equals that
#    of a fresh install given the same rows and refreshes.
use strict;
use warnings;
use File::Basename qw(dirname);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $old = $ENV{ECP_STAGE_0_2_0};
if (!$old || !-x "$old/bin/postgres")
{
	plan skip_all =>
	  'no 0.2.0 build: tools/test.sh builds one from the release commit when the clone has it';
}
my $root = $ENV{ECP_ROOT};
# the staged current installation (tools/test.sh puts its bin/ first on PATH)
my $pg_bindir = `pg_config --bindir`;
chomp $pg_bindir;
$pg_bindir = "$root/tmp_install$pg_bindir" unless index($pg_bindir, "$root/tmp_install") == 0;
my $new = dirname($pg_bindir);

my $catalog = slurp_file("$root/test/fixtures/catalog.sql");
my $store = slurp_file("$root/test/fixtures/upgrade_store.sql");

my $node = PostgreSQL::Test::Cluster->new('upgrade', install_path => $old);
$node->init;
$node->append_conf('postgresql.conf', "fsync = off\nTimeZone = 'UTC'\n");
$node->start;

sub q1 { my ($db, $sql) = @_; return $node->safe_psql($db, $sql); }

# 0.1.0 with the first batch, 0.2.0 with segments and a refresh
$node->safe_psql('postgres', 'CREATE DATABASE store');
q1('store', "CREATE EXTENSION ecpower VERSION '0.1.0'");
q1('store', $catalog . $store);
q1('store', 'SELECT ecp_check.load_store(1)');
q1('store', "ALTER EXTENSION ecpower UPDATE TO '0.2.0'");
is(q1('store', 'SELECT extversion FROM pg_extension WHERE extname = \'ecpower\''),
	'0.2.0', 'updated to 0.2.0 under the 0.2.0 library');
q1('store', 'SELECT ecp_check.upsert_customers()');
my $key_300 = q1('store', 'SELECT ckey FROM ecpower.customers WHERE customer_id = 300');
cmp_ok($key_300, '>', 241, "upserts under 0.2.0 left a gap: the new customer's key is $key_300");
q1('store', 'SELECT ecp_check.define_segments()');
q1('store', "CALL ecpower.refresh('2024-03-31 12:00+00')");
my $members_020 = q1('store', "SELECT count(*) FROM ecpower.segment_members('big')");
ok($members_020 > 0, "0.2.0 refreshed: $members_020 big spenders");
my $state_sql = 'SELECT string_agg(tab || \' \' || md5, \', \' ORDER BY tab) FROM '
  . '(SELECT * FROM ecp_check.input_md5() UNION ALL SELECT * FROM ecp_check.state_md5()) s';
my $state_020 = q1('store', $state_sql);

# the new files are installed; the server starts on them
$node->stop;
$node->{_install_path} = $new;
$node->start;
is(q1('store', 'SELECT extversion FROM pg_extension WHERE extname = \'ecpower\''),
	'0.2.0', 'the catalog is still 0.2.0 under the current library');

# a refresh before ALTER EXTENSION UPDATE fails and keeps what was there
my ($rc, $out, $err) = $node->psql('store', "CALL ecpower.refresh('2024-04-01 12:00+00')");
isnt($rc, 0, 'a refresh before ALTER EXTENSION UPDATE fails');
note("refresh before the update: $err");
q1('store', "DELETE FROM ecpower.refresh_runs WHERE status <> 'succeeded'");
is(q1('store', $state_sql), $state_020, 'the failed refresh changed no table');

# the update keeps every row
q1('store', 'ALTER EXTENSION ecpower UPDATE');
is(q1('store', 'SELECT extversion FROM pg_extension WHERE extname = \'ecpower\''),
	q1('store', 'SELECT default_version FROM pg_available_extensions WHERE name = \'ecpower\''),
	'updated to the current version');
is(q1('store', $state_sql), $state_020,
	'inputs, definitions, membership, snapshots, tag feed and runs kept by the update');
is(q1('store', "SELECT count(*) FROM ecpower.segment_members('big', '2024-03-31')"),
	$members_020, 'the membership 0.2.0 stored is read by the current library');
is(q1('store', 'SELECT ckey FROM ecpower.customers WHERE customer_id = 300'),
	$key_300, 'a store with history keeps its customer keys');
is(q1('store', 'SELECT count(*) FROM ecpower.customers c JOIN ecpower.customer_keys k USING (customer_id, ckey)'),
	'241', 'every customer key is registered');
is(q1('store', "SELECT count(*) FROM ecpower.segment_members('t1', '2024-03-31') m WHERE m = 300"),
	'1', 'the history names the customer with the gap key');

# more orders, a refresh by the current library
q1('store', "INSERT INTO ecpower.customers (customer_id) VALUES (241)");
q1('store', "DELETE FROM ecpower.customers WHERE customer_id = 241");
q1('store', 'SELECT ecp_check.load_store(2)');
q1('store', "CALL ecpower.refresh('2024-06-30 12:00+00')");

# a fresh install given the same rows and refreshes
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
q1('fresh', 'CREATE EXTENSION ecpower');
q1('fresh', $catalog . $store);
q1('fresh', 'SELECT ecp_check.load_store(1)');
q1('fresh', 'SELECT ecp_check.upsert_customers()');
q1('fresh', 'SELECT ecp_check.define_segments()');
q1('fresh', "INSERT INTO ecpower.customers (customer_id) VALUES (241)");
q1('fresh', "DELETE FROM ecpower.customers WHERE customer_id = 241");
q1('fresh', "CALL ecpower.refresh('2024-03-31 12:00+00')");
q1('fresh', 'SELECT ecp_check.load_store(2)');
q1('fresh', "CALL ecpower.refresh('2024-06-30 12:00+00')");

# the catalogs, object by object; the differing objects are named
my $objects = "COPY (SELECT kind, name, detail FROM ecp_check.objects()) TO STDOUT";
q1('fresh', 'CREATE TABLE ecp_check.fresh (kind text, name text, detail text)');
q1('fresh', 'CREATE TABLE ecp_check.updated (kind text, name text, detail text)');
my $fresh_objects = q1('fresh', $objects);
my $updated_objects = q1('store', $objects);
ok(length($fresh_objects) > 10000, 'the fresh catalog is listed');
load_rows('fresh', 'ecp_check.fresh', $fresh_objects);
load_rows('fresh', 'ecp_check.updated', $updated_objects);
is(q1('fresh',
		"SELECT string_agg(problem || ': ' || kind || ' ' || name, E'\\n') "
		  . "FROM ecp_check.diff('ecp_check.updated', 'ecp_check.fresh')"),
	'', 'the updated catalog equals a fresh install');

# the reports
my $reports = "COPY (SELECT report, answer FROM ecp_check.reports()) TO STDOUT";
q1('fresh', 'CREATE TABLE ecp_check.fresh_reports (report text, answer text)');
q1('fresh', 'CREATE TABLE ecp_check.updated_reports (report text, answer text)');
my $fresh_reports = q1('fresh', $reports);
load_rows('fresh', 'ecp_check.fresh_reports', $fresh_reports);
load_rows('fresh', 'ecp_check.updated_reports', q1('store', $reports));
cmp_ok(q1('fresh', 'SELECT count(DISTINCT report) FROM ecp_check.fresh_reports'),
	'>=', 30, 'the reports cover every segment and report');
is(q1('fresh', q{
	SELECT string_agg(side || ': ' || report || ' = ' || answer, E'\n' ORDER BY report, side)
	  FROM ((SELECT 'after update' AS side, * FROM ecp_check.updated_reports
	         EXCEPT ALL SELECT 'after update', * FROM ecp_check.fresh_reports)
	        UNION ALL
	        (SELECT 'fresh install', * FROM ecp_check.fresh_reports
	         EXCEPT ALL SELECT 'fresh install', * FROM ecp_check.updated_reports)) d}),
	'', 'every report of the updated store equals the fresh install\'s');

$node->stop;
done_testing();

# COPY text rows into a table of the fresh database
sub load_rows
{
	my ($db, $table, $rows) = @_;
	my ($stdout, $stderr);
	$node->psql($db, "COPY $table FROM STDIN;\n$rows\n\\.\n",
		stdout => \$stdout, stderr => \$stderr, on_error_die => 1);
	return;
}
