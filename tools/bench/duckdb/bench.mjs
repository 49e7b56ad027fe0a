// The DuckDB column of the ecpower benchmark (tools/bench.sh).
//
// Loads the files the benchmark exported after its refresh (counted orders
// with their store-local date and net amount, their lines, the products, the
// benchmark segment's members, the five compared segments' members and the
// membership of the journey's two days) into an in-memory DuckDB database
// with one thread, then times, as medians over the benchmark's repetitions,
// the DuckDB equivalent of each report over the same rows, with the data
// already in DuckDB's memory.  Each query runs once untimed first; that run's
// answer is checked against ecpower's answer on the same rows (ours_LABEL.csv,
// exported by the benchmark): same number of rows, and every cell equal
// (numbers within one unit of the last digit ecpower prints).
//
// Usage: node bench.mjs dir=EXPORT_DIR size=N reps=R as_of=YYYY-MM-DD
//                       jfrom=YYYY-MM-DD jto=YYYY-MM-DD slugs=a,b,c,d,e
// Writes EXPORT_DIR/duckdb_results.csv (label, size, rep, wall_s, cpu_s) and
// EXPORT_DIR/duckdb_verify.csv (size, what, name, ours, plain, mismatches),
// in the layout of the benchmark's bench.results and bench.verify tables.
import { DuckDBInstance } from '@duckdb/node-api';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const args = Object.fromEntries(process.argv.slice(2).map((a) => {
	const i = a.indexOf('=');
	return [a.slice(0, i), a.slice(i + 1)];
}));
for (const k of ['dir', 'size', 'reps', 'as_of', 'jfrom', 'jto', 'slugs'])
	if (!(k in args))
		throw new Error(`missing argument ${k}=`);
const dir = args.dir;
const size = Number(args.size);
const reps = Number(args.reps);
const asOf = args.as_of;
const jfrom = args.jfrom;
const jto = args.jto;
const date = (d) => {
	if (!/^\d{4}-\d{2}-\d{2}$/.test(d))
		throw new Error(`not a date: ${d}`);
	return `DATE '${d}'`;
};
const file = (name) => `'${join(dir, name).replace(/'/g, "''")}'`;

// ---------------------------------------------------------------------
// The reports, in DuckDB SQL, each projecting the columns of the
// benchmark's ecpower query (tools/bench/reports.sql)
// ---------------------------------------------------------------------

// a product feature report (top 10 products by segment customers) over the
// given selected orders (a relation of order_id, customer_id) with their
// store-wide count ("sn": customers the store share is taken over)
function featureReport(selected, storeDenominator) {
	return `
WITH so AS (${selected}),
sel AS (SELECT DISTINCT so.customer_id, l.product_id
          FROM so JOIN order_lines l ON l.order_id = so.order_id
         WHERE l.product_id IS NOT NULL),
seg AS (SELECT product_id, count(*) AS c FROM sel
         WHERE customer_id IN (SELECT customer_id FROM members) GROUP BY product_id),
top AS (SELECT product_id, c,
               row_number() OVER (ORDER BY c DESC, CAST(product_id AS VARCHAR)) AS rank
          FROM seg
       QUALIFY row_number() OVER (ORDER BY c DESC, CAST(product_id AS VARCHAR)) <= 10),
st AS (SELECT product_id, count(*) AS c FROM sel
        WHERE product_id IN (SELECT product_id FROM top) GROUP BY product_id),
n AS (SELECT (SELECT count(*) FROM members) AS n, (${storeDenominator}) AS sn)
SELECT t.rank, CAST(t.product_id AS VARCHAR) AS key, p.title AS label, t.c AS customers,
       t.c / n.n AS share, st.c / n.sn AS store_share, (t.c / n.n) / (st.c / n.sn) AS lift
  FROM top t JOIN st USING (product_id) JOIN products p USING (product_id), n
 ORDER BY t.rank`;
}

// the KPI columns of ecpower.kpi over r (g, customer_id, d, net: one row per
// counted order) and c (g, customers), grouped by g
function kpis(r, c) {
	return `
WITH r AS (${r}),
c AS (${c}),
pc AS (SELECT g, customer_id, count(*) AS n, sum(net) AS rev, max(d) - min(d) AS life
         FROM r GROUP BY g, customer_id),
p AS (SELECT g, count(*) AS buyers, sum(n) AS orders, sum(rev) AS revenue,
             count(*) FILTER (WHERE n >= 2) AS repeaters, sum(life) AS life,
             avg(rev / n) AS caov
        FROM pc GROUP BY g),
gp AS (SELECT g, d - lag(d) OVER (PARTITION BY g, customer_id ORDER BY d) AS gap FROM r),
med AS (SELECT g, quantile_cont(gap, 0.5) AS med FROM gp WHERE gap IS NOT NULL GROUP BY g)
SELECT c.g, c.customers, coalesce(p.buyers, 0) AS buyers, coalesce(p.orders, 0) AS orders,
       coalesce(p.revenue, 0) AS revenue,
       round(coalesce(p.revenue, 0) / nullif(c.customers, 0), 2) AS ltv,
       round(p.revenue / nullif(p.orders, 0), 2) AS aov,
       round(p.caov, 2) AS customer_aov,
       round(coalesce(p.orders, 0) / nullif(c.customers, 0), 4) AS avg_orders,
       round(coalesce(p.repeaters, 0) / nullif(c.customers, 0), 4) AS repeat_rate,
       round(p.life / nullif(p.orders - p.buyers, 0), 2) AS avg_interval_days,
       m.med AS median_interval_days,
       round(p.life / nullif(p.buyers, 0), 2) AS avg_lifetime_days
  FROM c LEFT JOIN p ON p.g IS NOT DISTINCT FROM c.g
  LEFT JOIN med m ON m.g IS NOT DISTINCT FROM c.g`;
}

// bins of distribution(): CASE over the lower edges, exact on sums
function binCase(edges, sum, count) {
	const whens = edges.map((e, i) => [e, i + 1]).reverse()
		.map(([e, b]) => `WHEN ${sum} >= ${e} * ${count} THEN ${b}`).join(' ');
	return `CASE ${whens} END`;
}

const memberOrders = 'SELECT * FROM orders WHERE customer_id IN (SELECT customer_id FROM members)';
const amountEdges = [0, 20, 40, 60, 80, 100, 150, 200, 300];
const countEdges = [1, 2, 3, 4, 5, 6, 8, 10, 15, 20];

const reports = {
	feature_report: featureReport(
		'SELECT order_id, customer_id FROM orders',
		'SELECT count(DISTINCT customer_id) FROM orders'),

	feature_report_first: featureReport(
		`SELECT order_id, customer_id FROM orders
		 QUALIFY row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) = 1`,
		'SELECT count(DISTINCT customer_id) FROM orders'),

	distribution: `
WITH v AS (SELECT customer_id, sum(net) AS s, count(*) AS n FROM (${memberOrders}) GROUP BY customer_id),
b AS (SELECT ${binCase(amountEdges, 's', 'n')} AS bin FROM v)
SELECT bin, count(*) AS customers FROM b WHERE bin IS NOT NULL GROUP BY bin`,

	distribution_orders: `
WITH v AS (SELECT customer_id, count(*) AS n FROM (${memberOrders}) GROUP BY customer_id),
b AS (SELECT ${binCase(countEdges, 'n', '1')} AS bin FROM v),
t AS (SELECT bin, count(*) AS customers FROM b WHERE bin IS NOT NULL GROUP BY bin)
SELECT bin, e[bin] AS lower, e[bin + 1] AS upper, customers,
       customers / sum(customers) OVER () AS share
  FROM t, (SELECT [${countEdges.join(', ')}] AS e)`,

	cohorts: `
WITH c AS (SELECT customer_id, day, net FROM (${memberOrders})),
f AS (SELECT customer_id, CAST(date_trunc('month', min(day)) AS DATE) AS cm FROM c GROUP BY customer_id),
co AS (SELECT c.customer_id, c.net, f.cm, datediff('month', f.cm, c.day) AS k
         FROM c JOIN f USING (customer_id)),
sz AS (SELECT cm, count(*) AS size FROM f GROUP BY cm),
offs AS (SELECT sz.cm, sz.size, CAST(r.k AS BIGINT) AS k FROM sz, range(0, 12) r(k)
          WHERE sz.cm + to_months(CAST(r.k AS INTEGER)) <= date_trunc('month', ${date(asOf)})),
act AS (SELECT cm, k, count(DISTINCT customer_id) AS a, sum(net) AS rev
          FROM co WHERE k < 12 GROUP BY cm, k)
SELECT offs.cm AS cohort_month, offs.k AS month_offset, offs.size AS customers,
       coalesce(act.a, 0) AS active_customers, coalesce(act.rev, 0) AS revenue
  FROM offs LEFT JOIN act ON act.cm = offs.cm AND act.k = offs.k`,

	cohort_summary: `
WITH r AS (SELECT customer_id, day AS d, net,
                  row_number() OVER (PARTITION BY customer_id ORDER BY ordered_at, order_id) AS seq,
                  min(day) OVER (PARTITION BY customer_id) AS first
             FROM (${memberOrders})),
pc AS (SELECT customer_id, first, CAST(date_trunc('month', first) AS DATE) AS cm, count(*) AS n,
              sum(net) FILTER (WHERE d < first + INTERVAL 3 MONTH) AS l3,
              sum(net) FILTER (WHERE d < first + INTERVAL 6 MONTH) AS l6,
              sum(net) FILTER (WHERE d < first + INTERVAL 12 MONTH) AS l12,
              max(d) FILTER (WHERE seq = 2) AS second
         FROM r GROUP BY customer_id, first),
k AS (SELECT cm, CAST(cm + INTERVAL 1 MONTH AS DATE) - 1 AS last_day, count(*) AS size,
             sum(l3) AS l3, sum(l6) AS l6, sum(l12) AS l12,
             count(*) FILTER (WHERE n >= 2) AS f2,
             count(*) FILTER (WHERE second - first <= 90) AS f2_90
        FROM pc GROUP BY cm)
SELECT cm AS cohort_month, size AS customers,
       CASE WHEN CAST(last_day + INTERVAL 3 MONTH AS DATE) <= ${date(asOf)} THEN round(l3 / size, 2) END AS ltv_3m,
       CASE WHEN CAST(last_day + INTERVAL 6 MONTH AS DATE) <= ${date(asOf)} THEN round(l6 / size, 2) END AS ltv_6m,
       CASE WHEN CAST(last_day + INTERVAL 12 MONTH AS DATE) <= ${date(asOf)} THEN round(l12 / size, 2) END AS ltv_12m,
       round(f2 / size, 4) AS f2_rate,
       CASE WHEN last_day + 90 <= ${date(asOf)} THEN round(f2_90 / size, 4) END AS f2_rate_90d
  FROM k`,

	segment_kpis: `SELECT * EXCLUDE (g) FROM (${kpis(
		`SELECT 1 AS g, customer_id, day AS d, net FROM (${memberOrders})`,
		'SELECT 1 AS g, count(*) AS customers FROM members')})`,

	kpis_group_by: kpis(
		`SELECT sales_channel AS g, customer_id, day AS d, net FROM (${memberOrders})`,
		`SELECT sales_channel AS g, count(DISTINCT customer_id) AS customers
		   FROM (${memberOrders}) GROUP BY sales_channel`),

	// each customer's figures once (a customer is in several of the five
	// segments), then per segment through the membership
	compare_segments: `
WITH mo AS (SELECT customer_id, day AS d, net FROM orders
             WHERE customer_id IN (SELECT customer_id FROM members5)),
pc AS (SELECT customer_id, count(*) AS n, sum(net) AS rev, max(d) - min(d) AS life
         FROM mo GROUP BY customer_id),
gp AS (SELECT customer_id, d - lag(d) OVER (PARTITION BY customer_id ORDER BY d) AS gap
         FROM mo QUALIFY gap IS NOT NULL),
c AS (SELECT slug AS g, count(*) AS customers FROM members5 GROUP BY slug),
p AS (SELECT m.slug AS g, count(*) AS buyers, sum(n) AS orders, sum(rev) AS revenue,
             count(*) FILTER (WHERE n >= 2) AS repeaters, sum(life) AS life, avg(rev / n) AS caov
        FROM members5 m JOIN pc ON pc.customer_id = m.customer_id GROUP BY m.slug),
med AS (SELECT m.slug AS g, quantile_cont(gap, 0.5) AS med
          FROM members5 m JOIN gp ON gp.customer_id = m.customer_id GROUP BY m.slug),
st AS (SELECT sum(net) AS revenue, count(DISTINCT customer_id) AS buyers FROM orders)
SELECT c.g AS slug, c.customers, coalesce(p.buyers, 0) AS buyers, coalesce(p.orders, 0) AS orders,
       coalesce(p.revenue, 0) AS revenue,
       round(coalesce(p.revenue, 0) / nullif(c.customers, 0), 2) AS ltv,
       round(p.revenue / nullif(p.orders, 0), 2) AS aov,
       round(p.caov, 2) AS customer_aov,
       round(coalesce(p.orders, 0) / nullif(c.customers, 0), 4) AS avg_orders,
       round(coalesce(p.repeaters, 0) / nullif(c.customers, 0), 4) AS repeat_rate,
       round(p.life / nullif(p.orders - p.buyers, 0), 2) AS avg_interval_days,
       m.med AS median_interval_days,
       round(p.life / nullif(p.buyers, 0), 2) AS avg_lifetime_days,
       round(coalesce(p.revenue, 0) / st.revenue, 4) AS revenue_share,
       round(c.customers / st.buyers, 4) AS customer_share
  FROM c LEFT JOIN p ON p.g = c.g LEFT JOIN med m ON m.g = c.g, st`,

	bought_together: `
WITH mo AS (SELECT DISTINCT o.customer_id, o.order_id, l.product_id
              FROM (${memberOrders}) o JOIN order_lines l ON l.order_id = o.order_id
             WHERE l.product_id IS NOT NULL),
pr AS (SELECT DISTINCT a.customer_id, a.product_id AS pa, b.product_id AS pb
         FROM mo a JOIN mo b ON b.order_id = a.order_id AND b.product_id > a.product_id),
ab AS (SELECT pa, pb, count(*) AS c FROM pr GROUP BY pa, pb),
top AS (SELECT pa, pb, c, row_number() OVER (ORDER BY c DESC, pa, pb) AS rank
          FROM ab QUALIFY row_number() OVER (ORDER BY c DESC, pa, pb) <= 10),
s AS (SELECT product_id, count(DISTINCT customer_id) AS c FROM mo
       WHERE product_id IN (SELECT pa FROM top UNION SELECT pb FROM top) GROUP BY product_id),
n AS (SELECT count(*) AS n FROM members)
SELECT t.rank, t.pa AS product_a, t.pb AS product_b, t.c AS customers,
       t.c / n.n AS support, t.c / sa.c AS confidence, (t.c * n.n) / (sa.c * sb.c) AS lift
  FROM top t JOIN s sa ON sa.product_id = t.pa JOIN s sb ON sb.product_id = t.pb, n
 ORDER BY t.rank`,

	journey: `
WITH a AS (SELECT customer_id, slug FROM jmembers WHERE day = ${date(jfrom)}),
b AS (SELECT customer_id, slug FROM jmembers WHERE day = ${date(jto)}),
fa AS (SELECT customer_id, slug FROM a
       UNION ALL
       SELECT DISTINCT customer_id, NULL FROM b WHERE customer_id NOT IN (SELECT customer_id FROM a)),
fb AS (SELECT customer_id, slug FROM b
       UNION ALL
       SELECT DISTINCT customer_id, NULL FROM a WHERE customer_id NOT IN (SELECT customer_id FROM b)),
p AS (SELECT fa.customer_id, fa.slug AS f, fb.slug AS t FROM fa JOIN fb ON fb.customer_id = fa.customer_id),
rev AS (SELECT customer_id, sum(net) AS r FROM orders
         WHERE day > ${date(jfrom)} AND day <= ${date(jto)}
           AND customer_id IN (SELECT customer_id FROM p)
         GROUP BY customer_id)
SELECT p.f AS from_slug, p.t AS to_slug, count(*) AS customers, coalesce(sum(rev.r), 0) AS revenue
  FROM p LEFT JOIN rev ON rev.customer_id = p.customer_id
 GROUP BY p.f, p.t`,

	// what a nightly refresh stands for: every customer's count, revenue,
	// first and last date over all counted orders (summed up, so that the
	// answer is small and checkable)
	customer_groupby: `
SELECT count(*) AS customers, sum(n) AS orders, sum(rev) AS revenue,
       min(f) AS first_day, max(l) AS last_day
  FROM (SELECT customer_id, count(*) AS n, sum(net) AS rev, min(day) AS f, max(day) AS l
          FROM orders GROUP BY customer_id)`,
};

// ---------------------------------------------------------------------
// Checking an answer against ecpower's
// ---------------------------------------------------------------------

const numeric = /^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/;

function cell(v) {
	if (v === null || v === undefined)
		return null;
	return String(v);
}

function cmpCell(a, b) {
	if (a === b)
		return 0;
	if (a === null)
		return 1;
	if (b === null)
		return -1;
	if (numeric.test(a) && numeric.test(b))
		return Number(a) - Number(b);
	return a < b ? -1 : a > b ? 1 : 0;
}

function cmpRow(x, y) {
	for (let i = 0; i < Math.min(x.length, y.length); i++) {
		const c = cmpCell(x[i], y[i]);
		if (c !== 0)
			return c;
	}
	return x.length - y.length;
}

// ecpower's value o and DuckDB's d: equal text, or numbers within one unit
// of the last digit ecpower prints (integers exactly)
function sameCell(o, d) {
	if (o === d)
		return true;
	if (o === null || d === null)
		return false;
	if (!numeric.test(o) || !numeric.test(d))
		return false;
	const x = Number(o);
	const y = Number(d);
	const dot = o.indexOf('.');
	if (dot < 0 && !/[eE]/.test(o))
		return x === y;
	const decimals = dot < 0 ? 0 : o.length - dot - 1;
	const tol = Math.max(10 ** -decimals, 1e-12 * Math.max(1, Math.abs(x)));
	return Math.abs(x - y) <= tol * (1 + 1e-9);
}

function compare(label, ours, duck, log) {
	let mismatches = Math.abs(ours.length - duck.length);
	const o = [...ours].sort(cmpRow);
	const d = [...duck].sort(cmpRow);
	for (let i = 0; i < Math.min(o.length, d.length); i++) {
		const same = o[i].length === d[i].length && o[i].every((v, j) => sameCell(v, d[i][j]));
		if (!same) {
			mismatches++;
			if (mismatches <= 3)
				log.push(`  ${label}: ecpower ${JSON.stringify(o[i])} DuckDB ${JSON.stringify(d[i])}`);
		}
	}
	if (ours.length !== duck.length)
		log.push(`  ${label}: ecpower ${ours.length} rows, DuckDB ${duck.length} rows`);
	return mismatches;
}

// ---------------------------------------------------------------------
// Main
// ---------------------------------------------------------------------

const instance = await DuckDBInstance.create(':memory:', { threads: '1' });
const con = await instance.connect();
await con.run('SET threads = 1');
await con.run("SET preserve_insertion_order = false");

const csv = (name, columns) => `read_csv(${file(name)}, header = true, quote = '"', escape = '"',
	columns = {${Object.entries(columns).map(([k, t]) => `'${k}': '${t}'`).join(', ')}})`;
const t0 = process.hrtime.bigint();
await con.run(`CREATE TABLE orders AS SELECT * FROM ${csv('orders.csv', {
	order_id: 'BIGINT', customer_id: 'BIGINT', ordered_at: 'TIMESTAMP', day: 'DATE',
	net: 'DECIMAL(14,2)', sales_channel: 'VARCHAR', acquisition_channel: 'VARCHAR' })}`);
await con.run(`CREATE TABLE order_lines AS SELECT * FROM ${csv('order_lines.csv', {
	order_id: 'BIGINT', product_id: 'BIGINT', quantity: 'INTEGER' })}`);
await con.run(`CREATE TABLE products AS SELECT * FROM ${csv('products.csv', {
	product_id: 'BIGINT', title: 'VARCHAR', product_type: 'VARCHAR' })}`);
await con.run(`CREATE TABLE members AS SELECT * FROM ${csv('members.csv', { customer_id: 'BIGINT' })}`);
await con.run(`CREATE TABLE members5 AS SELECT * FROM ${csv('members5.csv', {
	slug: 'VARCHAR', customer_id: 'BIGINT' })}`);
await con.run(`CREATE TABLE jmembers AS SELECT * FROM ${csv('jmembers.csv', {
	day: 'DATE', slug: 'VARCHAR', customer_id: 'BIGINT' })}`);
const counts = (await con.runAndReadAll(`SELECT (SELECT count(*) FROM orders), (SELECT count(*) FROM order_lines),
	(SELECT count(*) FROM products), (SELECT count(*) FROM members), (SELECT count(*) FROM members5),
	(SELECT count(*) FROM jmembers)`)).getRowsJson()[0];
const version = (await con.runAndReadAll('SELECT version()')).getRowsJson()[0][0];
console.log(`DuckDB ${version}, threads 1: loaded ${counts[0]} orders, ${counts[1]} lines, ${counts[2]} products, `
	+ `${counts[3]} members, ${counts[4]} rows of members5, ${counts[5]} of jmembers `
	+ `in ${(Number(process.hrtime.bigint() - t0) / 1e9).toFixed(1)} s`);

const results = [];
const verify = [];
const log = [];
for (const [label, sql] of Object.entries(reports)) {
	const oursFile = join(dir, `ours_${label}.csv`);
	let first;
	try {
		first = await con.runAndReadAll(sql);
	} catch (e) {
		log.push(`  ${label}: DuckDB error: ${e.message}`);
		verify.push([size, 'duckdb', label, '', '', -1]);
		continue;
	}
	const duck = first.getRowsJson().map((r) => r.map(cell));
	if (existsSync(oursFile)) {
		const ours = (await con.runAndReadAll(
			`SELECT * FROM read_csv(${file(`ours_${label}.csv`)}, header = true, all_varchar = true,
			 quote = '"', escape = '"', auto_detect = true)`)).getRowsJson().map((r) => r.map(cell));
		const mism = compare(label, ours, duck, log);
		verify.push([size, 'duckdb', label, ours.length, duck.length, mism]);
	}
	for (let rep = 1; rep <= reps; rep++) {
		const c0 = process.cpuUsage();
		const w0 = process.hrtime.bigint();
		await con.runAndReadAll(sql);
		const wall = Number(process.hrtime.bigint() - w0) / 1e9;
		const c = process.cpuUsage(c0);
		results.push([`${label}_duckdb`, size, rep, wall.toFixed(6), ((c.user + c.system) / 1e6).toFixed(6)]);
	}
	const cpus = results.filter((r) => r[0] === `${label}_duckdb`).map((r) => Number(r[4])).sort((a, b) => a - b);
	console.log(`${label}: ${duck.length} rows, median CPU ${(cpus[Math.floor((cpus.length - 1) / 2)] * 1000).toFixed(1)} ms`);
}
writeFileSync(join(dir, 'duckdb_results.csv'), results.map((r) => r.join(',')).join('\n') + '\n');
writeFileSync(join(dir, 'duckdb_verify.csv'), verify.map((r) => r.join(',')).join('\n') + '\n');
if (log.length)
	console.log(`differences from ecpower's answers:\n${log.join('\n')}`);
else
	console.log('every DuckDB answer equals ecpower\'s');
