# Refresh robustness (docs/reference/refresh.md "What a failed refresh leaves behind"): a refresh
# stopped at any stage -- by pg_cancel_backend, statement_timeout,
# pg_terminate_backend, kill -9 of its backend or an immediate shutdown --
# leaves the previous results (membership, history, RFM, KPI snapshots, the
# current-run pointer) exactly as they were and readable, is marked failed
# (or abandoned by the next refresh), and the next refresh succeeds.  While a
# refresh is held at a stage, readers see the previous results.
#
# A refresh is held at a stage by a lock it has to wait for (PostgreSQL 15
# has no injection points): a SHARE lock on the table it writes next, an
# ACCESS EXCLUSIVE lock on the orders it reads first, or, after the pointer
# flip, an advisory lock that a test trigger on ecpower.refresh_state takes.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('kill');
$node->init;
$node->append_conf('postgresql.conf', "fsync = off\nTimeZone = 'UTC'\nrestart_after_crash = on\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', 'CREATE EXTENSION ecpower');
if ($node->safe_psql('shop', q{SELECT to_regprocedure('ecpower.refresh(timestamptz)') IS NULL}) eq 't')
{
	plan skip_all => 'the segment engine (ecpower.refresh) is not installed';
}
$node->safe_psql('shop', q{
	SELECT ecpower.generate_demo_store(3000, 11);
	SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
	SELECT ecpower.create_segment('big', 'Big spenders', '{"metric": "total_spent", "gte": 300}');
	SELECT ecpower.create_segment('recent', 'Recent', '{"orders": {"period": {"last_days": 60}}}');
	SELECT ecpower.create_segment('champions', 'Champions', '{"rfm_group": "champions"}');
});

my $day = 0;
sub next_day
{
	$day++;
	return sprintf("timestamptz '2025-03-01 20:00+00' + interval '%d days'", $day);
}
$node->safe_psql('shop', 'CALL ecpower.refresh(' . next_day() . ')');

# md5 of the ordered contents of every result table (every table of the
# schema but the run log, the input tables and the order cache, which is
# unlogged: a crash empties it and the next refresh rebuilds it) and of
# what readers get
my $fingerprint_sql = q{
	SELECT string_agg(name || ' ' || h, E'\n' ORDER BY name COLLATE "C") FROM (
	    SELECT c.relname::text AS name,
	           (xpath('/row/h/text()', query_to_xml(format(
	               'SELECT count(*) || '' '' || coalesce(md5(string_agg(ROWTEXT, E''\n'' ORDER BY ROWTEXT COLLATE "C")), '''') AS h FROM %s x',
	               c.oid::regclass), false, true, '')))[1]::text AS h
	      FROM pg_class c
	     WHERE c.relnamespace = 'ecpower'::regnamespace AND c.relkind = 'r'
	       AND c.relname NOT IN ('refresh_runs', 'customers', 'orders', 'order_lines', 'products',
	                             'order_cache', 'order_cache_state', 'timeline_values',
	                             'timeline_dict', 'timeline_state', 'timeline_keys')
	    UNION ALL
	    SELECT 'members ' || s.slug, (SELECT count(*) || ' ' || md5(string_agg(m::text, ',' ORDER BY m))
	                                    FROM ecpower.segment_members(s.slug) m)
	      FROM ecpower.segments s
	) f
};
# exact rows; or (for re-runs) rows without their run ids
sub fingerprint
{
	(my $sql = $fingerprint_sql) =~ s/ROWTEXT/x::text/g;
	return $node->safe_psql('shop', $sql);
}
sub fingerprint_without_run_ids
{
	(my $sql = $fingerprint_sql) =~ s/ROWTEXT/(to_jsonb(x) - ''run_id'' - ''current_run_id'')::text/g;
	return $node->safe_psql('shop', $sql);
}

sub last_run
{
	return $node->safe_psql('shop',
		q{SELECT run_id || ' ' || status || ' ' || coalesce(error, '')
		    FROM ecpower.refresh_runs WHERE status <> 'skipped' ORDER BY run_id DESC LIMIT 1});
}

# wait until backend $pid waits for a lock (of kind $what) or give up
sub wait_blocked
{
	my ($mon, $pid, $what) = @_;
	my $cond = $what eq 'advisory'
	  ? "l.locktype = 'advisory' AND l.objid = 4242"
	  : "l.locktype = 'relation' AND l.relation = 'ecpower.$what'::regclass";
	for (1 .. 600)
	{
		return 1 if $mon->query_safe(
			"SELECT count(*) FROM pg_locks l WHERE l.pid = $pid AND NOT l.granted AND $cond") > 0;
		usleep(50_000);
	}
	return 0;
}

sub pid_gone_or_idle
{
	my ($mon, $pid) = @_;
	return $mon->query_safe(
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid AND state = 'active'") eq 't';
}

my $has_kpis = $node->safe_psql('shop', q{SELECT to_regclass('ecpower.kpi_snapshots') IS NOT NULL}) eq 't';
my @stages = (
	# a refresh reads the orders when the order cache cannot serve it (here:
	# reset before the run), and the order cache otherwise
	[ 'evaluating (reading orders)', 'LOCK TABLE ecpower.orders IN ACCESS EXCLUSIVE MODE', 'orders',
	  'SELECT ecpower.reset_order_cache()' ],
	[ 'evaluating (reading the order cache)', 'LOCK TABLE ecpower.order_cache IN ACCESS EXCLUSIVE MODE',
	  'order_cache' ],
	[ 'storing membership', 'LOCK TABLE ecpower.membership IN SHARE MODE', 'membership' ],
	[ 'storing RFM', 'LOCK TABLE ecpower.rfm_blocks IN SHARE MODE', 'rfm_blocks' ],
	($has_kpis ? ([ 'storing KPI snapshots', 'LOCK TABLE ecpower.kpi_snapshots IN SHARE MODE', 'kpi_snapshots' ]) : ()),
	[ 'before the pointer flip', 'LOCK TABLE ecpower.refresh_state IN SHARE MODE', 'refresh_state' ],
	[ 'after the pointer flip, before commit', 'SELECT pg_advisory_lock(4242)', 'advisory' ],
);
# the hold after the flip: a trigger that waits for advisory lock 4242
$node->safe_psql('shop', q{
	CREATE FUNCTION public.hold_after_flip() RETURNS trigger LANGUAGE plpgsql AS $$
	BEGIN
	    PERFORM pg_catalog.pg_advisory_lock(4242);
	    PERFORM pg_catalog.pg_advisory_unlock(4242);
	    RETURN NULL;
	END $$;
	CREATE TRIGGER hold_after_flip AFTER UPDATE ON ecpower.refresh_state
	    FOR EACH ROW EXECUTE FUNCTION public.hold_after_flip();
});
my @methods = ('cancel', 'statement_timeout', 'terminate', 'kill -9', 'immediate shutdown');

my $max_cancel = 0;
for my $stage (@stages)
{
	my ($sname, $lock_sql, $what, $setup) = @$stage;
	for my $method (@methods)
	{
		my $t = "$sname / $method";
		$node->safe_psql('shop', $setup) if defined $setup;
		my $before = fingerprint();
		my $as_of = next_day();

		# hold the refresh at the stage
		my $blocker = $node->background_psql('shop', on_error_stop => 0);
		$blocker->query_safe("BEGIN; $lock_sql;");
		my $refresh = $node->background_psql('shop', on_error_stop => 0);
		my $pid = $refresh->query_safe('SELECT pg_backend_pid()');
		$refresh->query_safe("SET statement_timeout = '3s'") if $method eq 'statement_timeout';
		$refresh->query_until(qr/go/, "\\echo go\nCALL ecpower.refresh($as_of);\n");
		my $mon = $node->background_psql('shop', on_error_stop => 0);
		ok(wait_blocked($mon, $pid, $what), "$t: refresh held at the stage");
		is(fingerprint(), $before, "$t: readers see the previous results while it is held");

		my $t0 = time();
		if ($method eq 'cancel')
		{
			$node->safe_psql('shop', "SELECT pg_cancel_backend($pid)");
		}
		elsif ($method eq 'terminate')
		{
			$node->safe_psql('shop', "SELECT pg_terminate_backend($pid)");
		}
		elsif ($method eq 'kill -9')
		{
			kill 'KILL', $pid;
		}
		elsif ($method eq 'immediate shutdown')
		{
			$node->stop('immediate');
			$node->start;
		}

		if ($method eq 'cancel' || $method eq 'statement_timeout')
		{
			my $ok = 0;
			# poll until it is done (statement_timeout fires 3 s after the CALL)
			while (time() - $t0 < 15)
			{
				if (pid_gone_or_idle($mon, $pid)) { $ok = 1; last; }
				usleep(5_000);
			}
			my $elapsed = time() - $t0;
			if ($method eq 'cancel')
			{
				$max_cancel = $elapsed if $elapsed > $max_cancel;
				ok($ok && $elapsed < 1.0, "$t: the cancel took effect within a second ("
					  . sprintf('%.3f s', $elapsed) . ')');
			}
			else
			{
				ok($ok, "$t: the refresh stopped at its statement_timeout");
			}
			like(last_run(), qr/ failed 57014: canceling statement due to/, "$t: the run is logged as failed");
		}
		elsif ($method eq 'kill -9')
		{
			# the postmaster restarts after a backend crash
			$node->poll_query_until('shop', 'SELECT true') or die "server did not come back";
		}

		for my $h ($refresh, $blocker, $mon)
		{
			next unless defined $h;
			eval { $h->quit; };
		}
		is(fingerprint(), $before, "$t: previous membership, history, RFM and KPIs intact");
		is($node->safe_psql('shop', 'SELECT running FROM ecpower.freshness()'), 'f',
			"$t: no refresh reported as running");

		my $failed = last_run();
		$node->safe_psql('shop', "CALL ecpower.refresh($as_of)");
		like(last_run(), qr/ succeeded/, "$t: the next refresh succeeds");
		my ($failed_id) = $failed =~ /^(\d+)/;
		like($node->safe_psql('shop', "SELECT status FROM ecpower.refresh_runs WHERE run_id = $failed_id"),
			qr/^(failed|abandoned)$/, "$t: the stopped run ends failed or abandoned");
	}
}
note(sprintf('longest cancel: %.3f s', $max_cancel));

# a re-run for the same day changes nothing (but the run log)
my $as_of = next_day();
$node->safe_psql('shop', "CALL ecpower.refresh($as_of)");
my $once = fingerprint_without_run_ids();
$node->safe_psql('shop', "CALL ecpower.refresh($as_of)");
is(fingerprint_without_run_ids(), $once,
	're-running the same day leaves every result identical (but for the run ids)');
is($node->safe_psql('shop', q{SELECT count(*) FROM (SELECT segment_id, day FROM ecpower.membership
                                GROUP BY 1, 2 HAVING count(*) > 1) d}), '0',
	'no duplicate history rows');
is($node->safe_psql('shop', q{SELECT string_agg(status, ',' ORDER BY run_id) FROM (
                                SELECT run_id, status FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 2) r}),
	'succeeded,succeeded', 'both runs of the day succeeded');

$node->stop;
done_testing();
