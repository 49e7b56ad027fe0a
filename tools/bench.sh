#!/usr/bin/env bash
#
# make bench: the ecpower benchmark (README "Performance").
#
# Builds and stages the extension, starts its own cluster in tmp_bench/
# (shared_buffers 4GB, work_mem 256MB, parallel workers off so that every
# figure is one core's work), and for each store size generates the demo
# store, creates one segment per template (79, tools/bench/segments.sql)
# and measures, as medians over ECP_BENCH_REPS repetitions:
#
#   floor      SELECT count(*) over orders, plus over order_lines
#   refresh    CALL ecpower.refresh(as_of) from scratch (order cache reset)
#   refresh_cached  the same refresh again, from the order cache
#   nightly    the refresh after one more day of orders (~0.3 % new orders,
#              a few refunds and cancellations: tools/bench/nightly.sql)
#   baseline   the plain-SQL way: the RFM table once, then one query per
#              segment (window functions and GROUP BY)
#   reports    feature_report 'product' over all and over first orders,
#              distribution (amount, order_count), cohorts, cohort_summary,
#              segment_kpis, ecpower.kpis in a GROUP BY and bought_together on
#              the segment closest to 100,000 members (to a tenth of the store
#              for other sizes), compare_segments of the five segments closest
#              to that size and journey of those five between a refresh one
#              month earlier and the current one, each cold (new session) and
#              warm (pooled session) against its plain-SQL equivalent
#              (tools/bench/reports.sql); acquisition_report ('utm_campaign',
#              with the demo spend) and next_purchases (products) on that
#              segment and on the whole store (_store)
#   DuckDB     the same reports in DuckDB (one thread, data in memory), plus
#              the per-customer GROUP BY over all counted orders that a
#              nightly refresh stands for: the counted orders, their lines,
#              the products and the memberships are exported to
#              tmp_bench/export/ and tools/bench/duckdb/bench.mjs (Node.js,
#              npm package @duckdb/node-api installed into tmp_bench/duckdb/)
#              loads them and times each query; each DuckDB answer is checked
#              against ecpower's.  Without node/npm, or when the package cannot
#              be installed, the benchmark says so and carries on without it.
#   memory     peak private memory (RssAnon, sampled every 20 ms) and VmHWM
#              of the backend during a refresh
#   predict_auto  fit_predictions(model => 'auto'): the three models fitted
#              on the calibration period and scored on the holdout, the
#              best refitted, Gamma-Gamma, every customer re-scored
#   fit_MODEL  fit_models() of bgnbd, mbgnbd and paretonbd alone
#   backfill   CALL ecpower.backfill() of the ECP_BENCH_BACKFILL_DAYS days
#              (default 365) before the last refresh, as a ratio to one
#              refresh (tools/bench_backfill.sh runs this case alone)
#
# Every figure is given as wall time and as the backend's CPU time (user +
# system, from /proc/self/schedstat): on a machine shared with other work the
# CPU time is the stable one, and the ratios are taken on it.  Once, at the
# first size, every segment's members are checked against its baseline
# query, and every report against its plain-SQL equivalent, so that the
# comparison is fair (DuckDB's answers: at every size).
#
# Environment:
#   ECP_BENCH_SIZES      store sizes in customers (default "250000 1000000")
#   ECP_BENCH_CUSTOMERS  one size instead of ECP_BENCH_SIZES
#   ECP_BENCH_QUICK=1    quick run: 100,000 customers
#   ECP_BENCH_REPS       repetitions (default 3)
#   ECP_BENCH_BASELINE_REPS  repetitions of the plain-SQL baseline
#                        (default: ECP_BENCH_REPS)
#   ECP_BENCH_BACKFILL_DAYS  days of history backfilled (default 365)
#   ECP_BENCH_BACKFILL_REPS  repetitions of the backfill (default: ECP_BENCH_REPS)
#   ECP_PORT             port of the benchmark cluster (default 55580)
set -eu
ECP_PORT=${ECP_PORT:-55580}
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"

REPS=${ECP_BENCH_REPS:-3}
BREPS=${ECP_BENCH_BASELINE_REPS:-$REPS}
if [ -n "${ECP_BENCH_CUSTOMERS:-}" ]; then
    SIZES=$ECP_BENCH_CUSTOMERS
elif [ "${ECP_BENCH_QUICK:-0}" = 1 ]; then
    SIZES=100000
else
    SIZES=${ECP_BENCH_SIZES:-250000 1000000}
fi
AS_OF='2025-12-31 23:59:59+00'     # the end of the demo store's history
NEXT_DAY='2026-01-01'
AS_OF_NEXT='2026-01-01 23:59:59+00'
AS_OF_PREV='2025-11-30 23:59:59+00'  # the journey's first day

install_deps
build_stage
dir=$ECP_ROOT/tmp_bench
ECP_SHARED_BUFFERS=${ECP_SHARED_BUFFERS:-4GB}
cluster_start "$dir"
trap 'cluster_stop "$dir"' EXIT
cat >>"$dir/data/postgresql.conf" <<CONF
work_mem = '256MB'
max_parallel_workers_per_gather = 0
autovacuum = off
CONF
as_pg "$ECP_BINDIR/pg_ctl" -D "$dir/data" reload >/dev/null
sleep 1

# DuckDB, the peer: installed into tmp_bench/duckdb/, never into the project
duck=$dir/duckdb
exp=$dir/export
have_duckdb=0
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "DuckDB: node or npm not found, no DuckDB column"
else
    mkdir -p "$duck"
    cp tools/bench/duckdb/package.json tools/bench/duckdb/bench.mjs "$duck/"
    log "DuckDB: npm install @duckdb/node-api into $duck"
    if npm install --prefix "$duck" --no-audit --no-fund --loglevel=error >"$duck/npm.log" 2>&1 \
       && (cd "$duck" && node -e "import('@duckdb/node-api')" >>"$duck/npm.log" 2>&1); then
        have_duckdb=1
    else
        log "DuckDB: the package could not be installed ($duck/npm.log), no DuckDB column"
        tail -5 "$duck/npm.log" >&2 || true
    fi
fi

DB=ecpower_bench
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
qa() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# measure_once LABEL SIZE REP SQL: run SQL (psql input, output discarded)
# in a new session, bracketed by bench.start/bench.stop
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

# measure_warm LABEL SIZE REPS SQL: in one session, run SQL once untimed,
# then REPS timed times: a dashboard's pooled connection, whose backend has
# already touched its memory and the shared buffers it reads (a new backend
# pays a page fault for every shared-buffer page it touches first)
measure_warm() {
    local rep script
    script="SET TimeZone = 'UTC';
\\o /dev/null
$4
\\o
"
    for rep in $(seq 1 "$3"); do
        script="$script
SELECT bench.start('$1') \\g /dev/null
\\o /dev/null
$4
\\o
SELECT bench.stop('$1', $2, $rep) \\g /dev/null
"
    done
    printf '%s\n' "$script" | q
}

# measure LABEL SIZE REPS SQL: measure_once REPS times
measure() {
    local rep
    for rep in $(seq 1 "$3"); do
        measure_once "$1" "$2" "$rep" "$4"
    done
}

# peak private memory of the backend running SQL (sampled) and its VmHWM
measure_memory() {
    local size=$1 sql=$2 pid="" peak=0 hwm=0 v
    PGAPPNAME=ecp_bench_mem q -c "$sql" >/dev/null &
    local job=$!
    while [ -z "$pid" ] && kill -0 "$job" 2>/dev/null; do
        pid=$(psql -X -A -t -d postgres -c "SELECT pid FROM pg_stat_activity WHERE application_name = 'ecp_bench_mem' AND state = 'active'" 2>/dev/null | head -1)
    done
    while [ -n "$pid" ] && [ -r "/proc/$pid/status" ] && kill -0 "$job" 2>/dev/null; do
        v=$(awk '/^RssAnon:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ -n "$v" ] && [ "$v" -gt "$peak" ] && peak=$v
        v=$(awk '/^VmHWM:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo 0)
        [ -n "$v" ] && [ "$v" -gt "$hwm" ] && hwm=$v
        sleep 0.02
    done
    wait "$job"
    qa -c "INSERT INTO bench.facts VALUES ('peak_rss_anon_mb', $size, round($peak / 1024.0)), ('vm_hwm_mb', $size, round($hwm / 1024.0))"
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
SELECT bench.start('generate') \\g /dev/null
SELECT * FROM ecpower.generate_demo_store($size, 42);
SELECT bench.stop('generate', $size, 1) \\g /dev/null
VACUUM ANALYZE;
INSERT INTO bench.facts
SELECT 'orders', $size, count(*) FROM ecpower.orders UNION ALL
SELECT 'order_lines', $size, count(*) FROM ecpower.order_lines UNION ALL
SELECT 'data_mb', $size, round((pg_total_relation_size('ecpower.orders')
       + pg_total_relation_size('ecpower.order_lines')
       + pg_total_relation_size('ecpower.customers')) / 1048576.0);
\\i tools/bench/segments.sql
SELECT count(ecpower.create_segment_from_template(template, slug, params)) FROM bench.segs;
SQL

    # the journey's first day, one month before AS_OF: first, because a
    # refresh only moves forward
    log "a refresh as of $AS_OF_PREV (the journey's first day)"
    q -c "CALL ecpower.refresh('$AS_OF_PREV')" >/dev/null

    log "floor: count(*) over orders and order_lines"
    measure floor "$size" "$REPS" "SELECT count(*) FROM ecpower.orders; SELECT count(*) FROM ecpower.order_lines;"

    log "full refresh (from scratch: the order cache is reset before each run)"
    for rep in $(seq 1 "$REPS"); do
        q -c "SELECT ecpower.reset_order_cache()" >/dev/null
        measure_once refresh "$size" "$rep" "CALL ecpower.refresh('$AS_OF');"
        # a rebuild leaves the previous cache's rows dead: vacuum them, as
        # autovacuum (off in this cluster) would
        q -c "VACUUM ecpower.order_cache" >/dev/null
    done
    log "refresh from the order cache, nothing changed"
    measure refresh_cached "$size" "$REPS" "CALL ecpower.refresh('$AS_OF');"
    log "peak memory of a refresh (from scratch)"
    q -c "SELECT ecpower.reset_order_cache()" >/dev/null
    measure_memory "$size" "CALL ecpower.refresh('$AS_OF')"
    q -c "VACUUM ecpower.order_cache" >/dev/null

    log "plain-SQL baseline: RFM table + one query per segment"
    q -v as_of="$AS_OF" -v d="${AS_OF%% *}" -f tools/bench/baseline_views.sql >/dev/null
    measure baseline "$size" "$BREPS" "
DROP TABLE IF EXISTS bench.rfm_t;
CREATE TABLE bench.rfm_t AS SELECT * FROM bench.rfm;
SELECT format('SELECT count(*) FROM (%s) q', baseline) FROM bench.segs ORDER BY slug \\gexec"

    if [ "$first" = 1 ]; then
        log "checking every segment against its baseline query"
        q >/dev/null <<'SQL'
DROP TABLE IF EXISTS bench.rfm_t;
CREATE TABLE bench.rfm_t AS SELECT * FROM bench.rfm;
SELECT format($f$INSERT INTO bench.verify
  SELECT %s, 'segment', %L, (SELECT count(*) FROM ecpower.segment_members(%L)),
         (SELECT count(*) FROM (%s) q),
         (SELECT count(*) FROM ((SELECT m FROM ecpower.segment_members(%L) m EXCEPT SELECT * FROM (%s) a)
                           UNION ALL (SELECT * FROM (%s) b EXCEPT SELECT m FROM ecpower.segment_members(%L) m)) x)$f$,
              (SELECT max(size) FROM bench.results WHERE label = 'refresh'), slug, slug, baseline, slug, baseline, baseline, slug)
  FROM bench.segs ORDER BY slug \gexec
SQL
    fi

    # the report segment: closest to 100,000 members at 1M customers
    slug=$(qa -c "SELECT s.slug FROM bench.segs s ORDER BY abs((SELECT count(*) FROM ecpower.segment_members(s.slug)) - $size / 10), s.slug LIMIT 1")
    members=$(qa -c "SELECT count(*) FROM ecpower.segment_members('$slug')")
    q -c "INSERT INTO bench.facts VALUES ('report_segment', $size, '$slug ($members members)')" >/dev/null
    slugs=$(qa -c "SELECT '{' || string_agg(slug, ',' ORDER BY d, slug) || '}' FROM (
        SELECT s.slug, abs((SELECT count(*) FROM ecpower.segment_members(s.slug)) - $size / 10) AS d
          FROM bench.segs s ORDER BY 2, 1 LIMIT 5) x")
    q -c "INSERT INTO bench.facts VALUES ('compared_segments', $size, '$slugs')" >/dev/null
    q >/dev/null <<SQL
INSERT INTO bench.facts
SELECT 'order_cache_mb', $size, round(pg_total_relation_size('ecpower.order_cache') / 1048576.0, 1) UNION ALL
SELECT 'orders_lines_heap_mb', $size, round((pg_relation_size('ecpower.orders')
       + pg_relation_size('ecpower.order_lines')) / 1048576.0, 1) UNION ALL
SELECT 'order_cache_vs_heap', $size, round(pg_total_relation_size('ecpower.order_cache')::numeric
       / (pg_relation_size('ecpower.orders') + pg_relation_size('ecpower.order_lines')), 3);
SQL
    log "reports on segment $slug ($members members); compare_segments and journey on $slugs"
    q -v slug="$slug" -v as_of="$AS_OF" -v slugs="$slugs" -v jfrom="${AS_OF_PREV%% *}" \
      -v jto="${AS_OF%% *}" -f tools/bench/reports.sql >/dev/null

    log "exporting the counted orders, lines, products and memberships to $exp"
    rm -rf "$exp"
    mkdir -p "$exp"
    q >/dev/null <<SQL
\\copy (SELECT o.order_id, o.customer_id, o.ordered_at AT TIME ZONE 'UTC' AS ordered_at, (o.ordered_at AT TIME ZONE s.store_timezone)::date AS day, o.total - o.refunded AS net, o.sales_channel, o.acquisition_channel FROM ecpower.orders o, ecpower.settings s WHERE o.cancelled_at IS NULL AND o.ordered_at <= '$AS_OF') TO '$exp/orders.csv' CSV HEADER
\\copy (SELECT l.order_id, l.product_id, l.quantity FROM ecpower.order_lines l JOIN ecpower.orders o USING (order_id) WHERE o.cancelled_at IS NULL AND o.ordered_at <= '$AS_OF') TO '$exp/order_lines.csv' CSV HEADER
\\copy (SELECT product_id, title, product_type FROM ecpower.products) TO '$exp/products.csv' CSV HEADER
\\copy (SELECT customer_id FROM bench.members) TO '$exp/members.csv' CSV HEADER
\\copy (SELECT slug, customer_id FROM bench.members5) TO '$exp/members5.csv' CSV HEADER
\\copy (SELECT day, slug, customer_id FROM bench.jmembers) TO '$exp/jmembers.csv' CSV HEADER
SQL
    # the per-customer GROUP BY of a nightly refresh, in plain SQL (its
    # answer is also the check of DuckDB's)
    groupby="SELECT count(*) AS customers, sum(n) AS orders, sum(rev) AS revenue, min(f) AS first_day, max(l) AS last_day
  FROM (SELECT o.customer_id, count(*) AS n, sum(o.total - o.refunded) AS rev,
               min((o.ordered_at AT TIME ZONE s.store_timezone)::date) AS f,
               max((o.ordered_at AT TIME ZONE s.store_timezone)::date) AS l
          FROM ecpower.orders o, ecpower.settings s
         WHERE o.cancelled_at IS NULL AND o.ordered_at <= '$AS_OF' GROUP BY o.customer_id) g"
    qa -c "COPY ($groupby) TO STDOUT (FORMAT csv, HEADER)" >"$exp/ours_customer_groupby.csv"
    measure customer_groupby_plain "$size" "$REPS" "$groupby;"
    if [ "$have_duckdb" = 1 ]; then
        log "DuckDB: the same reports over the exported rows"
        # ecpower's answers, which DuckDB's are checked against
        for label in $(qa -c "SELECT label FROM bench.reports ORDER BY label"); do
            ours=$(qa -c "SELECT ours FROM bench.reports WHERE label = '$label'")
            qa -c "COPY ($ours) TO STDOUT (FORMAT csv, HEADER)" >"$exp/ours_$label.csv" 2>/dev/null \
                || rm -f "$exp/ours_$label.csv"
        done
        if node "$duck/bench.mjs" dir="$exp" size="$size" reps="$REPS" as_of="${AS_OF%% *}" \
                jfrom="${AS_OF_PREV%% *}" jto="${AS_OF%% *}" slugs="$slugs" 2>&1 | tee "$duck/run_$size.log" >&2 \
           && [ -s "$exp/duckdb_results.csv" ]; then
            q >/dev/null <<SQL
\\copy bench.results (label, size, rep, wall_s, cpu_s) FROM '$exp/duckdb_results.csv' CSV
\\copy bench.verify (size, what, name, ours, plain, mismatches) FROM '$exp/duckdb_verify.csv' CSV
SQL
        else
            log "DuckDB: the run failed ($duck/run_$size.log), no DuckDB column at $size"
        fi
    fi
    for label in $(qa -c "SELECT label FROM bench.reports ORDER BY label"); do
        case $label in
            kpis_group_by) fn=kpis ;;
            feature_report_first) fn=feature_report ;;
            distribution_orders) fn=distribution ;;
            acquisition_report_store) fn=acquisition_report ;;
            next_purchases_store) fn=next_purchases ;;
            *) fn=$label ;;
        esac
        if [ "$(qa -c "SELECT count(*) FROM pg_proc WHERE pronamespace = 'ecpower'::regnamespace AND proname = '$fn'")" = 0 ]; then
            log "skipping $label: ecpower.$fn is not installed"
            continue
        fi
        ours=$(qa -c "SELECT ours FROM bench.reports WHERE label = '$label'")
        plain=$(qa -c "SELECT plain FROM bench.reports WHERE label = '$label'")
        measure "$label" "$size" "$REPS" "$ours;"
        measure "${label}_plain" "$size" "$REPS" "$plain;"
        measure_warm "${label}_warm" "$size" "$REPS" "$ours;"
        measure_warm "${label}_warm_plain" "$size" "$REPS" "$plain;"
        if [ "$first" = 1 ]; then
            q >/dev/null <<SQL
INSERT INTO bench.verify
SELECT $size, 'report', '$label', (SELECT count(*) FROM ($ours) a), (SELECT count(*) FROM ($plain) b),
       (SELECT count(*) FROM ((($ours) EXCEPT ($plain)) UNION ALL (($plain) EXCEPT ($ours))) x);
SQL
        fi
    done
    log "predictions: fit_predictions(model => 'auto') and each model's fit"
    measure predict_auto "$size" "$REPS" "SELECT count(*) FROM ecpower.fit_predictions('$AS_OF', model => 'auto');"
    for m in bgnbd mbgnbd paretonbd; do
        measure "fit_$m" "$size" "$REPS" "SELECT count(*) FROM ecpower.fit_models('$AS_OF', 'day', 0, false, '$m');"
    done
    q >/dev/null <<SQL
INSERT INTO bench.facts
SELECT 'predict_auto_selected', $size, (SELECT model FROM ecpower.model_fits WHERE selected ORDER BY fit_id DESC LIMIT 1)
UNION ALL
SELECT 'predict_distinct_triples', $size, (SELECT count(*) FROM (SELECT DISTINCT x, t_x, t FROM ecpower.customer_summary('$AS_OF')) d)::text;
SQL

    # last, because a refresh only moves forward: the checks and reports
    # above answer as of AS_OF; each repetition adds the next day, refreshes
    # it, takes it out again and re-runs that day, so that every nightly
    # run reads the same changes from the cache
    log "nightly refresh after one more day of orders"
    for rep in $(seq 1 "$REPS"); do
        q -v day="$NEXT_DAY" -f tools/bench/nightly.sql >/dev/null
        measure_once nightly "$size" "$rep" "CALL ecpower.refresh('$AS_OF_NEXT');"
        q -f tools/bench/nightly_undo.sql >/dev/null
        q -c "VACUUM ecpower.orders, ecpower.order_lines" -c "CALL ecpower.refresh('$AS_OF_NEXT')" >/dev/null
    done
    q -c "INSERT INTO bench.facts SELECT 'nightly_new_orders', $size, count(*) FROM ecpower.orders WHERE order_id % 333 = 7" >/dev/null

    # history before installation (docs/backfill.md): the year before the
    # last refresh, every day evaluated as an end-of-day refresh would
    bf_days=${ECP_BENCH_BACKFILL_DAYS:-365}
    bf_to=$(qa -c "SELECT as_of_date - 1 FROM ecpower.refresh_runs r JOIN ecpower.refresh_state s ON s.current_run_id = r.run_id")
    bf_from=$(qa -c "SELECT date '$bf_to' - $bf_days + 1")
    log "backfill of $bf_days days ($bf_from to $bf_to)"
    for rep in $(seq 1 "${ECP_BENCH_BACKFILL_REPS:-$REPS}"); do
        measure_once backfill "$size" "$rep" "CALL ecpower.backfill('$bf_from', '$bf_to');"
    done
    q -c "INSERT INTO bench.facts VALUES ('backfill_days', $size, '$bf_days')" >/dev/null
    first=0
done

# the table of medians and ratios (kept in tmp_bench/summary.txt)
q -f tools/bench/summary.sql | tee "$dir/summary.txt"
