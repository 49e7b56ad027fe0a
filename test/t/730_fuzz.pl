# Fuzz (README "Security"): thousands of mutated definitions and random
# jsonb thrown at validate_definition(), evaluate(), definition_filters()
# and create_segment() (whose trigger checks the size limits) (fixed seed,
# bounded count for CI).  The server never crashes and every
# rejection is a clean error of class 22 (bad definition), 54 (too deep /
# too large) or 42704 (unknown segment).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $count = $ENV{ECP_FUZZ_COUNT} || 10000;
my $node = PostgreSQL::Test::Cluster->new('fuzz');
$node->init;
$node->append_conf('postgresql.conf', "fsync = off\nTimeZone = 'UTC'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE DATABASE shop');
$node->safe_psql('shop', 'CREATE EXTENSION ecpower');
if ($node->safe_psql('shop', q{SELECT to_regprocedure('ecpower.evaluate(jsonb,timestamptz)') IS NULL}) eq 't')
{
	plan skip_all => 'the segment engine is not installed';
}
$node->safe_psql('shop', q{
	SELECT ecpower.generate_demo_store(300, 3);
	SELECT ecpower.create_segment('base', 'Base', '{"orders": {}, "count": {"gte": 2}}');
});

my $t0 = time();
my $result = $node->safe_psql('shop', <<"SQL");
SELECT setseed(0.4242);
CREATE TEMP TABLE outcome (fn text, sqlstate text, example text);

-- a random jsonb value: scalars that break parsers, lists, objects of
-- definition keys, deep nesting
CREATE FUNCTION pg_temp.rand_json(depth int) RETURNS jsonb LANGUAGE plpgsql AS \$f\$
DECLARE
    keys text[] := ARRAY['all', 'any', 'not', 'orders', 'count', 'metric', 'customer_tag',
        'country', 'province', 'city', 'email_domain', 'accepts_marketing', 'customer_created',
        'rfm_group', 'rfm', 'segment', 'eq', 'ne', 'gt', 'gte', 'lt', 'lte', 'between',
        'period', 'from', 'to', 'last_days', 'days_ago', 'nth', 'product_id', 'sku',
        'product_type', 'product_tag', 'vendor', 'product_title', 'order_tag', 'discount_code',
        'sales_channel', 'utm_source', 'has_discount', 'subscription', 'total', 'r', 'f', 'm',
        '', 'ALL', 'x'' OR 1=1; --', '\$\$', 'all\\u0000'];
    scalars jsonb[] := ARRAY['0', '-1', '1', '5', '6', '1.5', '-0', '1e308', '-1e308', '1e-308',
        '2147483648', '9223372036854775808', '-9223372036854775809', '123456789012345678901234567890',
        'null', 'true', 'false', '""', '"2024-02-30"', '"2024-02-29"', '"9999-12-31"',
        '"0001-01-01"', '"2024-13-01"', '"first"', '"second"', '"repeat"', '"latest"',
        '"champions"', '"prospects"', '"total_spent"', '"aov"', '"avg_interval_days"',
        '"base"', '"nope"', '"JP"', '"x''; DROP TABLE ecpower.orders; --"', '"\$\$ SELECT 1 \$\$"',
        '"/* */"', '"NaN"', '"Infinity"', '"\\u00e9\\u3042"']::jsonb[];
    r float8 := random();
    o jsonb;
    n int;
BEGIN
    IF depth <= 0 OR r < 0.45 THEN
        RETURN scalars[1 + floor(random() * array_length(scalars, 1))::int];
    ELSIF r < 0.55 THEN
        RETURN to_jsonb(repeat('a', (random() * 200000)::int));
    ELSIF r < 0.75 THEN
        o := '[]';
        n := floor(random() * 4)::int;
        FOR i IN 1 .. n LOOP o := o || jsonb_build_array(pg_temp.rand_json(depth - 1)); END LOOP;
        RETURN o;
    ELSE
        o := '{}';
        n := floor(random() * 3)::int;
        FOR i IN 1 .. n LOOP
            o := o || jsonb_build_object(keys[1 + floor(random() * array_length(keys, 1))::int],
                                         pg_temp.rand_json(depth - 1));
        END LOOP;
        RETURN o;
    END IF;
END \$f\$;

-- one mutation of a definition: replace, delete or add somewhere inside,
-- wrap it, or nest it very deep
CREATE FUNCTION pg_temp.mutate(d jsonb) RETURNS jsonb LANGUAGE plpgsql AS \$f\$
DECLARE
    r float8 := random();
    k text;
    i int;
BEGIN
    IF r < 0.05 THEN
        RETURN jsonb_build_object('not', d);
    ELSIF r < 0.08 THEN
        FOR i IN 1 .. (20 + floor(random() * 30)::int) LOOP
            d := jsonb_build_object(CASE WHEN random() < 0.5 THEN 'all' ELSE 'not' END,
                                    CASE WHEN random() < 0.5 THEN jsonb_build_array(d) ELSE d END);
        END LOOP;
        RETURN d;
    ELSIF r < 0.10 THEN
        RETURN jsonb_build_object('any', (SELECT jsonb_agg(d) FROM generate_series(1, 1 + (random() * 20)::int)));
    END IF;
    IF jsonb_typeof(d) = 'object' AND d <> '{}' THEN
        SELECT key INTO k FROM jsonb_object_keys(d) key ORDER BY random() LIMIT 1;
        IF r < 0.5 THEN
            RETURN jsonb_set(d, ARRAY[k], pg_temp.mutate(d -> k));
        ELSIF r < 0.65 THEN
            RETURN d - k;
        ELSIF r < 0.8 THEN
            RETURN d || jsonb_build_object(k || CASE WHEN random() < 0.5 THEN '' ELSE 'x' END, pg_temp.rand_json(2));
        END IF;
        RETURN jsonb_set(d, ARRAY[k], pg_temp.rand_json(2));
    ELSIF jsonb_typeof(d) = 'array' AND jsonb_array_length(d) > 0 THEN
        i := floor(random() * jsonb_array_length(d))::int;
        IF r < 0.6 THEN
            RETURN jsonb_set(d, ARRAY[i::text], pg_temp.mutate(d -> i));
        ELSIF r < 0.8 THEN
            RETURN d - i;
        END IF;
        RETURN d || jsonb_build_array(pg_temp.rand_json(2));
    END IF;
    RETURN pg_temp.rand_json(2);
END \$f\$;

CREATE FUNCTION pg_temp.try(fn text, sql text, d jsonb) RETURNS void LANGUAGE plpgsql AS \$f\$
BEGIN
    BEGIN
        EXECUTE sql USING d;
        RAISE EXCEPTION USING ERRCODE = 'EC000';   -- undo what it did
    EXCEPTION WHEN OTHERS THEN
        INSERT INTO outcome
        VALUES (fn, CASE WHEN SQLSTATE = 'EC000' THEN 'ok' ELSE SQLSTATE END,
                CASE WHEN SQLSTATE <> 'EC000' THEN left(d::text, 300) || ' => ' || SQLERRM END);
    END;
END \$f\$;

DO \$do\$
DECLARE
    seeds jsonb[] := ARRAY[
        '{"all": [{"country": ["JP"]}, {"orders": {}, "count": {"gte": 2}}]}',
        '{"any": [{"metric": "total_spent", "gte": 100, "orders": {"period": {"last_days": 90}}}, {"not": {"customer_tag": ["vip"]}}]}',
        '{"orders": {"nth": "first", "product_type": ["Tea"], "period": {"from": "2024-01-01", "to": "2024-12-31"}}, "count": {"between": [1, 3]}}',
        '{"rfm": {"r": [4, 5], "f": [1, 2]}}',
        '{"all": [{"rfm_group": "champions"}, {"segment": "base"}, {"accepts_marketing": true}]}',
        '{"metric": "avg_interval_days", "lt": 30, "orders": {"nth": [2, null], "has_discount": true, "total": {"gt": 10}}}',
        '{"customer_created": {"days_ago": [0, 30]}}',
        '{"orders": {"utm_source": ["google"], "subscription": false, "discount_code": ["X"]}}']::jsonb[];
    d jsonb;
BEGIN
    FOR i IN 1 .. $count LOOP
        d := seeds[1 + (i % array_length(seeds, 1))];
        FOR j IN 1 .. 1 + floor(random() * 4)::int LOOP
            d := pg_temp.mutate(d);
        END LOOP;
        IF i % 10 = 0 THEN
            d := pg_temp.rand_json(4);
        END IF;
        PERFORM pg_temp.try('validate_definition', 'SELECT ecpower.validate_definition(\$1)', d);
        PERFORM pg_temp.try('evaluate', 'SELECT count(*) FROM ecpower.evaluate(\$1, ''2025-06-01 12:00+00'')', d);
        PERFORM pg_temp.try('definition_filters', 'SELECT ecpower.definition_filters(\$1)', d);
        IF i % 5 = 0 THEN
            PERFORM pg_temp.try('create_segment', 'SELECT ecpower.create_segment(''fuzz'', ''Fuzz'', \$1)', d);
        END IF;
    END LOOP;
END
\$do\$;

SELECT fn || ' ' || sqlstate || ' ' || count(*) FROM outcome GROUP BY fn, sqlstate ORDER BY 1;
SELECT '--';
SELECT 'unexpected ' || fn || ' ' || sqlstate || ': ' || min(example) FROM outcome
 WHERE sqlstate <> 'ok' AND sqlstate NOT LIKE '22%' AND sqlstate NOT LIKE '54%' AND sqlstate <> '42704'
 GROUP BY fn, sqlstate;
SQL
my $elapsed = time() - $t0;
my ($summary, $unexpected) = split /^--$/m, $result;
note("outcomes (function, SQLSTATE, count):\n$summary");
note(sprintf('%d definitions in %.1f s', $count, $elapsed));

is($unexpected =~ s/^\s+|\s+$//gr, '', 'every rejection is an error of class 22, 54 or 42704');
like($summary, qr/validate_definition ok \d+/, 'some mutated definitions are still valid');
like($summary, qr/validate_definition 22023 \d+/, 'most are rejected with 22023');
is($node->safe_psql('shop', 'SELECT 1'), '1', 'the server is up');
unlike(slurp_file($node->logfile), qr/terminated by signal|server process .* was terminated/,
	'no backend crashed');
cmp_ok($elapsed, '<', 120, "$count definitions in under 2 minutes");

$node->stop;
done_testing();
