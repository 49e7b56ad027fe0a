#!/usr/bin/env bash
#
# tools/load.sh: report clients against a refresh loop (docs/security.md
# "Load").  Not part of the test run.
#
# Builds and stages the extension, starts its own cluster in tmp_load/, and
# for each store size generates the demo store, creates one segment per
# template (tools/bench/segments.sql), refreshes two days a month apart, and
# then for ECP_LOAD_SECONDS (default 60) runs at the same time:
#
#   - ECP_LOAD_CLIENTS (default 8) pgbench clients, logged in as a member of
#     ecpower_reader, each running one report after another, picked at
#     random with equal weights: segment_kpis (store and segment),
#     feature_report, distribution, cohorts, journey, compare_segments,
#     segment_history and segment_members (tools/load/*.sql);
#   - a loop of CALL ecpower.refresh() as a member of ecpower_refresher,
#     alternating the two days.
#
# It prints, per size: the machine, reports run, failed (aborted clients
# and their error), latency p50 / p95 / p99 / max overall and per report
# (from pgbench's per-transaction log), and refreshes run, failed and their
# p50 / max time.  Results also go to tmp_load/load_SIZE.txt.
#
# Environment:
#   ECP_LOAD_SIZES     store sizes in customers (default "20000 1000000")
#   ECP_LOAD_SECONDS   length of each run (default 60)
#   ECP_LOAD_CLIENTS   report clients (default 8)
#   ECP_PORT           port of the load cluster (default 55590)
set -eu
ECP_PORT=${ECP_PORT:-55590}
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"

SIZES=${ECP_LOAD_SIZES:-20000 1000000}
SECONDS_RUN=${ECP_LOAD_SECONDS:-60}
CLIENTS=${ECP_LOAD_CLIENTS:-8}
AS_OF='2025-12-31 23:59:59+00'     # the end of the demo store's history
AS_OF_EARLIER='2025-11-30 23:59:59+00'

install_deps
build_stage
dir=$ECP_ROOT/tmp_load
cluster_start "$dir"
trap 'cluster_stop "$dir"' EXIT
cat >>"$dir/data/postgresql.conf" <<CONF
max_connections = 50
CONF
as_pg "$ECP_BINDIR/pg_ctl" -D "$dir/data" restart -w -l "$dir/server.log" >/dev/null
export PGHOST=127.0.0.1 PGPORT=$ECP_PORT PGUSER=postgres

DB=ecpower_load
q() { psql -X -q -v ON_ERROR_STOP=1 -d "$DB" "$@"; }
qa() { psql -X -q -A -t -v ON_ERROR_STOP=1 -d "$DB" "$@"; }

# p-th percentile (0-100) of the numbers on stdin, nearest rank
pct() {
    sort -n | awk -v p="$1" '{ v[NR] = $1 } END {
        if (NR == 0) { print "-"; exit }
        r = int(p / 100 * NR + 0.999999); if (r < 1) r = 1; if (r > NR) r = NR;
        print v[r] }'
}
ms() { awk '{ printf "%.1f\n", $1 / 1000 }'; }

machine() {
    printf 'machine: %s, %s vCPU, %s GB RAM, load average %s; PostgreSQL %s, shared_buffers %s\n' \
        "$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)" "$(nproc)" \
        "$(awk '/MemTotal/ {printf "%.0f", $2 / 1048576}' /proc/meminfo)" \
        "$(cut -d' ' -f1-3 /proc/loadavg)" \
        "$(qa -c 'SHOW server_version')" "$(qa -c 'SHOW shared_buffers')"
}

psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB" >/dev/null
psql -X -q -d postgres >/dev/null <<'SQL'
SET client_min_messages = warning;
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ecpower_reader', 'ecpower_admin', 'ecpower_refresher'] LOOP
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('CREATE ROLE %I', r);
        END IF;
    END LOOP;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecp_load_reader') THEN
        CREATE ROLE ecp_load_reader LOGIN IN ROLE ecpower_reader;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecp_load_refresher') THEN
        CREATE ROLE ecp_load_refresher LOGIN IN ROLE ecpower_refresher;
    END IF;
END $$;
SQL
q -c "CREATE EXTENSION ecpower" -f tools/bench/setup.sql >/dev/null

for size in $SIZES; do
    out=$dir/load_$size.txt
    log "store of $size customers"
    q >/dev/null <<SQL
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
CREATE EXTENSION ecpower;
SELECT ecpower.grant_roles();
SELECT * FROM ecpower.generate_demo_store($size, 42);
VACUUM ANALYZE;
\\i tools/bench/segments.sql
SELECT count(ecpower.create_segment_from_template(template, slug, params)) FROM bench.segs;
CALL ecpower.refresh('$AS_OF_EARLIER');
CALL ecpower.refresh('$AS_OF');
SQL
    nseg=$(qa -c "SELECT count(*) FROM ecpower.segments")

    log "$CLIENTS report clients and a refresh loop for $SECONDS_RUN s"
    rm -rf "$dir/pgbench_$size" && mkdir -p "$dir/pgbench_$size"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir/pgbench_$size"
    scripts=()
    for f in tools/load/*.sql; do scripts+=(-f "$ECP_ROOT/$f"); done

    # the refresh loop, in the background, one line per run: seconds status
    (
        end=$(( $(date +%s) + SECONDS_RUN ))
        i=0
        while [ "$(date +%s)" -lt "$end" ]; do
            if [ $((i % 2)) = 0 ]; then a=$AS_OF_EARLIER; else a=$AS_OF; fi
            t0=$(date +%s.%N)
            if psql -X -q -U ecp_load_refresher -d "$DB" -c "CALL ecpower.refresh('$a')" \
                   >/dev/null 2>>"$dir/refresh_$size.err"; then st=ok; else st=failed; fi
            t1=$(date +%s.%N)
            awk -v a="$t0" -v b="$t1" -v s="$st" 'BEGIN { printf "%.3f %s\n", b - a, s }' 
            i=$((i + 1))
        done
    ) >"$dir/refresh_$size.log" &
    loop=$!

    (cd "$dir/pgbench_$size" && as_pg env PATH="$PATH" PGHOST="$PGHOST" PGPORT="$PGPORT" \
        pgbench -n -U ecp_load_reader -c "$CLIENTS" -j 2 -T "$SECONDS_RUN" -l \
        -D nseg="$nseg" "${scripts[@]}" "$DB") >"$dir/pgbench_$size.out" 2>&1 || true
    wait "$loop" || true

    names=()
    for f in tools/load/*.sql; do names+=("$(basename "$f" .sql)"); done
    lat=$(cat "$dir"/pgbench_"$size"/pgbench_log.* 2>/dev/null || true)
    {
        machine
        echo "store: $size customers, $(qa -c 'SELECT count(*) FROM ecpower.orders') orders, $nseg segments"
        echo "run: $CLIENTS report clients + 1 refresh loop, $SECONDS_RUN s"
        n=$(printf '%s\n' "$lat" | grep -c . || true)
        aborted=$(grep -c 'aborted in command' "$dir/pgbench_$size.out" || true)
        echo "reports: $n run, $aborted failed (aborted clients)"
        grep -m3 'aborted in command' "$dir/pgbench_$size.out" | sed 's/^/  error: /' || true
        printf 'report latency ms: p50 %s  p95 %s  p99 %s  max %s\n' \
            "$(printf '%s\n' "$lat" | awk 'NF {print $3}' | pct 50 | ms)" \
            "$(printf '%s\n' "$lat" | awk 'NF {print $3}' | pct 95 | ms)" \
            "$(printf '%s\n' "$lat" | awk 'NF {print $3}' | pct 99 | ms)" \
            "$(printf '%s\n' "$lat" | awk 'NF {print $3}' | pct 100 | ms)"
        for k in "${!names[@]}"; do
            sel=$(printf '%s\n' "$lat" | awk -v s="$k" 'NF && $4 == s {print $3}')
            printf '  %-18s n %5s  p50 %8s  p95 %8s  p99 %8s ms\n' "${names[$k]}" \
                "$(printf '%s\n' "$sel" | grep -c . || true)" \
                "$(printf '%s\n' "$sel" | pct 50 | ms)" "$(printf '%s\n' "$sel" | pct 95 | ms)" \
                "$(printf '%s\n' "$sel" | pct 99 | ms)"
        done
        rn=$(grep -c . "$dir/refresh_$size.log" || true)
        rf=$(grep -c failed "$dir/refresh_$size.log" || true)
        printf 'refreshes: %s run, %s failed; time s: p50 %s  max %s\n' "$rn" "$rf" \
            "$(awk '{print $1}' "$dir/refresh_$size.log" | pct 50)" \
            "$(awk '{print $1}' "$dir/refresh_$size.log" | pct 100)"
        if [ -s "$dir/refresh_$size.err" ]; then sort "$dir/refresh_$size.err" | uniq -c | head -3 | sed 's/^/  error: /'; fi
        qa -c "SELECT 'refresh_runs: ' || string_agg(status || ' ' || n, ', ') FROM (SELECT status, count(*) AS n FROM ecpower.refresh_runs GROUP BY status ORDER BY status) s"
    } | tee "$out"
done
