#!/usr/bin/env bash
#
# Scale-out with plain PostgreSQL (docs/performance.md "Scale-out"):
# a coordinator and ECP_SHARDS (default 2) shard servers on loopback, each a
# throwaway cluster of the staged installation with ecpower installed.
# Orders are hash-partitioned by customer_id into foreign tables
# (postgres_fdw, extensions 'ecpower', async_capable), and with
# enable_partitionwise_aggregate the per-customer aggregation runs on the
# shards: EXPLAIN VERBOSE shows "Remote SQL: ... GROUP BY" per shard.
# Results are compared with the same queries over the single-node tables
# of the coordinator (EXCEPT both ways: 0 rows means identical).
#
# Environment: ECP_SHARD_CUSTOMERS (default 20000), ECP_SHARDS (default 2),
# ECP_PORT (coordinator port, default 55582; shards take the next ones).
# The clusters are stopped at the end unless ECP_SHARD_KEEP=1.
set -eu
ECP_PORT=${ECP_PORT:-55582}
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"

NSHARDS=${ECP_SHARDS:-2}
CUSTOMERS=${ECP_SHARD_CUSTOMERS:-20000}
install_deps
build_stage

base_port=$ECP_PORT
dirs=()
ports=()
stop_all() {
    [ "${ECP_SHARD_KEEP:-0}" = 1 ] && return 0
    for d in "${dirs[@]}"; do cluster_stop "$d"; done
}
trap stop_all EXIT
for i in $(seq 0 "$NSHARDS"); do
    ECP_PORT=$((base_port + i))
    d=$ECP_ROOT/tmp_shard/node$i
    ECP_SHARED_BUFFERS=256MB cluster_start "$d"
    dirs+=("$d")
    ports+=("$ECP_PORT")
    psql -X -q -d postgres -c "CREATE DATABASE shop" >/dev/null
    psql -X -q -d shop -c "CREATE EXTENSION ecpower" \
        -c "UPDATE ecpower.settings SET store_timezone = 'America/New_York'" >/dev/null
done
coord=${ports[0]}
export PGPORT=$coord

# each shard: a plain table of its customers' counted orders
for i in $(seq 1 "$NSHARDS"); do
    psql -X -q -p "${ports[$i]}" -d shop -c "
CREATE TABLE public.orders_shard (customer_id bigint NOT NULL, order_id bigint NOT NULL,
    ordered_at timestamptz NOT NULL, sales_channel text, net numeric(14,2) NOT NULL)" >/dev/null
done

log "coordinator: demo store of $CUSTOMERS customers, orders hash-partitioned over $NSHARDS shards"
{
cat <<SQL
\set ON_ERROR_STOP 1
SET client_min_messages = warning;
SELECT * FROM ecpower.generate_demo_store($CUSTOMERS, 42);
CREATE EXTENSION postgres_fdw;
-- the single-node reference: counted orders as of the end of the history
CREATE TABLE public.orders_local AS
SELECT customer_id, order_id, ordered_at, sales_channel, total - refunded AS net
  FROM ecpower.orders WHERE cancelled_at IS NULL;
ANALYZE public.orders_local;
CREATE TABLE public.orders_sharded (customer_id bigint NOT NULL, order_id bigint NOT NULL,
    ordered_at timestamptz NOT NULL, sales_channel text, net numeric(14,2) NOT NULL)
    PARTITION BY HASH (customer_id);
SQL
for i in $(seq 1 "$NSHARDS"); do
cat <<SQL
CREATE SERVER shard$i FOREIGN DATA WRAPPER postgres_fdw
    OPTIONS (host '127.0.0.1', port '${ports[$i]}', dbname 'shop',
             extensions 'ecpower', async_capable 'true', fetch_size '10000', batch_size '1000');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard$i OPTIONS (user 'postgres');
CREATE FOREIGN TABLE public.orders_p$i PARTITION OF public.orders_sharded
    FOR VALUES WITH (MODULUS $NSHARDS, REMAINDER $((i - 1)))
    SERVER shard$i OPTIONS (schema_name 'public', table_name 'orders_shard');
SQL
done
cat <<SQL
INSERT INTO public.orders_sharded SELECT * FROM public.orders_local;
SQL
} | psql -X -q -d shop >/dev/null
for i in $(seq 1 "$NSHARDS"); do
    psql -X -q -p "${ports[$i]}" -d shop -c "ANALYZE public.orders_shard" >/dev/null
done
psql -X -q -d shop -c "ANALYZE public.orders_sharded" >/dev/null

psql -X -d shop <<'SQL'
\set ON_ERROR_STOP 1
\pset footer off
SET enable_partitionwise_aggregate = on;
SET enable_partitionwise_join = on;
SET max_parallel_workers_per_gather = 0;

\echo '== rows per shard'
SELECT tableoid::regclass AS partition, count(*) AS orders, count(DISTINCT customer_id) AS customers
  FROM public.orders_sharded GROUP BY 1 ORDER BY 1;

\echo
\echo '== 1. per-customer profile (count, sum, first and last order): GROUP BY the partition key runs on the shards'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT customer_id, count(*), sum(net), min(ordered_at), max(ordered_at)
  FROM public.orders_sharded GROUP BY customer_id;

\echo '== 2. per-customer KPIs with the ecpower aggregate: shipped because it belongs to extension ecpower'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT customer_id, ecpower.kpis(customer_id, ordered_at, net)
  FROM public.orders_sharded GROUP BY customer_id;

\echo '== 3. per-customer step on the shards, segment step on the coordinator (customers with 2+ orders, by revenue band)'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT width_bucket(p.revenue, ARRAY[0, 50, 100, 200, 500]::numeric[]) AS band, count(*) AS customers,
       sum(p.revenue) AS revenue
  FROM (SELECT customer_id, count(*) AS n, sum(net) AS revenue
          FROM public.orders_sharded GROUP BY customer_id) p
 WHERE p.n >= 2 GROUP BY 1;

\echo '== 4. KPIs by sales channel (not the partition key): rows come to the coordinator, which aggregates'
EXPLAIN (VERBOSE, COSTS OFF)
SELECT sales_channel, ecpower.kpis(customer_id, ordered_at, net)
  FROM public.orders_sharded GROUP BY sales_channel;

\echo
\echo '== identical to a single node (mismatching rows; 0 means identical)'
SELECT 'per-customer profile' AS query, count(*) AS mismatches FROM (
  (SELECT customer_id, count(*), sum(net), min(ordered_at), max(ordered_at) FROM public.orders_sharded GROUP BY 1
   EXCEPT SELECT customer_id, count(*), sum(net), min(ordered_at), max(ordered_at) FROM public.orders_local GROUP BY 1)
  UNION ALL
  (SELECT customer_id, count(*), sum(net), min(ordered_at), max(ordered_at) FROM public.orders_local GROUP BY 1
   EXCEPT SELECT customer_id, count(*), sum(net), min(ordered_at), max(ordered_at) FROM public.orders_sharded GROUP BY 1)) x
UNION ALL
SELECT 'per-customer ecpower.kpis', count(*) FROM (
  (SELECT customer_id, ecpower.kpis(customer_id, ordered_at, net)::text FROM public.orders_sharded GROUP BY 1
   EXCEPT SELECT customer_id, ecpower.kpis(customer_id, ordered_at, net)::text FROM public.orders_local GROUP BY 1)
  UNION ALL
  (SELECT customer_id, ecpower.kpis(customer_id, ordered_at, net)::text FROM public.orders_local GROUP BY 1
   EXCEPT SELECT customer_id, ecpower.kpis(customer_id, ordered_at, net)::text FROM public.orders_sharded GROUP BY 1)) x
UNION ALL
SELECT 'ecpower.kpis by channel', count(*) FROM (
  (SELECT sales_channel, ecpower.kpis(customer_id, ordered_at, net)::text FROM public.orders_sharded GROUP BY 1
   EXCEPT SELECT sales_channel, ecpower.kpis(customer_id, ordered_at, net)::text FROM public.orders_local GROUP BY 1)
  UNION ALL
  (SELECT sales_channel, ecpower.kpis(customer_id, ordered_at, net)::text FROM public.orders_local GROUP BY 1
   EXCEPT SELECT sales_channel, ecpower.kpis(customer_id, ordered_at, net)::text FROM public.orders_sharded GROUP BY 1)) x;

\echo '== timings: sharded (per-customer step on the shards, concurrently) and single node'
\timing on
SELECT count(*), sum(n) FROM (SELECT customer_id, count(*) AS n FROM public.orders_sharded GROUP BY 1) p;
SELECT count(*), sum(n) FROM (SELECT customer_id, count(*) AS n FROM public.orders_local GROUP BY 1) p;
\timing off
SQL
