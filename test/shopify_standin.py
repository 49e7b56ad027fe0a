#!/usr/bin/env python3
"""A local stand-in for the Shopify Admin GraphQL API (version 2025-01), for
the tests and tools/shopify_demo.sh.  Loopback only.

It answers the requests ecpower sends, in the shapes Shopify documents:

  bulkOperationRunQuery(query:)  -> bulkOperation {id status} userErrors
  node(id:) ... on BulkOperation -> status CREATED, RUNNING, then COMPLETED
                                    with url (null when nothing matched) or
                                    FAILED with errorCode and partialDataUrl
  currentBulkOperation, bulkOperationCancel(id:)
  tagsAdd / tagsRemove(id:, tags:) (aliased, run in document order)
                                 -> node {id} userErrors {field message}
  GET /bulk/N.jsonl              -> JSONL, nested line items with __parentId

Every GraphQL answer carries extensions.cost.throttleStatus of a leaky
bucket (maximumAvailable, currentlyAvailable, restoreRate); a request
costing more than is available gets a THROTTLED error.

Control (tests only, no token): POST /_control with a JSON body
  {"action": "generate", "customers": N, "seed": S}   a fresh shop
  {"action": "churn", "seed": S, "n": N}              edits, refunds,
        cancellations, deletions, new orders and customers, tag edits
  {"action": "faults", "graphql": [...], "download": [...], "bulk": [...]}
        queue faults for the next requests: "throttled", "429", "500",
        "401", "malformed", "wrongtype", "truncated", "stall:SECONDS";
        bulk: "FAILED:CODE" (next bulk operation fails with partial data)
  {"action": "stall", "seconds": S}                   every request waits
  {"action": "set_tags", "id": ID, "tags": [...]}
  {"action": "delete_customer", "id": ID}
GET /_control/shop returns the shop (plain JSON) and the request counters.
Requests in absolute form (through an HTTP proxy) are served too: the
stand-in can be its own proxy.
"""
import argparse
import json
import random
import re
import ssl
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.RLock()
SHOP = {"customers": [], "products": [], "orders": []}
STATE = {
    "clock": 0,            # logical minutes since 2025-06-01T00:00:00Z
    "faults": {"graphql": [], "download": [], "bulk": []},
    "stall": 0.0,
    "ops": [],             # bulk operations
    "files": {},
    "counts": {"graphql": 0, "throttled": 0, "mutations": 0, "downloads": 0, "unauthorized": 0,
               "proxied": 0},
    "tokens_seen_in_body": 0,
    "applied": [],         # tag mutations applied: [customer id, action, tag]
}
ARGS = None
BUCKET = {"available": 0.0, "at": time.time()}


def ts(minutes):
    base = 1748736000  # 2025-06-01T00:00:00Z
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(base + minutes * 60))


def tick():
    STATE["clock"] += 1
    return ts(STATE["clock"])


def money(cents, currency="USD"):
    return {"shopMoney": {"amount": "%d.%02d" % divmod(cents, 100), "currencyCode": currency}}


def generate(n, seed):
    rnd = random.Random(seed)
    STATE["clock"] = 0
    customers, products, orders = [], [], []
    for p in range(1, 13):
        products.append({"id": 8000000000 + p, "title": "Product %d" % p,
                         "productType": rnd.choice(["Tea", "Coffee", "Gear", ""]),
                         "vendor": rnd.choice(["Acme", "Zen", ""]), "updatedAt": tick()})
    oid = 5000000000
    for c in range(1, n + 1):
        cid = 7000000000 + c
        customers.append({
            "id": cid, "email": "Customer%d@Example.com" % c, "createdAt": tick(),
            "updatedAt": ts(STATE["clock"]),
            "tags": rnd.sample(["vip", "wholesale", "newsletter", "ja"], rnd.randint(0, 2)),
            "marketingState": rnd.choice(["SUBSCRIBED", "NOT_SUBSCRIBED", "UNSUBSCRIBED", None]),
            "address": rnd.choice([None, {"city": "Osaka", "provinceCode": "JP-27", "countryCode": "JP"},
                                   {"city": "Austin", "provinceCode": "TX", "countryCode": "US"}]),
        })
        for _ in range(rnd.randint(0, 4)):
            oid += 1
            orders.append(new_order(rnd, oid, cid, customers[-1]["email"], products))
    # guest orders: by e-mail only, and with neither customer nor e-mail
    for g in range(3):
        oid += 1
        orders.append(new_order(rnd, oid, None, "guest%d@example.com" % g if g < 2 else None, products))
    SHOP["customers"], SHOP["products"], SHOP["orders"] = customers, products, orders


def new_order(rnd, oid, cid, email, products):
    lines = []
    for i in range(rnd.randint(1, 3)):
        prod = rnd.choice(products + [None])
        lines.append({
            "id": oid * 10 + i, "sku": ("SKU-%d" % prod["id"]) if prod and rnd.random() < 0.8 else None,
            "quantity": rnd.randint(1, 3), "name": prod["title"] if prod else "Custom item",
            "price": rnd.randint(300, 9000), "sellingPlanId": (900 + i) if rnd.random() < 0.15 else None,
            "variantId": (prod["id"] * 10 + 1) if prod else None,
            "unitCost": rnd.choice([None, rnd.randint(100, 2000)]) if prod else None,
            "productId": prod["id"] if prod else None,
        })
    total = sum(l["price"] * l["quantity"] for l in lines) + rnd.choice([0, 500, 800])
    created = tick()
    return {
        "id": oid, "name": "#%d" % (oid - 5000000000 + 1000), "email": email,
        "createdAt": created, "updatedAt": created, "cancelledAt": None,
        "tags": rnd.sample(["gift", "b2b", "priority"], rnd.randint(0, 1)),
        "discountCodes": rnd.sample(["WELCOME10", "BF2025"], rnd.randint(0, 1)),
        "sourceName": rnd.choice(["web", "pos", "shopify_draft_order"]),
        "total": total, "refunded": 0, "currency": "USD", "customerId": cid,
        "billing": rnd.choice([None, {"city": "Kyoto", "provinceCode": "JP-26", "countryCode": "JP"}]),
        "visit": rnd.choice([None, {"source": rnd.choice(["google", "instagram", "email"]),
                                    "referrerUrl": "https://www.google.com/", "landingPage": "https://shop.example/?utm_source=g",
                                    "utm": rnd.choice([None, {"source": "google", "medium": "cpc", "campaign": "bf2025"}])}]),
        "lines": lines,
    }


def churn(seed, n):
    rnd = random.Random(seed)
    done = {"edit": 0, "refund": 0, "cancel": 0, "delete": 0, "new_order": 0, "new_customer": 0, "tags": 0, "remove_line": 0}
    for _ in range(n):
        kind = rnd.choice(list(done))
        orders = [o for o in SHOP["orders"] if o["customerId"] is not None]
        if kind == "edit" and orders:
            o = rnd.choice(orders)
            o["lines"][0]["quantity"] += 1
            o["total"] += o["lines"][0]["price"]
            o["tags"] = sorted(set(o["tags"] + ["edited"]))
            o["updatedAt"] = tick()
        elif kind == "remove_line":
            multi = [o for o in orders if len(o["lines"]) > 1]
            if not multi:
                continue
            o = rnd.choice(multi)
            gone = o["lines"].pop()
            o["total"] -= gone["price"] * gone["quantity"]
            o["updatedAt"] = tick()
        elif kind == "refund" and orders:
            o = rnd.choice(orders)
            o["refunded"] = min(o["total"], o["refunded"] + 500)
            o["updatedAt"] = tick()
        elif kind == "cancel" and orders:
            o = rnd.choice(orders)
            if o["cancelledAt"] is None:
                o["cancelledAt"] = tick()
                o["updatedAt"] = ts(STATE["clock"])
        elif kind == "delete" and orders:
            SHOP["orders"].remove(rnd.choice(orders))
        elif kind == "new_order":
            c = rnd.choice(SHOP["customers"])
            oid = max(o["id"] for o in SHOP["orders"]) + 1 if SHOP["orders"] else 5000000001
            SHOP["orders"].append(new_order(rnd, oid, c["id"], c["email"], SHOP["products"]))
        elif kind == "new_customer":
            cid = max(c["id"] for c in SHOP["customers"]) + 1
            SHOP["customers"].append({"id": cid, "email": "new%d@example.com" % cid, "createdAt": tick(),
                                      "updatedAt": ts(STATE["clock"]), "tags": [], "marketingState": "SUBSCRIBED",
                                      "address": None})
        elif kind == "tags":
            c = rnd.choice(SHOP["customers"])
            c["tags"] = sorted(set(c["tags"]) ^ {"churned"})
            c["updatedAt"] = tick()
        else:
            continue
        done[kind] += 1
    return done


# -- GraphQL -------------------------------------------------------------

def throttle_status():
    now = time.time()
    b = BUCKET
    b["available"] = min(ARGS.bucket, b["available"] + (now - b["at"]) * ARGS.restore)
    b["at"] = now
    return {"maximumAvailable": float(ARGS.bucket), "currentlyAvailable": int(b["available"]),
            "restoreRate": float(ARGS.restore)}


def cost_ext(requested, actual):
    return {"cost": {"requestedQueryCost": requested, "actualQueryCost": actual,
                     "throttleStatus": throttle_status()}}


def customer_json(c):
    return {"id": "gid://shopify/Customer/%d" % c["id"], "email": c["email"], "createdAt": c["createdAt"],
            "updatedAt": c["updatedAt"], "tags": c["tags"],
            "emailMarketingConsent": {"marketingState": c["marketingState"]} if c["marketingState"] else None,
            "defaultAddress": {"city": c["address"]["city"], "provinceCode": c["address"]["provinceCode"],
                               "countryCodeV2": c["address"]["countryCode"]} if c["address"] else None}


def order_lines_json(o):
    root = {"id": "gid://shopify/Order/%d" % o["id"], "name": o["name"], "email": o["email"],
            "createdAt": o["createdAt"], "updatedAt": o["updatedAt"], "cancelledAt": o["cancelledAt"],
            "tags": o["tags"], "discountCodes": o["discountCodes"], "sourceName": o["sourceName"],
            "totalPriceSet": money(o["total"], o["currency"]), "totalRefundedSet": money(o["refunded"], o["currency"]),
            "customer": {"id": "gid://shopify/Customer/%d" % o["customerId"]} if o["customerId"] else None,
            "billingAddress": {"city": o["billing"]["city"], "provinceCode": o["billing"]["provinceCode"],
                               "countryCodeV2": o["billing"]["countryCode"]} if o["billing"] else None,
            "customerJourneySummary": {"firstVisit": None if o["visit"] is None else {
                "source": o["visit"]["source"], "referrerUrl": o["visit"]["referrerUrl"],
                "landingPage": o["visit"]["landingPage"],
                "utmParameters": o["visit"]["utm"]}}}
    out = [root]
    prods = {p["id"]: p for p in SHOP["products"]}
    for l in o["lines"]:
        p = prods.get(l["productId"])
        out.append({"id": "gid://shopify/LineItem/%d" % l["id"], "sku": l["sku"], "quantity": l["quantity"],
                    "name": l["name"], "originalUnitPriceSet": money(l["price"], o["currency"]),
                    "sellingPlan": {"sellingPlanId": "gid://shopify/SellingPlan/%d" % l["sellingPlanId"]} if l["sellingPlanId"] else None,
                    "variant": None if l["variantId"] is None else {
                        "id": "gid://shopify/ProductVariant/%d" % l["variantId"],
                        "inventoryItem": {"unitCost": None if l["unitCost"] is None else
                                          {"amount": "%d.%02d" % divmod(l["unitCost"], 100), "currencyCode": "USD"}}},
                    "product": None if p is None else {"id": "gid://shopify/Product/%d" % p["id"], "title": p["title"],
                                                      "productType": p["productType"], "vendor": p["vendor"]},
                    "__parentId": "gid://shopify/Order/%d" % o["id"]})
    return out


def bulk_result(query):
    m = re.search(r"\{\s*(customers|products|orders)\s*(\(query:\s*\"updated_at:>='([^']+)'\"\))?\s*\{", query)
    if not m:
        raise ValueError("unsupported bulk query")
    resource, since = m.group(1), m.group(3)
    keep = (lambda x: x["updatedAt"] >= since) if since else (lambda x: True)
    rows = []
    if resource == "customers":
        rows = [customer_json(c) for c in SHOP["customers"] if keep(c)]
    elif resource == "products":
        rows = [{"id": "gid://shopify/Product/%d" % p["id"], "title": p["title"], "productType": p["productType"],
                 "vendor": p["vendor"], "updatedAt": p["updatedAt"]} for p in SHOP["products"] if keep(p)]
    elif re.search(r"orders\s*\{\s*edges\s*\{\s*node\s*\{\s*id\s*\}", query):
        rows = [{"id": "gid://shopify/Order/%d" % o["id"]} for o in SHOP["orders"]]
    else:
        for o in SHOP["orders"]:
            if keep(o):
                rows.extend(order_lines_json(o))
    return rows


def handle_graphql(doc, variables):
    q = doc
    if "bulkOperationRunQuery" in q:
        running = [op for op in STATE["ops"] if op["status"] in ("CREATED", "RUNNING")]
        if running:
            return {"data": {"bulkOperationRunQuery": {"bulkOperation": None, "userErrors": [
                {"field": None, "message": "A bulk query operation for this app and shop is already in progress: %s." % running[0]["id"]}]}}}, 10
        n = len(STATE["ops"]) + 1
        rows = bulk_result(variables["query"])
        op = {"id": "gid://shopify/BulkOperation/%d" % n, "n": n, "status": "CREATED", "polls": 0,
              "rows": rows, "errorCode": None, "query": variables["query"]}
        fault = STATE["faults"]["bulk"].pop(0) if STATE["faults"]["bulk"] else None
        if fault and fault.startswith("FAILED:"):
            op["fail"] = fault.split(":", 1)[1]
        STATE["ops"].append(op)
        return {"data": {"bulkOperationRunQuery": {"bulkOperation": {"id": op["id"], "status": "CREATED"},
                                                   "userErrors": []}}}, 10
    if "currentBulkOperation" in q:
        op = STATE["ops"][-1] if STATE["ops"] else None
        return {"data": {"currentBulkOperation": None if op is None else {"id": op["id"], "status": op["status"]}}}, 1
    if "bulkOperationCancel" in q:
        op = next(o for o in STATE["ops"] if o["id"] == variables["id"])
        op["status"] = "CANCELED"
        return {"data": {"bulkOperationCancel": {"bulkOperation": {"id": op["id"], "status": "CANCELING"},
                                                 "userErrors": []}}}, 10
    if "node(id:" in q:
        op = next((o for o in STATE["ops"] if o["id"] == variables["id"]), None)
        if op is None:
            return {"data": {"node": None}}, 1
        op["polls"] += 1
        if op["status"] == "CREATED":
            op["status"] = "RUNNING"
        elif op["status"] == "RUNNING" and op["polls"] >= ARGS.polls:
            if "fail" in op:
                op["status"] = "FAILED"
                op["errorCode"] = op["fail"]
            else:
                op["status"] = "COMPLETED"
            if op["rows"]:
                STATE["files"][op["n"]] = "".join(json.dumps(r) + "\n" for r in op["rows"])
        url = None
        partial = None
        if op["status"] == "COMPLETED" and op["rows"]:
            url = "%s/bulk/%d.jsonl" % (ARGS.base, op["n"])
        if op["status"] == "FAILED" and op["rows"]:
            partial = "%s/bulk/%d.jsonl" % (ARGS.base, op["n"])
        return {"data": {"node": {"id": op["id"], "status": op["status"], "errorCode": op["errorCode"],
                                  "objectCount": str(len(op["rows"])) if op["status"] != "CREATED" else "0",
                                  "url": url, "partialDataUrl": partial}}}, 1
    if re.search(r"\{\s*shop\s*\{\s*id\s*\}\s*\}", q):
        return {"data": {"shop": {"id": "gid://shopify/Shop/1"}}}, 1
    if "tagsAdd" in q or "tagsRemove" in q:
        calls = re.findall(r'(\w+):\s*(tagsAdd|tagsRemove)\(id:\s*"([^"]+)",\s*tags:\s*\[((?:"(?:[^"\\]|\\.)*"\s*,?\s*)*)\]\)', q)
        cost = 10 * len(calls)
        status = throttle_status()
        if cost > status["currentlyAvailable"]:
            STATE["counts"]["throttled"] += 1
            return {"errors": [{"message": "Throttled", "extensions": {
                "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}]}, -cost
        data = {}
        custs = {c["id"]: c for c in SHOP["customers"]}
        for alias, op, gid, tags_src in calls:
            tags = json.loads("[" + tags_src.strip().rstrip(",") + "]")
            m = re.match(r"gid://shopify/Customer/(\d+)$", gid)
            c = custs.get(int(m.group(1))) if m else None
            if c is None:
                data[alias] = {"node": None, "userErrors": [{"field": ["id"], "message": "Customer does not exist"}]}
                continue
            if op == "tagsAdd":
                c["tags"] = c["tags"] + [t for t in tags if t not in c["tags"]]
            else:
                c["tags"] = [t for t in c["tags"] if t not in tags]
            c["updatedAt"] = tick()
            STATE["counts"]["mutations"] += 1
            STATE["applied"].append([c["id"], "add" if op == "tagsAdd" else "remove", tags[0] if tags else None])
            data[alias] = {"node": {"id": gid}, "userErrors": []}
        return {"data": data}, cost
    return {"errors": [{"message": "the stand-in does not support this query",
                        "extensions": {"code": "UNSUPPORTED"}}]}, 1


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *a):
        if ARGS.verbose:
            sys.stderr.write("standin: " + (fmt % a) + "\n")

    def send(self, code, body, ctype="application/json", headers=None, truncate=False):
        data = body if isinstance(body, bytes) else body.encode()
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if truncate:
            self.wfile.write(data[: len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            return
        self.wfile.write(data)

    def stall(self, seconds):
        end = time.time() + seconds
        while time.time() < end:
            time.sleep(0.05)

    def proxied(self):
        """A request sent through an HTTP proxy names the absolute URL: serve
        it as the proxy of itself (counted in counts.proxied)."""
        m = re.match(r"https?://[^/]+(/.*)$", self.path)
        if m:
            self.path = m.group(1)
            with LOCK:
                STATE["counts"]["proxied"] += 1

    def do_GET(self):
        self.proxied()
        if self.path.startswith("/_control/shop"):
            with LOCK:
                return self.send(200, json.dumps({"shop": SHOP, "counts": STATE["counts"], "applied": STATE["applied"],
                                                  "ops": [{k: v for k, v in o.items() if k != "rows"} for o in STATE["ops"]]}))
        m = re.match(r"/bulk/(\d+)\.jsonl$", self.path)
        if not m:
            return self.send(404, "{}")
        with LOCK:
            fault = STATE["faults"]["download"].pop(0) if STATE["faults"]["download"] else None
            body = STATE["files"].get(int(m.group(1)), "")
            STATE["counts"]["downloads"] += 1
            stall = STATE["stall"]
        if stall:
            self.stall(stall)
        if fault and fault.startswith("stall:"):
            self.stall(float(fault.split(":")[1]))
        if fault == "500":
            return self.send(500, "oops", "text/plain")
        if fault == "truncated":
            return self.send(200, body, "application/jsonl", truncate=True)
        if fault == "malformed":
            return self.send(200, body.replace("}", "", 1), "application/jsonl")
        if fault == "wrongtype":
            return self.send(200, body.replace('"id": "gid', '"id": 12345, "x": "gid', 1), "application/jsonl")
        return self.send(200, body, "application/jsonl")

    def do_POST(self):
        self.proxied()
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.path == "/_control":
            req = json.loads(raw)
            with LOCK:
                a = req["action"]
                out = {}
                if a == "generate":
                    generate(req["customers"], req.get("seed", 1))
                    STATE["ops"] = []
                elif a == "churn":
                    out = churn(req.get("seed", 1), req.get("n", 20))
                elif a == "faults":
                    for k in ("graphql", "download", "bulk"):
                        STATE["faults"][k].extend(req.get(k, []))
                elif a == "stall":
                    STATE["stall"] = float(req["seconds"])
                elif a == "set_tags":
                    for c in SHOP["customers"]:
                        if c["id"] == req["id"]:
                            c["tags"] = req["tags"]
                elif a == "delete_customer":
                    SHOP["customers"] = [c for c in SHOP["customers"] if c["id"] != req["id"]]
                elif a == "reset_counts":
                    for k in STATE["counts"]:
                        STATE["counts"][k] = 0
                return self.send(200, json.dumps(out))
        if self.path != ARGS.path:
            return self.send(404, json.dumps({"errors": "Not Found"}))
        with LOCK:
            STATE["counts"]["graphql"] += 1
            fault = STATE["faults"]["graphql"].pop(0) if STATE["faults"]["graphql"] else None
            stall = STATE["stall"]
            if ARGS.token.encode() in raw:
                STATE["tokens_seen_in_body"] += 1
        if stall:
            self.stall(stall)
        if fault and fault.startswith("stall:"):
            self.stall(float(fault.split(":")[1]))
        if self.headers.get("X-Shopify-Access-Token") != ARGS.token or fault == "401":
            with LOCK:
                STATE["counts"]["unauthorized"] += 1
            return self.send(401, json.dumps({"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}))
        if fault == "429":
            with LOCK:
                STATE["counts"]["throttled"] += 1
            return self.send(429, json.dumps({"errors": "Exceeded 2 calls per second for api client. Reduce request rates to resume uninterrupted service."}),
                             headers={"Retry-After": "1.0"})
        if fault == "500":
            return self.send(500, json.dumps({"errors": "Internal Server Error"}))
        if fault == "malformed":
            return self.send(200, '{"data": {"bulkOperationRunQuery": ')
        if fault == "truncated":
            return self.send(200, json.dumps({"data": {"x": "y" * 200}}), truncate=True)
        try:
            req = json.loads(raw)
        except ValueError:
            return self.send(400, json.dumps({"errors": "invalid JSON body"}))
        with LOCK:
            if fault == "throttled":
                STATE["counts"]["throttled"] += 1
                BUCKET["available"] = 0
                body = {"errors": [{"message": "Throttled", "extensions": {
                    "code": "THROTTLED", "documentation": "https://shopify.dev/api/usage/rate-limits"}}],
                    "extensions": cost_ext(10, None)}
                return self.send(200, json.dumps(body))
            body, cost = handle_graphql(req["query"], req.get("variables") or {})
            if cost >= 0:
                throttle_status()
                BUCKET["available"] -= cost
                body["extensions"] = cost_ext(cost, cost)
            else:
                body["extensions"] = cost_ext(-cost, None)
            if fault == "wrongtype":
                if "data" in body:
                    body["data"] = {k: (5 if v is not None else v) for k, v in body["data"].items()}
        return self.send(200, json.dumps(body))


def main():
    global ARGS
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--port-file")
    ap.add_argument("--token", required=True)
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--bucket", type=float, default=2000)
    ap.add_argument("--restore", type=float, default=100)
    ap.add_argument("--polls", type=int, default=2)
    ap.add_argument("--customers", type=int, default=0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--verbose", action="store_true")
    ARGS = ap.parse_args()
    ARGS.path = "/admin/api/2025-01/graphql.json"
    BUCKET["available"] = ARGS.bucket
    if ARGS.customers:
        generate(ARGS.customers, ARGS.seed)
    srv = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    srv.daemon_threads = True
    scheme = "http"
    if ARGS.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(ARGS.cert, ARGS.key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
        scheme = "https"
    port = srv.server_address[1]
    ARGS.base = "%s://%s:%d" % (scheme, "localhost" if ARGS.cert else "127.0.0.1", port)
    if ARGS.port_file:
        with open(ARGS.port_file + ".tmp", "w") as f:
            f.write(str(port))
        import os
        os.rename(ARGS.port_file + ".tmp", ARGS.port_file)
    print("stand-in listening on %s" % ARGS.base, flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
