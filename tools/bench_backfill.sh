#!/usr/bin/env bash
#
# The backfill benchmark (docs/backfill.md, "Cost"), also run by make bench
# (tools/bench.sh) for each store size.  For each size: the demo store, one
# segment per template (79, tools/bench/segments.sql), then as medians over
# ECP_BENCH_REPS runs (CPU time of the backend, and wall time):
#
#   refresh         CALL ecpower.refresh(as_of) from scratch (order cache reset)
#   refresh_cached  the same refresh again, from the order cache
#   backfill        CALL ecpower.backfill() of the ECP_BENCH_BACKFILL_DAYS days
#                   (default 365) that end the day before the refresh
#
# and the ratios backfill / refresh.  Once, at the first size, a sample of
# backfilled days (every 30th) is checked against the membership that a
# refresh at the end of that day stores, segment by segment.
#
# Environment: ECP_BENCH_SIZES (default "250000"), ECP_BENCH_REPS (3),
# ECP_BENCH_BACKFILL_REPS (default ECP_BENCH_REPS), ECP_BENCH_BACKFILL_DAYS
# (365), ECP_BENCH_BACKFILL_CHECK=0 to skip the check, ECP_PORT (default
# 55590).
set -eu
ECP_PORT=${ECP_PORT:-55590}
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"

REPS=${ECP_BENCH_REPS:-3}
SIZES=${ECP_BENCH_SIZES:-250000}
DAYS=${ECP_BENCH_BACKFILL_DAYS:-365}
BF_REPS=${ECP_BENCH_BACKFILL_REPS:-$REPS}
AS_OF='2026-01-01 23:59:59.999999+00'   # the refresh: the day after the demo's history
TO_DATE='2025-12-31'

install_deps
build_stage
dir=$ECP_ROOT/tmp_bench/backfill
ECP_SHARED_BUFFERS=${ECP_SHARED_BUFFERS:-2GB}
cluster_start "$dir"
trap 'cluster_stop "$dir"' EXIT
cat >>"$dir/data/postgresql.conf" <<CONF
work_mem = '256MB'
max_parallel_workers_per_gather = 0
autovacuum = off
CONF
as_pg "$ECP_BINDIR/pg_ctl" -D "$dir/data" reload >/dev/null
sleep 1

DB=ecpower_bench
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
qa() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
measure_once() {
    q <<SQL
SET TimeZone = 'UTC';
SELECT bench.start('$1') \\g /dev/null
\\o /dev/null
$4
\\o
SELECT bench.stop('$1', $2, $3) \\g /dev/null
SQL
}

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
q -c "CREATE EXTENSION ecpower" -f tools/bench/setup.sql >/dev/null
first=1
for size in $SIZES; do
    log "store of $size customers"
    q >/dev/null <<SQL
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
CREATE EXTENSION ecpower;
SELECT * FROM ecpower.generate_demo_store($size, 42);
VACUUM ANALYZE;
\\i tools/bench/segments.sql
SELECT count(ecpower.create_segment_from_template(template, slug, params)) FROM bench.segs;
SQL
    from=$(qa -c "SELECT date '$TO_DATE' - $DAYS + 1")
    log "refresh from scratch and from the order cache"
    for rep in $(seq 1 "$REPS"); do
        q -c "SELECT ecpower.reset_order_cache()" >/dev/null
        measure_once refresh "$size" "$rep" "CALL ecpower.refresh('$AS_OF');"
        q -c "VACUUM ecpower.order_cache" >/dev/null
    done
    for rep in $(seq 1 "$REPS"); do
        measure_once refresh_cached "$size" "$rep" "CALL ecpower.refresh('$AS_OF');"
    done
    log "backfill of $DAYS days ($from to $TO_DATE)"
    for rep in $(seq 1 "$BF_REPS"); do
        measure_once backfill "$size" "$rep" "CALL ecpower.backfill('$from', '$TO_DATE');"
        q -c "VACUUM ecpower.membership, ecpower.kpi_snapshots" >/dev/null
    done
    q -c "INSERT INTO bench.facts SELECT 'backfill_days', $size, '$DAYS'" >/dev/null
    q -c "INSERT INTO bench.facts SELECT 'membership_mb', $size, round(pg_total_relation_size('ecpower.membership') / 1048576.0, 1)" >/dev/null
    if [ "$first" = 1 ] && [ "${ECP_BENCH_BACKFILL_CHECK:-1}" != 0 ]; then
        log "checking every 30th backfilled day against a refresh at the end of that day"
        # in a copy of the database, where the refresh state is cleared so
        # that refreshes can start over from the first checked day
        psql -X -q -d postgres -c "DROP DATABASE IF EXISTS ${DB}_check" \
            -c "CREATE DATABASE ${DB}_check TEMPLATE $DB" >/dev/null
        psql -X -q -v ON_ERROR_STOP=1 -d "${DB}_check" >/dev/null <<SQL
CREATE TABLE bench.bf_check (day date, slug text, backfilled bigint, refreshed bigint, mismatches bigint);
UPDATE ecpower.refresh_state SET current_run_id = NULL;
SQL
        for d in $(qa -c "SELECT d::date FROM generate_series(date '$from', date '$TO_DATE', '30 days') d"); do
            psql -X -q -v ON_ERROR_STOP=1 -d "${DB}_check" >/dev/null <<SQL
CREATE TEMP TABLE b AS SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug, '$d') m;
CALL ecpower.refresh('$d 23:59:59.999999+00');
CREATE TEMP TABLE r AS SELECT s.slug, m FROM ecpower.segments s, ecpower.segment_members(s.slug) m;
INSERT INTO bench.bf_check
SELECT '$d', s.slug, (SELECT count(*) FROM b WHERE b.slug = s.slug), (SELECT count(*) FROM r WHERE r.slug = s.slug),
       (SELECT count(*) FROM ((SELECT m FROM b WHERE b.slug = s.slug EXCEPT SELECT m FROM r WHERE r.slug = s.slug)
                         UNION ALL (SELECT m FROM r WHERE r.slug = s.slug EXCEPT SELECT m FROM b WHERE b.slug = s.slug)) x)
  FROM ecpower.segments s;
SQL
        done
        res=$(psql -X -q -A -t -d "${DB}_check" -c "SELECT count(DISTINCT day) || ' days, ' || count(*) || ' segment-days, ' || sum(backfilled) || ' members, ' || sum(mismatches) || ' mismatches' FROM bench.bf_check")
        log "check: $res"
        q -c "INSERT INTO bench.facts VALUES ('backfill_check', $size, '$res')" >/dev/null
        psql -X -q -d postgres -c "DROP DATABASE ${DB}_check" >/dev/null
    fi
    first=0
done

q <<'SQL'
\pset footer off
SELECT size, label AS figure, count(*) AS reps,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY wall_s)::numeric, 2) AS wall_s,
       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY cpu_s)::numeric, 2) AS cpu_s
  FROM bench.results GROUP BY size, label ORDER BY size, label;
SELECT b.size,
       round((b.cpu / r.cpu)::numeric, 1) AS "backfill / refresh (cpu)",
       round((b.cpu / c.cpu)::numeric, 1) AS "backfill / refresh_cached (cpu)",
       round((b.cpu / f.value::numeric)::numeric * 1000, 1) AS "ms cpu per day"
  FROM (SELECT size, percentile_cont(0.5) WITHIN GROUP (ORDER BY cpu_s) AS cpu FROM bench.results WHERE label = 'backfill' GROUP BY size) b
  JOIN (SELECT size, percentile_cont(0.5) WITHIN GROUP (ORDER BY cpu_s) AS cpu FROM bench.results WHERE label = 'refresh' GROUP BY size) r USING (size)
  JOIN (SELECT size, percentile_cont(0.5) WITHIN GROUP (ORDER BY cpu_s) AS cpu FROM bench.results WHERE label = 'refresh_cached' GROUP BY size) c USING (size)
  JOIN bench.facts f ON f.size = b.size AND f.label = 'backfill_days'
 ORDER BY b.size;
SELECT * FROM bench.facts ORDER BY size, label;
SQL
