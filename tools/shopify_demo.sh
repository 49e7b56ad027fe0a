#!/usr/bin/env bash
#
# The whole Shopify loop against the local Admin API stand-in
# (test/shopify_standin.py, loopback only, no internet): build, start a
# cluster and the stand-in with a generated shop, then
#
#   CALL ecpower.shopify_pull('demo_shop')     customers, products, orders
#   CALL ecpower.refresh()                     segments with sync tags
#   CALL ecpower.shopify_push('demo_shop')     tagsAdd / tagsRemove
#
# and print the tags the stand-in's customers end up with, next to each
# segment's members.  Then the shop changes (edits, refunds, cancellations,
# deletions, new orders) and the loop runs again, incrementally.  Both the
# cluster and the stand-in are stopped at the end.
#
# Environment: ECP_DEMO_CUSTOMERS (default 300), ECP_PORT (default 55432).
set -eu
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"

install_deps
build_stage
dir=$ECP_ROOT/tmp_shopify_demo
cluster_start "$dir"
token="shpat_demo_$(od -An -N8 -tx1 /dev/urandom | tr -d ' \n')"
portfile=$dir/standin.port
python3 test/shopify_standin.py --token "$token" --port-file "$portfile" \
    --customers "${ECP_DEMO_CUSTOMERS:-300}" --seed 11 >"$dir/standin.log" 2>&1 &
standin=$!
cleanup() {
    kill "$standin" 2>/dev/null || true
    as_pg "$(stage_bindir)/pg_ctl" -D "$dir/data" stop -m fast >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 100); do [ -s "$portfile" ] && break; sleep 0.1; done
base="http://127.0.0.1:$(cat "$portfile")"

psql -X -q -d postgres -c "CREATE DATABASE shopify_demo" >/dev/null
psql -X -q -v ON_ERROR_STOP=1 -d shopify_demo <<SQL
CREATE EXTENSION ecpower;
CREATE SERVER demo_shop FOREIGN DATA WRAPPER ecpower_shopify
    OPTIONS (endpoint '$base/admin/api/2025-01/graphql.json', poll_interval '0.1');
SET log_statement = 'none';
CREATE USER MAPPING FOR CURRENT_USER SERVER demo_shop OPTIONS (access_token '$token');
SQL

run_loop() {
    psql -X -v ON_ERROR_STOP=1 -d shopify_demo <<'SQL'
\timing on
CALL ecpower.shopify_pull('demo_shop');
CALL ecpower.refresh();
CALL ecpower.shopify_push('demo_shop');
\timing off
SELECT sync_id, direction, status, rows, finished - started AS took, error
  FROM ecpower.shopify_syncs ORDER BY sync_id DESC LIMIT 2;
SELECT s.slug, s.sync_tag, (SELECT count(*) FROM ecpower.segment_members(s.slug)) AS members
  FROM ecpower.segments s ORDER BY s.slug;
SQL
    echo "Tags of the stand-in's customers (first 15 with an ecp- tag), and per tag how many:"
    curl -s "$base/_control/shop" | python3 -c '
import json, sys, collections
shop = json.load(sys.stdin)["shop"]
tagged = [c for c in shop["customers"] if any(t.startswith("ecp-") for t in c["tags"])]
for c in tagged[:15]:
    print("  customer %d  %-28s %s" % (c["id"], c["email"], ", ".join(c["tags"])))
count = collections.Counter(t for c in shop["customers"] for t in c["tags"] if t.startswith("ecp-"))
print("  " + ", ".join("%s: %d customers" % kv for kv in sorted(count.items())))'
    psql -X -q -At -d shopify_demo -c "SELECT 'members in ecpower: ' || string_agg(s.sync_tag || ': ' || (SELECT count(*) FROM ecpower.segment_members(s.slug) m WHERE m < 4611686018427387904), ', ' ORDER BY s.sync_tag) || ' (Shopify customers only; guests have no Shopify customer to tag)' FROM ecpower.segments s WHERE s.sync_tag IS NOT NULL"
}

psql -X -q -v ON_ERROR_STOP=1 -d shopify_demo <<'SQL'
SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
SELECT ecpower.create_segment('big', 'Big spenders', '{"metric": "total_spent", "gte": 300}');
UPDATE ecpower.segments SET sync_tag = 'ecp-' || slug;
SQL
echo "== first night: full pull, refresh, push"
run_loop
echo
echo "== the shop changes: $(curl -s -X POST -d '{"action":"churn","seed":5,"n":60}' "$base/_control")"
echo "== next night: incremental pull, refresh, push"
run_loop
