# Shopify Admin API (docs/shopify.md) against the local stand-in
# (test/shopify_standin.py): a first pull and incremental pulls equal the
# shop's data loaded with plain SQL (test/fixtures/shopify_api_oracle.sql);
# retried faults (THROTTLED, 429, 5xx, truncated bodies) change nothing in
# the result; failing ones (401, malformed JSON, wrong types, a FAILED bulk
# operation, a timeout) load nothing and are logged; a cancel stops a pull
# within a second; a pull killed while writing leaves nothing behind; a push
# leaves every synced segment's members, and only them, with its tag, paced
# by the cost limit; a push killed mid-way resumes without losing a change;
# HTTPS with a private CA; the access token appears in no log line, error,
# table or pg_stat_activity.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);
use HTTP::Tiny;
use JSON::PP;
use IPC::Run;

my $root = $ENV{ECP_ROOT} or die "ECP_ROOT is not set";
my $tmp = PostgreSQL::Test::Utils::tempdir();
my $token = 'shpat_' . join('', map { ('a' .. 'f', 0 .. 9)[ int(rand(16)) ] } 1 .. 32);

my $node = PostgreSQL::Test::Cluster->new('shopify');
$node->init;
$node->append_conf('postgresql.conf', qq{
fsync = off
TimeZone = 'UTC'
restart_after_crash = on
log_statement = all
log_min_messages = debug1
log_min_error_statement = debug1
log_error_verbosity = verbose
});
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', 'CREATE EXTENSION ecpower');

# -- the stand-in --------------------------------------------------------
my @standins;
sub start_standin
{
	my (%o) = @_;
	my $portfile = "$tmp/standin$o{name}.port";
	unlink $portfile;
	my @cmd = ('python3', "$root/test/shopify_standin.py", '--token', $token,
		'--port-file', $portfile, '--polls', '2', '--bucket', $o{bucket} // 200,
		'--restore', $o{restore} // 400);
	push @cmd, '--cert', $o{cert}, '--key', $o{key} if $o{cert};
	my $h = IPC::Run::start(\@cmd, '>', "$tmp/standin$o{name}.log", '2>&1');
	push @standins, $h;
	for (1 .. 200)
	{
		last if -s $portfile;
		usleep(50_000);
	}
	my $port = slurp_file($portfile);
	return $port;
}
END { local $?; $_->kill_kill for @standins; }

my $port = start_standin(name => 'plain');
my $base = "http://127.0.0.1:$port";
my $http = HTTP::Tiny->new(timeout => 60);
sub control
{
	my $r = $http->post("$base/_control", { content => encode_json($_[0]) });
	die "stand-in control failed: $r->{status}" unless $r->{success};
	return decode_json($r->{content});
}
sub shop_state { return decode_json($http->get("$base/_control/shop")->{content}); }

# the mapping is created without statement logging, as docs/shopify.md says
$node->safe_psql('shop', qq{
	CREATE SERVER shop FOREIGN DATA WRAPPER ecpower_shopify
	    OPTIONS (endpoint '$base/admin/api/2025-01/graphql.json', poll_interval '0.05', max_retries '4');
	SET log_statement = 'none';
	CREATE USER MAPPING FOR CURRENT_USER SERVER shop OPTIONS (access_token '$token');
});
$node->safe_psql('shop', "\\i $root/test/fixtures/shopify_api_oracle.sql");

# every error message the tests see
my $all_errors = '';

sub mismatches
{
	my $json = encode_json(shop_state()->{shop});
	$node->safe_psql('shop', "TRUNCATE oracle.shop; INSERT INTO oracle.shop VALUES (\$j\$$json\$j\$)");
	return $node->safe_psql('shop',
		q{SELECT coalesce(string_agg(what || ' ' || row::text, E'\n'), '') FROM (SELECT * FROM oracle.mismatches LIMIT 5) m});
}
sub input_fingerprint
{
	return $node->safe_psql('shop', q{
		SELECT md5(string_agg(t, E'\n' ORDER BY t)) FROM (
		    SELECT 'c' || c::text AS t FROM ecpower.customers c UNION ALL
		    SELECT 'p' || p::text FROM ecpower.products p UNION ALL
		    SELECT 'o' || o::text FROM ecpower.orders o UNION ALL
		    SELECT 'l' || l::text FROM ecpower.order_lines l) x});
}
sub last_sync
{
	return $node->safe_psql('shop',
		q{SELECT direction || ' ' || status || ' ' || rows || ' ' || coalesce(error, '')
		    FROM ecpower.shopify_syncs ORDER BY sync_id DESC LIMIT 1});
}
sub call
{
	my ($sql) = @_;
	my ($ret, $out, $err) = $node->psql('shop', "\\set VERBOSITY verbose\n$sql");
	$all_errors .= $err;
	return ($ret, $err);
}

# -- first and incremental pulls ----------------------------------------
control({ action => 'generate', customers => 400, seed => 7 });
my $t0 = time();
my ($ret, $err) = call(q{CALL ecpower.shopify_pull('shop')});
my $first_secs = time() - $t0;
is($ret, 0, 'first pull succeeds') or diag($err);
like(last_sync(), qr/^pull succeeded \d+ $/, 'the first pull is logged as succeeded');
is(mismatches(), '', 'after the first pull the input tables equal the shop loaded with plain SQL');
my $first_rows = (split / /, last_sync())[2];
my @ops = @{ shop_state()->{ops} };
is(scalar(grep { $_->{query} =~ /updated_at/ } @ops), 0, 'the first pull asks for everything');
ok($node->safe_psql('shop', q{SELECT count(*) FROM ecpower.orders WHERE utm_campaign IS NOT NULL}) > 0
	  && $node->safe_psql('shop', q{SELECT count(*) FROM ecpower.orders WHERE is_subscription}) > 0
	  && $node->safe_psql('shop', q{SELECT count(*) FROM ecpower.order_lines WHERE unit_cost IS NOT NULL}) > 0,
	'acquisition columns, subscriptions and unit costs are loaded');

for my $round (1 .. 3)
{
	my $done = control({ action => 'churn', seed => 100 + $round, n => 40 });
	my $nops = scalar @{ shop_state()->{ops} };
	($ret, $err) = call(q{CALL ecpower.shopify_pull('shop')});
	is($ret, 0, "incremental pull $round succeeds") or diag($err);
	is(mismatches(), '', "incremental pull $round ($done->{edit} edits, $done->{remove_line} removed lines, "
		  . "$done->{refund} refunds, $done->{cancel} cancellations, $done->{delete} deletions, "
		  . "$done->{new_order} new orders) equals the shop");
	my @new = @{ shop_state()->{ops} }[ $nops .. $nops + 2 ];
	is(scalar(grep { $_->{query} =~ /updated_at:>='/ } @new), 3,
		"incremental pull $round asks for customers, products and orders updated since the last pull");
	my $rows = (split / /, last_sync())[2];
	ok($rows < $first_rows / 2, "incremental pull $round writes $rows rows (the first wrote $first_rows)");
}

# -- faults the pull retries ---------------------------------------------
for my $f (['graphql', 'throttled'], ['graphql', '429'], ['graphql', '500'], ['graphql', 'truncated'],
	['download', 'truncated'], ['download', '500'])
{
	my ($where, $kind) = @$f;
	control({ action => 'churn', seed => length($kind) * 31 + length($where), n => 10 });
	my $throttled = shop_state()->{counts}{throttled};
	control({ action => 'faults', $where => [$kind] });
	($ret, $err) = call(q{CALL ecpower.shopify_pull('shop')});
	is($ret, 0, "a pull meeting $kind ($where) retries and succeeds") or diag($err);
	is(mismatches(), '', "after $kind ($where) the input tables equal the shop");
	if ($kind eq 'throttled' || $kind eq '429')
	{
		is(shop_state()->{counts}{throttled}, $throttled + 1, "the stand-in answered $kind once");
	}
}

# -- faults that fail the pull: nothing is loaded -------------------------
my $before;
for my $f (['graphql', '401', '28000'], ['graphql', 'malformed', '22032'], ['graphql', 'wrongtype', 'HV004'],
	['bulk', 'FAILED:ACCESS_DENIED', 'HV000'], ['download', 'malformed', '22032'],
	['download', 'wrongtype', 'HV004'])
{
	my ($where, $kind, $state) = @$f;
	control({ action => 'churn', seed => 977 + length($kind), n => 10 });
	$before = input_fingerprint();
	control({ action => 'faults', $where => [$kind] });
	($ret, $err) = call(q{CALL ecpower.shopify_pull('shop')});
	isnt($ret, 0, "a pull meeting $kind ($where) fails");
	like($err, qr/ERROR:  $state:/, "  with SQLSTATE $state");
	like($err, qr/ACCESS_DENIED/, '  naming the error code') if $kind =~ /FAILED/;
	like(last_sync(), qr/^pull failed 0 $state: /, '  and is logged as failed');
	is(input_fingerprint(), $before, '  and loads nothing');
}
($ret, $err) = call(q{CALL ecpower.shopify_pull('shop')});
is(mismatches(), '', 'the next pull loads what the failed ones did not');

# a stalled server: the request times out
$node->safe_psql('shop', q{ALTER SERVER shop OPTIONS (ADD timeout '1', SET max_retries '0')});
control({ action => 'faults', graphql => ['stall:3'] });
($ret, $err) = call(q{CALL ecpower.shopify_pull('shop')});
like($err, qr/ERROR:  HV00N: .*(timed out|Timeout)/i, 'a request slower than the timeout option fails with HV00N');
$node->safe_psql('shop', q{ALTER SERVER shop OPTIONS (DROP timeout, SET max_retries '4')});
sleep 3;

# a result larger than max_response_mb (a first pull of a second server)
$node->safe_psql('shop', qq{
	CREATE SERVER shop_small FOREIGN DATA WRAPPER ecpower_shopify
	    OPTIONS (endpoint '$base/admin/api/2025-01/graphql.json', poll_interval '0.05', max_response_mb '1');
	SET log_statement = 'none';
	CREATE USER MAPPING FOR CURRENT_USER SERVER shop_small OPTIONS (access_token '$token');
});
$before = input_fingerprint();
($ret, $err) = call(q{CALL ecpower.shopify_pull('shop_small')});
like($err, qr/ERROR:  54000: the response to the download of the bulk result \(orders\) is larger than 1048576 bytes/,
	'a bulk result larger than max_response_mb fails with 54000');
is(input_fingerprint(), $before, '  and loads nothing');

# -- cancel while waiting on the API ---------------------------------------
# (the current-operation query and the bulk query start, the first poll stalls)
control({ action => 'faults', graphql => ['none', 'none', 'stall:20'] });
my $bg = $node->background_psql('shop', on_error_stop => 0);
my $pid = $bg->query_safe('SELECT pg_backend_pid()');
$bg->query_until(qr/go/, "\\echo go\nCALL ecpower.shopify_pull('shop');\n");
usleep(700_000);
my $activity = $node->safe_psql('shop', "SELECT string_agg(coalesce(query, ''), ' ') FROM pg_stat_activity");
unlike($activity, qr/\Q$token\E/, 'pg_stat_activity does not show the token during a pull');
$t0 = time();
$node->safe_psql('shop', "SELECT pg_cancel_backend($pid)");
my $idle = 0;
while (time() - $t0 < 10)
{
	if ($node->safe_psql('shop', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'") == 0)
	{
		$idle = 1;
		last;
	}
	usleep(10_000);
}
my $cancel_secs = time() - $t0;
ok($idle && $cancel_secs < 1.0, sprintf('a cancel stops a pull waiting on a stalled server within a second (%.3f s)', $cancel_secs));
like(last_sync(), qr/^pull failed 0 57014: /, 'the cancelled pull is logged as failed');
eval { $bg->quit; };

# -- a pull killed while it writes -----------------------------------------
control({ action => 'churn', seed => 4242, n => 30 });
$before = input_fingerprint();
my $blocker = $node->background_psql('shop', on_error_stop => 0);
$blocker->query_safe('BEGIN; LOCK TABLE ecpower.order_lines IN ACCESS EXCLUSIVE MODE;');
$bg = $node->background_psql('shop', on_error_stop => 0);
$pid = $bg->query_safe('SELECT pg_backend_pid()');
$bg->query_until(qr/go/, "\\echo go\nCALL ecpower.shopify_pull('shop');\n");
my $blocked = 0;
for (1 .. 600)
{
	if ($node->safe_psql('shop', "SELECT count(*) FROM pg_locks WHERE pid = $pid AND NOT granted") > 0)
	{
		$blocked = 1;
		last;
	}
	usleep(50_000);
}
ok($blocked, 'the pull is held while writing order lines (customers and orders already written)');
kill 'KILL', $pid;
$node->poll_query_until('shop', 'SELECT true') or die 'server did not come back';
eval { $bg->quit; };
eval { $blocker->quit; };
is(input_fingerprint(), $before, 'a pull killed while writing leaves the input tables as they were');
($ret, $err) = call(q{CALL ecpower.shopify_pull('shop')});
is($ret, 0, 'the next pull succeeds') or diag($err);
is($node->safe_psql('shop', q{SELECT string_agg(status, ',' ORDER BY sync_id) FROM
	(SELECT sync_id, status FROM ecpower.shopify_syncs ORDER BY sync_id DESC LIMIT 2) s}),
	'abandoned,succeeded', 'the killed pull is logged as abandoned');
is(mismatches(), '', 'and the input tables equal the shop');
is(scalar(grep { $_->{status} eq 'CANCELED' } @{ shop_state()->{ops} }), 1,
	'the bulk operation the cancelled pull left running was cancelled (bulkOperationCancel) by the next pull');

# -- push ----------------------------------------------------------------------
$node->safe_psql('shop', q{
	SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
	SELECT ecpower.create_segment('big', 'Big spenders', '{"metric": "total_spent", "gte": 300}');
	UPDATE ecpower.segments SET sync_tag = 'ecp-' || slug;
	CALL ecpower.refresh();
});
sub tag_mismatches
{
	my $s = shop_state()->{shop};
	my @bad;
	for my $slug (split /\n/, $node->safe_psql('shop', 'SELECT slug FROM ecpower.segments WHERE sync_tag IS NOT NULL ORDER BY slug'))
	{
		my %members = map { $_ => 1 } split /\n/, $node->safe_psql('shop',
			"SELECT m FROM ecpower.segment_members('$slug') m WHERE m < 4611686018427387904");
		my %tagged = map { $_->{id} => 1 } grep { grep { $_ eq "ecp-$slug" } @{ $_->{tags} } } @{ $s->{customers} };
		push @bad, map { "$slug: member $_ untagged" } grep { !$tagged{$_} } sort keys %members;
		push @bad, map { "$slug: $_ tagged, not a member" } grep { !$members{$_} } sort keys %tagged;
	}
	return join("\n", @bad[ 0 .. ($#bad < 4 ? $#bad : 4) ]);
}
my $changes = $node->safe_psql('shop', 'SELECT count(*) FROM ecpower.tag_changes');
my $throttled = shop_state()->{counts}{throttled};
$t0 = time();
($ret, $err) = call(q{CALL ecpower.shopify_push('shop')});
my $push_secs = time() - $t0;
is($ret, 0, "push of $changes tag changes succeeds") or diag($err);
is(tag_mismatches(), '', 'the stand-in customers tagged ecp-repeat / ecp-big are exactly the segments\' members');
is(shop_state()->{counts}{throttled}, $throttled,
	sprintf('the push paced itself by the reported cost limit: no THROTTLED answer (%.1f s)', $push_secs));
is($node->safe_psql('shop', q{SELECT acked_change_id = (SELECT max(change_id) FROM ecpower.tag_changes) FROM ecpower.shopify_state WHERE server = 'shop'}),
	't', 'the last change is acknowledged');
my $guest_changes = $node->safe_psql('shop', 'SELECT count(*) FROM ecpower.tag_changes WHERE customer_id >= 4611686018427387904');
is($node->safe_psql('shop', q{SELECT count(*) FROM ecpower.shopify_push_errors WHERE message = 'Customer does not exist'}),
	$guest_changes, 'changes of customers Shopify does not have are logged as userErrors and do not stop the push');

# membership moves, the push goes through a THROTTLED answer
control({ action => 'churn', seed => 55, n => 60 });
call(q{CALL ecpower.shopify_pull('shop')});
$node->safe_psql('shop', 'CALL ecpower.refresh()');
control({ action => 'faults', graphql => ['none', 'throttled'] });
($ret, $err) = call(q{CALL ecpower.shopify_push('shop')});
is($ret, 0, 'a push meeting THROTTLED retries and succeeds') or diag($err);
is(tag_mismatches(), '', 'and the tags follow the new membership');

# -- a push cancelled while Shopify holds a batch -----------------------------------
$node->safe_psql('shop', q{
	SELECT ecpower.create_segment('two_plus', 'Two or more orders', '{"orders": {}, "count": {"gte": 2}}');
	UPDATE ecpower.segments SET sync_tag = 'ecp-' || slug WHERE slug = 'two_plus';
	CALL ecpower.refresh();});
my $acked_before = $node->safe_psql('shop', q{SELECT acked_change_id FROM ecpower.shopify_state WHERE server = 'shop'});
control({ action => 'faults', graphql => ['none', 'stall:3'] });
$bg = $node->background_psql('shop', on_error_stop => 0);
$pid = $bg->query_safe('SELECT pg_backend_pid()');
$bg->query_until(qr/go/, "\\echo go\nCALL ecpower.shopify_push('shop');\n");
usleep(700_000);
$t0 = time();
$node->safe_psql('shop', "SELECT pg_cancel_backend($pid)");
$idle = 0;
while (time() - $t0 < 10)
{
	if ($node->safe_psql('shop', "SELECT count(*) FROM pg_stat_activity WHERE pid = $pid AND state = 'active'") == 0)
	{
		$idle = 1;
		last;
	}
	usleep(10_000);
}
my $push_cancel_secs = time() - $t0;
ok($idle && $push_cancel_secs < 1.0,
	sprintf('a cancel stops a push waiting on a stalled server within a second (%.3f s)', $push_cancel_secs));
like(last_sync(), qr/^push failed 0 57014: /, '  the cancelled push is logged as failed');
is($node->safe_psql('shop', q{SELECT acked_change_id FROM ecpower.shopify_state WHERE server = 'shop'}),
	$acked_before, '  and acknowledged nothing of the held batch');
eval { $bg->quit; };
sleep 3;
($ret, $err) = call(q{CALL ecpower.shopify_push('shop')});
is(tag_mismatches(), '', '  the next push completes the tags');

# -- a push killed mid-way --------------------------------------------------------
for my $method ('terminate', 'kill -9')
{
	control({ action => 'churn', seed => ($method eq 'terminate' ? 71 : 72), n => 80 });
	call(q{CALL ecpower.shopify_pull('shop')});
	my $slug = $method eq 'terminate' ? 'buyers' : 'buyers_again';
	$node->safe_psql('shop', qq{
		SELECT ecpower.create_segment('$slug', 'Buyers', '{"orders": {}, "count": {"gte": 1}}');
		UPDATE ecpower.segments SET sync_tag = 'ecp-' || slug WHERE slug = '$slug';
		CALL ecpower.refresh();});
	my $acked0 = $node->safe_psql('shop', q{SELECT acked_change_id FROM ecpower.shopify_state WHERE server = 'shop'});
	my $pending = $node->safe_psql('shop', "SELECT count(*) FROM ecpower.tag_changes WHERE change_id > $acked0");
	# probe, two batches, then a batch the stand-in holds for 3 s and applies anyway
	control({ action => 'faults', graphql => ['none', 'none', 'none', 'stall:3'] });
	$bg = $node->background_psql('shop', on_error_stop => 0);
	$pid = $bg->query_safe('SELECT pg_backend_pid()');
	$bg->query_until(qr/go/, "\\echo go\nCALL ecpower.shopify_push('shop');\n");
	usleep(1_500_000);
	if ($method eq 'terminate') { $node->safe_psql('shop', "SELECT pg_terminate_backend($pid)"); }
	else { kill 'KILL', $pid; }
	$node->poll_query_until('shop', 'SELECT true') or die 'server did not come back';
	eval { $bg->quit; };
	my $acked1 = $node->safe_psql('shop', q{SELECT acked_change_id FROM ecpower.shopify_state WHERE server = 'shop'});
	ok($acked1 > $acked0 && $acked1 < $acked0 + $pending,
		"$method: the push stopped after acknowledging some changes ($acked0 -> $acked1 of $pending)");
	sleep 3;    # the held batch is applied by the stand-in after all
	my $applied0 = shop_state()->{counts}{mutations};
	($ret, $err) = call(q{CALL ecpower.shopify_push('shop')});
	is($ret, 0, "$method: the next push succeeds") or diag($err);
	is(tag_mismatches(), '', "$method: the tags equal the segments' members (no change lost, none applied out of order)");
	like($node->safe_psql('shop', q{SELECT string_agg(status, ',' ORDER BY sync_id) FROM
		(SELECT sync_id, status FROM ecpower.shopify_syncs WHERE direction = 'push' ORDER BY sync_id DESC LIMIT 2) s}),
		qr/^(abandoned|failed),succeeded$/, "$method: the stopped push is logged as abandoned");
}

# -- HTTPS with a private CA -----------------------------------------------------
SKIP:
{
	my $ok = system("cd $tmp && openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj '/CN=ecpower test CA' "
		  . "-keyout ca.key -out ca.crt >/dev/null 2>&1 && "
		  . "openssl req -newkey rsa:2048 -nodes -subj '/CN=localhost' -keyout srv.key -out srv.csr >/dev/null 2>&1 && "
		  . "printf 'subjectAltName=DNS:localhost\\n' > ext.cnf && "
		  . "openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial -days 2 -extfile ext.cnf -out srv.crt >/dev/null 2>&1") == 0;
	skip 'openssl could not create a test CA', 3 unless $ok;
	chmod 0644, "$tmp/ca.crt";
	my $tport = start_standin(name => 'tls', cert => "$tmp/srv.crt", key => "$tmp/srv.key");
	IPC::Run::run([ 'curl', '-s', '--cacert', "$tmp/ca.crt", '-X', 'POST', '-d', '{"action":"generate","customers":20,"seed":3}',
		"https://localhost:$tport/_control" ], '>', \my $out);
	$node->safe_psql('postgres', 'CREATE DATABASE tls');
	$node->safe_psql('tls', qq{
		CREATE EXTENSION ecpower;
		CREATE SERVER shop FOREIGN DATA WRAPPER ecpower_shopify
		    OPTIONS (endpoint 'https://localhost:$tport/admin/api/2025-01/graphql.json', poll_interval '0.05', max_retries '0');
		CREATE SERVER shop_ca FOREIGN DATA WRAPPER ecpower_shopify
		    OPTIONS (endpoint 'https://localhost:$tport/admin/api/2025-01/graphql.json', poll_interval '0.05', ca_file '$tmp/ca.crt');
		SET log_statement = 'none';
		CREATE USER MAPPING FOR CURRENT_USER SERVER shop OPTIONS (access_token '$token');
		CREATE USER MAPPING FOR CURRENT_USER SERVER shop_ca OPTIONS (access_token '$token');
	});
	my ($r1, $o1, $e1) = $node->psql('tls', "\\set VERBOSITY verbose\nCALL ecpower.shopify_pull('shop')");
	$all_errors .= $e1;
	like($e1, qr/HV00N: .*certificate/i, 'HTTPS: a server whose CA is not trusted is refused (HV00N, certificate)');
	my ($r2, $o2, $e2) = $node->psql('tls', "CALL ecpower.shopify_pull('shop_ca')");
	$all_errors .= $e2;
	is($r2, 0, 'HTTPS: with ca_file naming the CA the pull succeeds') or diag($e2);
	is($node->safe_psql('tls', 'SELECT count(*) FROM ecpower.customers WHERE customer_id < 4611686018427387904'), 20,
		'HTTPS: the customers are loaded');
}

# -- the proxy option: an endpoint nothing listens on, reached through the
# stand-in acting as an HTTP proxy
my $proxied = shop_state()->{counts}{proxied};
$node->safe_psql('postgres', 'CREATE DATABASE proxied');
$node->safe_psql('proxied', qq{
	CREATE EXTENSION ecpower;
	CREATE SERVER shop FOREIGN DATA WRAPPER ecpower_shopify
	    OPTIONS (endpoint 'http://localhost:1/admin/api/2025-01/graphql.json', poll_interval '0.05',
	             proxy 'http://127.0.0.1:$port');
	SET log_statement = 'none';
	CREATE USER MAPPING FOR CURRENT_USER SERVER shop OPTIONS (access_token '$token');
});
my ($r4, $o4, $e4) = $node->psql('proxied', "CALL ecpower.shopify_pull('shop')");
$all_errors .= $e4;
is($r4, 0, 'the proxy option: a pull through an HTTP proxy succeeds') or diag($e4);
ok(shop_state()->{counts}{proxied} > $proxied, '  and its requests went through the proxy');
is($node->safe_psql('proxied', 'SELECT count(*) FROM ecpower.orders'), $node->safe_psql('shop', 'SELECT count(*) FROM ecpower.orders'),
	'  loading the same orders');

# -- the token -------------------------------------------------------------------
$node->safe_psql('postgres', q{CREATE ROLE someone LOGIN});
$node->safe_psql('shop', q{GRANT USAGE ON FOREIGN SERVER shop TO someone});
is($node->safe_psql('shop', q{SELECT coalesce(umoptions::text, 'hidden') FROM pg_user_mappings WHERE srvname = 'shop'},
		extra_params => [ '-U', 'someone' ]),
	'hidden', 'pg_user_mappings hides the token from other roles');
$node->safe_psql('shop', q{GRANT USAGE ON SCHEMA ecpower TO someone; GRANT EXECUTE ON FUNCTION ecpower._shopify_pull(text) TO someone});
my ($r3, $o3, $e3) = $node->psql('shop', "SELECT ecpower._shopify_pull('shop')", extra_params => [ '-U', 'someone' ]);
like($e3, qr/user mapping not found/, 'a role without a user mapping cannot pull');
$all_errors .= $e3;
unlike($node->safe_psql('shop', q{SELECT string_agg(coalesce(error, ''), ' ') FROM ecpower.shopify_syncs}),
	qr/\Q$token\E/, 'shopify_syncs does not hold the token');
unlike($all_errors, qr/\Q$token\E/, 'no error message shows the token');
is(shop_state()->{counts}{unauthorized} >= 1, 1, 'the stand-in saw a refused token (the 401 test)');
my $log = slurp_file($node->logfile);
ok(length($log) > 10000 && $log =~ /shopify_pull/, 'the server log has the statements of the test (log_statement = all, debug1)');
unlike($log, qr/\Q$token\E/, 'the server log never shows the token');
note(sprintf('first pull of 400 customers: %.2f s; cancel: %.3f s; push of %d changes: %.1f s',
		$first_secs, $cancel_secs, $changes, $push_secs));

done_testing();
