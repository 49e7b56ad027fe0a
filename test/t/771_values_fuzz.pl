# Crafted timeline-value chunks never crash the server.  A role with the
# refresher's rights can write any bytes into ecpower.timeline_values; every
# reader checks each chunk (header, length, checksum) and each entry (a
# dictionary id below the dictionary's size, a positive quantity, a cost
# within numeric(14,2), known flags) before use.  This test writes thousands
# of mutated chunks of the lines group and of an order-level group, most of
# them resealed with a valid checksum (so the entry checks, not the checksum,
# must catch them), calls every reader of the values on each, and accepts
# only a normal answer or a clean XX001 error (fixed seed, bounded count).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $count = $ENV{ECP_FUZZ_COUNT} || 1500;
my $node = PostgreSQL::Test::Cluster->new('values_fuzz');
$node->init;
$node->append_conf('postgresql.conf', "fsync = off\nTimeZone = 'UTC'\njit = off\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', q{
	CREATE EXTENSION ecpower;
	SELECT ecpower.generate_demo_store(300, 3);
	UPDATE ecpower.order_lines SET unit_cost = round(price * 0.5, 2);
	SELECT ecpower.create_segment('repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}');
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

# group 0 (lines): 36-byte entries order_id, product_id, cost, sku, quantity,
# flags; group 6 (utm_campaign): 12-byte entries order_id, id
my %layout = (
	0 => [36, [[0, 'q<'], [8, 'q<'], [16, 'q<'], [24, 'l<'], [28, 'l<'], [32, 'L<']]],
	6 => [12, [[0, 'q<'], [8, 'l<']]],
);
my @int32 = (0, -1, -2, 1, 2, 3, 2147483647, -2147483648, 100000, 65536);
my @int64 = (0, -1, 1, '9223372036854775807', '-9223372036854775808',
	'100000000000000', '-100000000000000', '99999999999999', '-99999999999999');
srand(20261207);

my %chunk;
for my $grp (keys %layout)
{
	my $hex = $node->safe_psql('shop',
		"SELECT encode(data, 'hex') FROM ecpower.timeline_values WHERE grp = $grp AND chunk = 0");
	$chunk{$grp} = pack('H*', $hex);
	my ($magic, $version, $g, $n, $crc) = unpack('L< S< S< l< L<', $chunk{$grp});
	is(crc32c(substr($chunk{$grp}, 20)), $crc, "group $grp: the checksum is CRC-32C of what follows the header");
	ok($n > 5 && $g == $grp, "group $grp: chunk 0 holds $n entries");
}

sub mutate
{
	my ($grp) = @_;
	my $c = $chunk{$grp};
	my ($size, $fields) = @{ $layout{$grp} };
	my $n = int((length($c) - 20) / $size);
	my $kind = int(rand(10));
	if ($kind <= 5)
	{
		my $rec = int(rand($n));
		my ($off, $fmt) = @{ $fields->[ int(rand(@$fields)) ] };
		my $v = $fmt =~ /^[lL]/ ? $int32[ int(rand(@int32)) ] : $int64[ int(rand(@int64)) ];
		$v = $v & 0xFFFFFFFF if $fmt eq 'L<';
		substr($c, 20 + $size * $rec + $off, $fmt =~ /q/ ? 8 : 4) = pack($fmt, $v);
	}
	elsif ($kind <= 7)
	{
		for (1 .. 1 + int(rand(4)))
		{
			substr($c, 20 + int(rand(length($c) - 20)), 1) = chr(int(rand(256)));
		}
	}
	elsif ($kind == 8)
	{
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
		# the group or the version
		substr($c, 4 + 2 * int(rand(2)), 2) = pack('S<', int(rand(16)));
	}
	substr($c, 12, 4) = pack('L<', crc32c(substr($c, 20))) if length($c) >= 20 && rand() < 0.9;
	return unpack('H*', $c);
}

my @rows;
for my $i (1 .. $count)
{
	my $grp = $i % 2 ? 0 : 6;
	push @rows, "$i\t$grp\t\\\\x" . mutate($grp);
}
$node->safe_psql('shop', "CREATE TABLE fuzz (i int, grp smallint, data bytea); COPY fuzz FROM STDIN;\n"
	. join("\n", @rows) . "\n\\.\n");

my $out = $node->safe_psql('shop', q{
	CREATE TEMP TABLE outcome (i int, sqlstate text, message text);
	DO $$
	DECLARE
		f record;
		st text;
		msg text;
	BEGIN
		FOR f IN SELECT * FROM fuzz ORDER BY i LOOP
			UPDATE ecpower.timeline_values SET data = f.data WHERE grp = f.grp AND chunk = 0;
			BEGIN
				PERFORM count(*) FROM ecpower.feature_report(NULL, 'product');
				PERFORM count(*) FROM ecpower.feature_report('repeat', 'sku', 'repeat');
				PERFORM count(*) FROM ecpower.feature_report(NULL, 'product_type', 'first');
				PERFORM count(*) FROM ecpower.feature_report(NULL, 'utm_campaign');
				PERFORM count(*) FROM ecpower.bought_together(NULL);
				PERFORM count(*) FROM ecpower.distribution('repeat', 'items');
				INSERT INTO outcome VALUES (f.i, '00000', NULL);
			EXCEPTION WHEN OTHERS THEN
				GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT;
				INSERT INTO outcome VALUES (f.i, st, msg);
			END;
		END LOOP;
	END
	$$;
	SELECT sqlstate, count(*), min(message) FROM outcome GROUP BY 1 ORDER BY 1;
});
note("outcomes:\n$out");
my %by = map { my @f = split /\|/; ($f[0] => $f[1]) } split /\n/, $out;
my $total = 0;
$total += $_ for values %by;
is($total, $count, "every one of $count mutated chunks was read by every reader, the server up");
# 22003: a quantity order_lines itself allows (up to 2^31 - 1), summed over
# an order's lines past the range of an item count: the error a scan of
# the same rows gives
my @bad = grep { $_ ne '00000' && $_ ne 'XX001' && $_ ne '22003' } keys %by;
is(scalar(@bad), 0, 'every outcome is an answer, XX001 (data corrupted) or 22003 (item count out of range)')
	or diag("unexpected: @bad");
ok(($by{XX001} // 0) > $count / 2, 'most mutations are refused as corrupt');

# after a reset, the next refresh rebuilds sound values
$node->safe_psql('shop', q{SELECT ecpower.reset_order_cache(); CALL ecpower.refresh('2025-06-30 12:00+00');});
is($node->safe_psql('shop', q{SELECT count(*) > 0 FROM ecpower.feature_report(NULL, 'product')}), 't',
	'rebuilt after a reset');

$node->stop;
done_testing();
