# Crafted order-cache chunks never crash the server.  A role with the
# refresher's rights can write any bytes into ecpower.order_cache; every
# reader checks each chunk (length, checksum) and each record (customer key,
# date, amount, item count) before use.  This test writes thousands of
# mutated chunks whose checksum is recomputed (so the record checks, not the
# checksum, must catch them) plus some with the checksum left stale, calls
# every reader of the cache on each, and accepts only a normal answer or a
# clean XX001 error (fixed seed, bounded count for CI).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $count = $ENV{ECP_FUZZ_COUNT} || 3000;
my $node = PostgreSQL::Test::Cluster->new('timeline_fuzz');
$node->init;
$node->append_conf('postgresql.conf', "fsync = off\nTimeZone = 'UTC'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', q{
	CREATE EXTENSION ecpower;
	SELECT ecpower.generate_demo_store(300, 3);
	SELECT ecpower.create_segment('repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}');
	SELECT ecpower.create_segment('coffee', 'Coffee', '{"orders": {"product_type": ["coffee"]}}');
	CALL ecpower.refresh('2025-06-30 12:00+00');
});

# CRC-32C (Castagnoli, reflected), as PostgreSQL's pg_crc32c
my @table;
for my $i (0 .. 255)
{
	my $c = $i;
	$c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
	$table[$i] = $c;
}
sub crc32c
{
	my $crc = 0xFFFFFFFF;
	$crc = $table[($crc ^ $_) & 0xFF] ^ ($crc >> 8) for unpack('C*', $_[0]);
	return $crc ^ 0xFFFFFFFF;
}

# chunk 0 as stored: header (magic, version, fwords, n, crc, reserved),
# then n 48-byte records, then n * fwords filter words
my $hex = $node->safe_psql('shop', q{SELECT encode(data, 'hex') FROM ecpower.order_cache WHERE chunk = 0});
my $chunk = pack('H*', $hex);
my ($magic, $version, $fwords, $n, $crc) = unpack('L< S< S< l< L<', $chunk);
is(crc32c(substr($chunk, 20)), $crc, 'the checksum of a chunk is CRC-32C of what follows its header');
ok($n > 10, "chunk 0 holds $n records");

# field offsets within a record: order_id 0, ordered_at 8, net 16, profit 24,
# cust 32, day 36, items 40, costed 44
my @fields = ([0, 'q<'], [8, 'q<'], [16, 'q<'], [24, 'q<'], [32, 'l<'], [36, 'l<'], [40, 'l<'],
	[44, 'l<']);
my @int32 = (0, -1, 1, 2147483647, -2147483648, 300, 301, 302, 100000, 65536);
my @int64 = (0, -1, '9223372036854775807', '-9223372036854775808', '9223372036854775806',
	'100000000000000', '-100000000000000', '99999999999999', '-99999999999999',
	'31556995199999999', '-3155673600000000', '-3155673600000001', '86400000000', '1');
srand(20261206);

sub mutate
{
	my $c = $chunk;
	my $kind = int(rand(10));
	if ($kind <= 5)
	{
		# one record field set to a boundary value
		my $rec = int(rand($n));
		my ($off, $fmt) = @{ $fields[ int(rand(@fields)) ] };
		my $v = $fmt eq 'l<' ? $int32[ int(rand(@int32)) ] : $int64[ int(rand(@int64)) ];
		substr($c, 20 + 48 * $rec + $off, $fmt eq 'l<' ? 4 : 8) = pack($fmt, $v);
	}
	elsif ($kind <= 7)
	{
		# random bytes anywhere after the header
		for (1 .. 1 + int(rand(4)))
		{
			substr($c, 20 + int(rand(length($c) - 20)), 1) = chr(int(rand(256)));
		}
	}
	elsif ($kind == 8)
	{
		# the header's count, or the length
		if (rand() < 0.5)
		{
			substr($c, 8, 4) = pack('l<', (-1, 0, $n - 1, $n + 1, 2147483647)[ int(rand(5)) ]);
		}
		else
		{
			$c = substr($c, 0, int(rand(length($c))));
		}
	}
	else
	{
		# the filter word count or the version
		substr($c, 4 + 2 * int(rand(2)), 2) = pack('S<', int(rand(65536)));
	}
	# seal it as a writer who knows the format would, most of the time
	substr($c, 12, 4) = pack('L<', crc32c(substr($c, 20))) if length($c) >= 20 && rand() < 0.9;
	return unpack('H*', $c);
}

# the mutated chunks, loaded once; a DO block then installs each one in
# turn and calls every reader of the cache, keeping each outcome
my $rows = join("\n", map { "$_\t\\\\x" . mutate() } 1 .. $count);
$node->safe_psql('shop', "CREATE TABLE fuzz (i int, data bytea); COPY fuzz FROM STDIN;\n$rows\n\\.\n");

my $readers = q{
	PERFORM count(*) FROM ecpower.cohorts(NULL);
	PERFORM count(*) FROM ecpower.cohort_summary('repeat');
	PERFORM ecpower.segment_kpis(NULL);
	PERFORM ecpower.segment_kpis('coffee', '2024-01-01', '2025-06-30');
	PERFORM count(*) FROM ecpower.compare_segments(ARRAY['repeat', 'coffee']);
	PERFORM count(*) FROM ecpower.ltv_window('repeat', 3);
	PERFORM count(*) FROM ecpower.segment_revenue(ARRAY['repeat'], 'month', '2024-01-01', '2025-06-30');
	PERFORM count(*) FROM ecpower.journey(ARRAY['repeat', 'coffee'], '2025-06-30', '2025-06-30');
};

my $out = $node->safe_psql('shop', qq{
	CREATE TEMP TABLE outcome (i int, sqlstate text, message text);
	DO \$\$
	DECLARE
		f record;
		st text;
		msg text;
	BEGIN
		FOR f IN SELECT * FROM fuzz ORDER BY i LOOP
			UPDATE ecpower.order_cache SET data = f.data WHERE chunk = 0;
			BEGIN
				$readers
				INSERT INTO outcome VALUES (f.i, '00000', NULL);
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				INSERT INTO outcome VALUES (f.i, st, msg);
			END;
		END LOOP;
	END
	\$\$;
	SELECT sqlstate, count(*), min(message) FROM outcome GROUP BY 1 ORDER BY 1;
});
note("outcomes:\n$out");
my %by = map { my @f = split /\|/; ($f[0] => $f[1]) } split /\n/, $out;
my $total = 0;
$total += $_ for values %by;
is($total, $count, "every one of $count mutated chunks was read by every reader, the server up");
my @bad = grep { $_ ne '00000' && $_ ne 'XX001' } keys %by;
is(scalar(@bad), 0, 'every outcome is an answer or XX001 (data corrupted)')
	or diag("unexpected: @bad");
ok(($by{XX001} // 0) > $count / 2, 'most mutations are refused as corrupt');

# the nightly refresh reads the cache too: a sample of mutations through it
my $refused = 0;
my $sample = 0;
for my $i (grep { $_ % 15 == 0 } 1 .. $count)
{
	my ($ret, $stdout, $stderr) = $node->psql('shop', qq{
		UPDATE ecpower.order_cache SET data = (SELECT data FROM fuzz WHERE i = $i) WHERE chunk = 0;
		UPDATE ecpower.orders SET total = total WHERE order_id = (SELECT min(order_id) FROM ecpower.orders);
		CALL ecpower.refresh('2025-06-30 12:00+00');
	}, on_error_stop => 1);
	$sample++;
	if ($ret != 0)
	{
		like($stderr, qr/order cache is corrupt|customer key|ERROR:  .*ecpower order cache/,
			"refresh refuses mutation $i cleanly") or last;
		$refused++;
	}
}
ok($node->safe_psql('shop', 'SELECT 1') eq '1', "server alive after $sample refreshes over mutated chunks ($refused refused)");

# and after a reset, the next refresh rebuilds a sound cache
$node->safe_psql('shop', q{SELECT ecpower.reset_order_cache(); CALL ecpower.refresh('2025-06-30 12:00+00');});
is($node->safe_psql('shop', q{SELECT count(*) > 0 FROM ecpower.cohorts(NULL)}), 't', 'rebuilt after a reset');

$node->stop;
done_testing();
