#!/usr/bin/env bash
#
# Reconcile the Shopify importer with real admin exports (not a test: the
# files are real store data and are never committed).
#
#   bash tools/check_shopify.sh [DIR]      DIR defaults to /work/shared/data/shopify
#
# For every *orders_export*.csv in DIR (and the matching customers export, if
# any) it builds and stages the extension, starts a throwaway cluster in
# tmp_check/shopify, imports the files into a fresh database with the
# documented psql commands, imports them a second time, and prints the
# figures computed independently from the file (Python's csv module) next to
# the imported ones.  Exits non-zero when a figure differs.
set -u
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"
DATA=${1:-/work/shared/data/shopify}

install_deps || exit 1
build_stage || exit 1
dir=$ECP_ROOT/tmp_check/shopify
cluster_start "$dir" || exit 1
trap 'cluster_stop "$dir"' EXIT

# figures of one orders export (and customers export), straight from the files
file_figures() {
    python3 - "$1" "${2:-}" <<'PY'
import csv, sys
from decimal import Decimal
rows = list(csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")))
orders, first = {}, []
for r in rows:
    if r["Name"] not in orders:
        orders[r["Name"]] = r
        first.append(r)
emails = {r["Email"].strip().lower() for r in first if r["Email"].strip()}
dec = lambda s: Decimal(s or "0")
fig = {
    "rows": len(rows),
    "orders": len(first),
    "cancelled orders": sum(1 for r in first if r["Cancelled at"]),
    "total": sum(dec(r["Total"]) for r in first),
    "refunded": sum(dec(r["Refunded Amount"]) for r in first),
    "net of counted orders": sum(dec(r["Total"]) - dec(r["Refunded Amount"]) for r in first if not r["Cancelled at"]),
    "line items": sum(1 for r in rows if int(r["Lineitem quantity"]) > 0),
    "units": sum(int(r["Lineitem quantity"]) for r in rows),
    "line value": sum(int(r["Lineitem quantity"]) * dec(r["Lineitem price"]) for r in rows),
    "distinct e-mails": len(emails),
    "orders without e-mail": sum(1 for r in first if not r["Email"].strip()),
    "distinct products (sku, else name)": len({("s", r["Lineitem sku"]) if r["Lineitem sku"].strip() else ("n", r["Lineitem name"].strip()) for r in rows}),
}
if sys.argv[2]:
    cus = list(csv.DictReader(open(sys.argv[2], encoding="utf-8-sig", newline="")))
    cemails = {c["Email"].strip().lower() for c in cus if c["Email"].strip()}
    fig["customers export rows"] = len(cus)
    fig["customers export rows without e-mail or id"] = sum(
        1 for c in cus if not c["Email"].strip() and not c.get("Customer ID", "").strip())
    fig["customers (export e-mails + order e-mails + guests)"] = len(cemails | emails) + fig["orders without e-mail"]
for k, v in fig.items():
    print(f"{k}\t{v}")
PY
}

status=0
for orders in "$DATA"/*orders_export*.csv; do
    [ -e "$orders" ] || continue
    store=$(basename "$orders" | sed 's/_orders_export.*//')
    customers=$(ls "$DATA"/"$store"_customers_export*.csv 2>/dev/null | head -1)
    db="shopify_$store"
    echo
    echo "== $store: $(basename "$orders")${customers:+ + $(basename "$customers")}"
    psql -X -q -d postgres -c "CREATE DATABASE $db" || exit 1
    psql -X -q -d "$db" -c "CREATE EXTENSION ecpower" || exit 1

    # the documented commands, run twice: the second run must only update
    for pass in 1 2; do
        {
            echo '\timing on'
            if [ -n "$customers" ]; then
                echo "\\set csv \`cat '$customers'\`"
                echo "SELECT 'pass $pass' AS pass, * FROM ecpower.import_shopify_customers(:'csv');"
            fi
            echo "\\set csv \`cat '$orders'\`"
            echo "SELECT 'pass $pass' AS pass, * FROM ecpower.import_shopify_orders(:'csv');"
        } | psql -X -q -d "$db" -v ON_ERROR_STOP=1 2>&1 | grep -v '^$' | sed 's/^/    /' || status=1
    done

    file_figures "$orders" "$customers" >"$dir/$store.file.tsv"
    psql -X -q -A -t -F $'\t' -d "$db" >"$dir/$store.db.tsv" <<SQL
SELECT 'orders', count(*) FROM ecpower.orders;
SELECT 'cancelled orders', count(*) FROM ecpower.orders WHERE cancelled_at IS NOT NULL;
SELECT 'total', sum(total) FROM ecpower.orders;
SELECT 'refunded', sum(refunded) FROM ecpower.orders;
SELECT 'net of counted orders', sum(total - refunded) FROM ecpower.orders WHERE cancelled_at IS NULL;
SELECT 'line items', count(*) FROM ecpower.order_lines;
SELECT 'units', sum(quantity) FROM ecpower.order_lines;
SELECT 'line value', sum(quantity * price) FROM ecpower.order_lines;
SELECT 'distinct e-mails', count(DISTINCT c.email) FROM ecpower.orders o JOIN ecpower.customers c USING (customer_id);
SELECT 'orders without e-mail', count(*) FROM ecpower.orders o JOIN ecpower.customers c USING (customer_id) WHERE c.email IS NULL;
SELECT 'distinct products (sku, else name)', count(*) FROM ecpower.products;
SQL
    if [ -n "$customers" ]; then
        psql -X -q -A -t -F $'\t' -d "$db" >>"$dir/$store.db.tsv" <<SQL
SELECT 'customers', count(*) FROM ecpower.customers;
SQL
    fi
    printf '    %-52s %14s %14s\n' figure file imported
    while IFS=$'\t' read -r name value; do
        [ "$name" = rows ] && { printf '    %-52s %14s %14s\n' "csv rows (line items)" "$value" "-"; continue; }
        case "$name" in
            "customers export rows") printf '    %-52s %14s %14s\n' "$name" "$value" "-"; continue ;;
            "customers export rows without e-mail or id")
                printf '    %-52s %14s %14s\n' "$name (skipped)" "$value" "-"; continue ;;
            "customers (export e-mails + order e-mails + guests)") key=customers ;;
            *) key=$name ;;
        esac
        got=$(awk -F'\t' -v k="$key" '$1 == k {print $2}' "$dir/$store.db.tsv")
        mark=ok
        [ "$got" = "$value" ] || { mark=DIFFERS; status=1; }
        printf '    %-52s %14s %14s  %s\n' "$name" "$value" "$got" "$mark"
    done <"$dir/$store.file.tsv"

    # the README's walk-through: a segment, a refresh, a CSV export
    psql -X -q -d "$db" -v ON_ERROR_STOP=1 >/dev/null <<SQL || status=1
SELECT ecpower.create_segment('repeat', 'Repeat buyers', '{"orders": {}, "count": {"gte": 2}}');
UPDATE ecpower.segments SET sync_tag = 'repeat' WHERE slug = 'repeat';
SELECT max(ordered_at) AS last FROM ecpower.orders \gset
CALL ecpower.refresh(:'last');
\copy (SELECT * FROM ecpower.segment_customers('repeat')) TO '$dir/$store.repeat.csv' CSV HEADER
SQL
    exported=$(($(wc -l <"$dir/$store.repeat.csv") - 1))
    expected=$(psql -X -q -A -t -d "$db" -c "SELECT count(*) FROM (SELECT customer_id FROM ecpower.orders WHERE cancelled_at IS NULL GROUP BY 1 HAVING count(*) >= 2) x")
    feed=$(psql -X -q -A -t -d "$db" -c "SELECT count(*) FROM ecpower.pending_tag_changes(0, 100000) WHERE action = 'add'")
    mark=ok
    [ "$exported" = "$expected" ] && [ "$feed" = "$expected" ] || { mark=DIFFERS; status=1; }
    printf '    %-52s %14s %14s  %s\n' "repeat buyers (2+ counted orders): csv rows, feed adds" "$expected" "$exported, $feed" "$mark"

    if [ -n "$customers" ]; then
        # Shopify's own per-customer counters against the imported orders
        python3 - "$customers" >"$dir/$store.spent.tsv" <<'PY'
import csv, sys
for c in csv.DictReader(open(sys.argv[1], encoding="utf-8-sig", newline="")):
    if c["Email"].strip():
        print(f'{c["Email"].strip().lower()}\t{c["Total Orders"]}\t{c["Total Spent"]}')
PY
        psql -X -q -d "$db" <<SQL | sed 's/^/    /'
CREATE TEMP TABLE spent (email text, orders int, spent numeric);
\copy spent FROM '$dir/$store.spent.tsv'
CREATE TEMP VIEW mine AS
    SELECT c.email, count(o.order_id) AS orders, coalesce(sum(o.total - o.refunded), 0) AS net,
           coalesce(sum(o.total - o.refunded) FILTER (WHERE o.cancelled_at IS NULL), 0) AS net_counted
      FROM ecpower.customers c LEFT JOIN ecpower.orders o USING (customer_id)
     GROUP BY c.email;
\echo '    Total Orders and Total Spent of the customers export against the imported orders'
SELECT count(*) AS "customers in export",
       count(*) FILTER (WHERE m.orders = s.orders) AS "same order count",
       count(*) FILTER (WHERE m.net = s.spent) AS "spent = net of all orders",
       count(*) FILTER (WHERE m.net_counted = s.spent) AS "spent = net of counted orders"
  FROM spent s JOIN mine m USING (email);
\echo '    customers whose figures differ'
SELECT s.orders AS "Total Orders", m.orders, s.spent AS "Total Spent", m.net, m.net_counted
  FROM spent s JOIN mine m USING (email)
 WHERE m.orders <> s.orders OR m.net <> s.spent
 ORDER BY 1, 3;
SQL
    fi
done
echo
[ "$status" -eq 0 ] && echo "check_shopify: every figure reconciles" || echo "check_shopify: some figures differ"
exit "$status"
