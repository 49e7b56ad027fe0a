# Behind PgBouncer in transaction pooling mode, as BI tools and applications
# usually connect (README "Operations"): Debian's pgbouncer runs on a free
# loopback port in front of the node, and through it
#  - the pool really is a transaction pool: with one server connection, a
#    second client is served while the first one stays connected;
#  - reports answer exactly as on a direct connection;
#  - a refresh (a procedure that commits inside) runs, and its result is
#    what a direct connection sees;
#  - the tag feed pages through pending_tag_changes() to the same rows as a
#    direct read of ecpower.tag_changes;
#  - eight concurrent clients sharing two server connections get the direct
#    answers while refreshes of the same day run beside them, and a second
#    refresh at the same time is refused with 55P03.
use strict;
use warnings;
use File::Spec;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my ($pgbouncer) = grep { -x $_ }
  ((map { File::Spec->catfile($_, 'pgbouncer') } File::Spec->path), '/usr/sbin/pgbouncer');
plan skip_all => 'pgbouncer is not installed (Debian package pgbouncer)' unless $pgbouncer;

my $node = PostgreSQL::Test::Cluster->new('bouncer');
$node->init;
$node->append_conf('postgresql.conf', "fsync = off\nTimeZone = 'UTC'\n");
$node->start;
my $user = $node->safe_psql('postgres', 'SELECT current_user');

$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', q{
	CREATE EXTENSION ecpower;
	SELECT ecpower.generate_demo_store(1500, 5);
	SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
	SELECT ecpower.create_segment('lapsed', 'Lapsed', '{"metric": "days_since_last_order", "gt": 180}');
	SELECT ecpower.create_segment_from_template('rfm_champions', 'champions');
	SELECT ecpower.alter_segment('repeat', sync_tag => 'repeat-buyer');
	SELECT ecpower.alter_segment('lapsed', sync_tag => 'lapsed');
});
# the last order day of the demo store: refreshes go forward from there
my $last = $node->safe_psql('shop',
	q{SELECT max(ordered_at)::date FROM ecpower.orders WHERE cancelled_at IS NULL});

# pgbouncer: pool "shop" of two server connections, pool "shop1" of one
my $dir = PostgreSQL::Test::Utils::tempdir;
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $host = $node->host;
my $nport = $node->port;
append_to_file("$dir/userlist.txt", qq{"$user" ""\n});
append_to_file("$dir/pgbouncer.ini", <<"INI");
[databases]
shop = host=$host port=$nport dbname=shop pool_size=2
shop1 = host=$host port=$nport dbname=shop pool_size=1

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = $port
unix_socket_dir =
auth_type = trust
auth_file = $dir/userlist.txt
pool_mode = transaction
max_client_conn = 50
default_pool_size = 2
query_wait_timeout = 30
ignore_startup_parameters = extra_float_digits
logfile = $dir/pgbouncer.log
pidfile = $dir/pgbouncer.pid
INI
my $bouncer = IPC::Run::start([ $pgbouncer, "$dir/pgbouncer.ini" ],
	'>', "$dir/pgbouncer.out", '2>&1');
END { local $?; $bouncer->kill_kill if $bouncer; }

# psql through the pooler: (exit ok, stdout, stderr)
sub bq
{
	my ($sql, $db) = @_;
	my ($out, $err) = ('', '');
	my $ok = IPC::Run::run(
		[ 'psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1',
		  '-h', '127.0.0.1', '-p', $port, '-U', $user, '-d', $db // 'shop', '-c', $sql ],
		'>', \$out, '2>', \$err);
	chomp $out;
	return ($ok, $out, $err);
}

# wait until the pooler accepts connections
my $up = 0;
for (1 .. 100)
{
	my ($ok) = bq('SELECT 1');
	if ($ok) { $up = 1; last; }
	select(undef, undef, undef, 0.1);
}
ok($up, 'pgbouncer accepts connections') or BAIL_OUT(slurp_file("$dir/pgbouncer.out"));

# a transaction pool: with a single server connection, a second client is
# served by the same backend while the first one is still connected
my ($in, $out1, $err1) = ("SELECT 'first:' || pg_backend_pid();\n", '', '');
my $first = IPC::Run::start(
	[ 'psql', '-X', '-A', '-t', '-q', '-h', '127.0.0.1', '-p', $port, '-U', $user, '-d', 'shop1' ],
	'<', \$in, '>', \$out1, '2>', \$err1, IPC::Run::timeout($PostgreSQL::Test::Utils::timeout_default));
$first->pump until $out1 =~ /first:(\d+)/;
my $first_pid = $1;
my ($ok2, $second_pid) = bq('SELECT pg_backend_pid()', 'shop1');
ok($ok2, 'a second client is served while the first stays connected');
is($second_pid, $first_pid, 'both clients share the one server connection');
$in .= "\\q\n";
$first->finish;

# the first refresh, direct
$node->safe_psql('shop', "CALL ecpower.refresh('$last 23:59:59+00')");

# reports: through the pooler exactly as direct
my @reports = (
	q{SELECT * FROM ecpower.segment_kpis('repeat')},
	q{SELECT * FROM ecpower.segment_kpis(NULL, from_date => '2024-01-01', to_date => '2024-12-31')},
	q{SELECT * FROM ecpower.compare_segments('{repeat,lapsed,champions}')},
	q{SELECT * FROM ecpower.feature_report('repeat', 'product', 'first', top => 5)},
	q{SELECT * FROM ecpower.feature_report(NULL, 'utm_source')},
	q{SELECT * FROM ecpower.bought_together(NULL, 5)},
	q{SELECT * FROM ecpower.distribution('champions', 'amount')},
	q{SELECT * FROM ecpower.cohort_summary(NULL)},
	q{SELECT rfm_group, count(*) FROM ecpower.customer_rfm GROUP BY 1 ORDER BY 1},
	q{SELECT count(*), sum(m) FROM ecpower.segment_members('lapsed') AS m},
	q{SELECT * FROM ecpower.segment_customers('champions') ORDER BY customer_id LIMIT 20});
my %direct;
for my $sql (@reports)
{
	$direct{$sql} = $node->safe_psql('shop', $sql);
	my ($ok, $got, $err) = bq($sql);
	ok($ok && $got eq $direct{$sql} && $got ne '', "through pgbouncer: $sql") or diag($err);
}

# a refresh through the pooler: the procedure commits inside one CALL
my $next = $node->safe_psql('shop', "SELECT date '$last' + 7");
my ($rok, undef, $rerr) = bq("CALL ecpower.refresh('$next 23:59:59+00')");
ok($rok, 'CALL ecpower.refresh() through pgbouncer') or diag($rerr);
is($node->safe_psql('shop',
	q{SELECT r.status || ' ' || r.as_of_date FROM ecpower.refresh_state s
	    JOIN ecpower.refresh_runs r ON r.run_id = s.current_run_id}),
	"succeeded $next", 'a direct connection sees the new refresh');
is($node->safe_psql('shop', q{SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'}),
	'0', 'no advisory lock is left on the pooled server connection');
my $members_sql = q{SELECT string_agg(m::text, ',' ORDER BY m) FROM ecpower.segment_members('repeat') m};
my (undef, $pooled_members) = bq($members_sql);
is($pooled_members, $node->safe_psql('shop', $members_sql), 'members after it: pooled = direct');
my (undef, undef, $past_err) = bq("CALL ecpower.refresh('$last 23:59:59+00')");
like($past_err, qr/is earlier than the as_of of the last successful refresh/,
	'an earlier as_of is refused through the pooler too');

# the tag feed, paged through the pooler 37 changes at a time
my $feed_direct = $node->safe_psql('shop',
	q{SELECT string_agg(change_id || ':' || customer_id || ':' || tag || ':' || action, ','
	                    ORDER BY change_id) FROM ecpower.tag_changes});
my ($after, @paged, $pages) = (0);
while (1)
{
	my ($ok, $page) = bq(qq{SELECT change_id || ':' || customer_id || ':' || tag || ':' || action
	                          FROM ecpower.pending_tag_changes($after, 37)});
	last unless $ok && $page ne '';
	my @rows = split /\n/, $page;
	push @paged, @rows;
	($after) = $rows[-1] =~ /^(\d+):/;
	$pages++;
}
ok($pages > 1, "the feed takes several pages ($pages)");
is(join(',', @paged), $feed_direct, 'paged feed through pgbouncer = the direct feed');

# concurrent clients: eight report clients over two server connections,
# while re-runs of the same day go through the pooler beside them
my @sqls = @reports[ 0, 3, 5, 8, 9 ];
my $script = join('', map { "$_;\n" } (@sqls) x 6);
my %expect;
$expect{$_} = $node->safe_psql('shop', $_) for @sqls;
my $expected_out = join("\n", map { $expect{$_} } (@sqls) x 6);
my (@clients, @outs, @errs);
for my $i (0 .. 7)
{
	my ($o, $e, $s) = ('', '', $script);    # IPC::Run consumes its input
	push @outs, \$o;
	push @errs, \$e;
	push @clients, IPC::Run::start(
		[ 'psql', '-X', '-A', '-t', '-q', '-v', 'ON_ERROR_STOP=1', '-h', '127.0.0.1',
		  '-p', $port, '-U', $user, '-d', 'shop' ],
		'<', \$s, '>', \$o, '2>', \$e);
}
my @refreshers;
my @rerrs = ('', '');
for my $i (0 .. 1)
{
	push @refreshers, IPC::Run::start(
		[ 'psql', '-X', '-q', '-h', '127.0.0.1', '-p', $port, '-U', $user, '-d', 'shop',
		  '-c', "CALL ecpower.refresh('$next 23:59:59+00')" ],
		'>', \my $ignore, '2>', \$rerrs[$i]);
}
$_->finish for @clients;
$_->finish for @refreshers;
for my $i (0 .. 7)
{
	my $got = ${ $outs[$i] };
	chomp $got;
	ok($got eq $expected_out, "concurrent client $i got the direct answers")
	  or diag(${ $errs[$i] });
}
my $refused = grep { /a refresh is already running/ } @rerrs;
my $bad = grep { $_ ne '' && !/a refresh is already running/ } @rerrs;
is($bad, 0, 'concurrent refreshes: none fails otherwise') or diag(join("\n", @rerrs));
my $ran = $node->safe_psql('shop',
	qq{SELECT count(*) FILTER (WHERE status = 'succeeded') || ' ' || count(*) FILTER (WHERE status = 'skipped')
	     FROM ecpower.refresh_runs WHERE as_of_date = '$next'});
my ($succeeded, $skipped) = split / /, $ran;
is($succeeded + $skipped, 3, 'every refresh of that day is logged as succeeded or skipped');
is($skipped, $refused, "each refused refresh (55P03) is logged as skipped ($refused of 2)");
is($node->safe_psql('shop', $members_sql), $pooled_members, 'the re-runs changed no member');

$bouncer->kill_kill;
undef $bouncer;
$node->stop;
done_testing();
