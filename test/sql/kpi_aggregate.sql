-- ecpower.kpis(customer_id, ordered_at, amount): every figure against a
-- plain-SQL oracle (test/kpi_oracle.sql), edge cases, NULL handling and
-- validation of serialized states
\i test/fixtures/setup.sql
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all

-- a store in Tokyo: a 20:00 UTC order is the next local day
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';

-- hand-made rows: one customer with one order, ties on a day, refunds
-- (negative net), a prospect (NULL ordered_at), a NULL amount, a NULL customer
CREATE TEMP TABLE hand (g text, customer_id bigint, ordered_at timestamptz, amount numeric);
INSERT INTO hand VALUES
    ('one', 1, '2024-01-31 15:30+00', 10.00),                -- 2024-02-01 in Tokyo
    ('ties', 1, '2024-01-01 01:00+00', 10.00),
    ('ties', 1, '2024-01-01 02:00+00', 20.00),               -- gap 0
    ('ties', 1, '2024-01-11 02:00+00', 30.00),               -- gap 10
    ('ties', 2, '2024-01-01 01:00+00', 5.00),
    ('ties', 2, '2024-01-21 01:00+00', -5.00),               -- refund larger than total: net < 0
    ('ties', 3, NULL, NULL),                                 -- prospect
    ('nulls', 4, '2024-03-01 00:00+00', NULL),               -- order of amount 0
    ('nulls', 4, NULL, 99.99),                               -- no order: amount ignored
    ('nulls', NULL, '2024-03-01 00:00+00', 5.00),            -- no customer: ignored
    ('prospects', 5, NULL, NULL),
    ('prospects', 6, NULL, NULL),
    ('even', 7, '2024-01-01 00:00+00', 1.00),
    ('even', 7, '2024-01-02 00:00+00', 1.00),                -- gap 1
    ('even', 8, '2024-01-01 00:00+00', 1.00),
    ('even', 8, '2024-01-05 00:00+00', 1.00);                -- gap 4: median 2.5
CREATE TEMP VIEW kpi_rows AS SELECT * FROM hand WHERE customer_id IS NOT NULL;

SELECT g, (ecpower.kpis(customer_id, ordered_at, amount)).*
  FROM hand GROUP BY g ORDER BY g COLLATE "C";

-- the same against the oracle: no row means every figure matches
SELECT a.g, a.k AS got, o.k AS want
  FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount) AS k FROM hand GROUP BY g) a
  FULL JOIN pg_temp.o_kpi_groups() o ON o.g = a.g
 WHERE a.k IS DISTINCT FROM o.k;

-- no rows, only NULL customers: zero counts, NULL ratios
SELECT (ecpower.kpis(customer_id, ordered_at, amount)).* FROM hand WHERE false;
SELECT (ecpower.kpis(NULL::bigint, now(), 1)).*;

-- as a window aggregate and with FILTER
SELECT g, customer_id, (ecpower.kpis(customer_id, ordered_at, amount) OVER (PARTITION BY g)).orders
  FROM hand WHERE g = 'even' ORDER BY customer_id, ordered_at;
-- a growing frame: the final function runs on a state that keeps growing
SELECT customer_id, ordered_at,
       (ecpower.kpis(customer_id, ordered_at, amount) OVER w).orders,
       (ecpower.kpis(customer_id, ordered_at, amount) OVER w).median_interval_days
  FROM hand WHERE g = 'even' WINDOW w AS (ORDER BY ordered_at, customer_id)
 ORDER BY ordered_at, customer_id;
SELECT (ecpower.kpis(customer_id, ordered_at, amount) FILTER (WHERE amount > 0)).revenue FROM hand;

-- a random store of 400 customers: KPIs per sales channel-like group and
-- per month of the order, against the oracle
SELECT pg_temp.o_fixture(1000, 400, 0.42);
CREATE OR REPLACE TEMP VIEW kpi_rows AS
SELECT (o.customer_id % 3)::text AS g, o.customer_id, o.ordered_at, o.total - o.refunded AS amount
  FROM ecpower.orders o WHERE o.cancelled_at IS NULL
UNION ALL
SELECT 'month ' || to_char(o.ordered_at AT TIME ZONE 'Asia/Tokyo', 'YYYY-MM'), o.customer_id,
       o.ordered_at, o.total - o.refunded
  FROM ecpower.orders o WHERE o.cancelled_at IS NULL
UNION ALL
SELECT 'with prospects', c.customer_id, o.ordered_at, o.total - o.refunded
  FROM ecpower.customers c LEFT JOIN ecpower.orders o
    ON o.customer_id = c.customer_id AND o.cancelled_at IS NULL;
SELECT count(DISTINCT g) AS groups, count(*) AS rows FROM kpi_rows;
SELECT a.g, a.k AS got, o.k AS want
  FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount) AS k FROM kpi_rows GROUP BY g) a
  FULL JOIN pg_temp.o_kpi_groups() o ON o.g = a.g
 WHERE a.k IS DISTINCT FROM o.k;

-- the same with hash aggregation and with sorted aggregation
SET enable_hashagg = off;
SELECT a.g FROM (SELECT g, ecpower.kpis(customer_id, ordered_at, amount) AS k FROM kpi_rows GROUP BY g) a
  FULL JOIN pg_temp.o_kpi_groups() o ON o.g = a.g
 WHERE a.k IS DISTINCT FROM o.k;
RESET enable_hashagg;

-- infinite order times are rejected
SELECT ecpower.kpis(1, 'infinity', 1);

-- serialized states are validated: a good one, then every kind of damage
-- (rows of customer_id, ordered_at, cents, profit cents; the smallest
-- int8 is an unknown profit, and -infinity an absent order)
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(0));
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(2)
       || int8send(7) || int8send(0) || int8send(100) || int8send(-9223372036854775808)
       || int8send(8) || int8send(-9223372036854775808) || int8send(0) || int8send(0));
SELECT ecpower._kpis_state_rows(''::bytea);
SELECT ecpower._kpis_state_rows('\x01'::bytea || int8send(0));
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(1));
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(-1));
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(1)
       || int8send(7) || int8send(0) || int8send(100) || int8send(60) || '\x00'::bytea);
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(1)
       || int8send(7) || int8send(0) || int8send(100));
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(1)
       || int8send(8) || int8send(-9223372036854775808) || int8send(5) || int8send(0));
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(1)
       || int8send(8) || int8send(-9223372036854775808) || int8send(0) || int8send(5));
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(1)
       || int8send(8) || int8send(9223372036854775807) || int8send(5) || int8send(5));
SELECT ecpower._kpis_state_rows('\x02'::bytea || int8send(288230376151711745)
       || int8send(8) || int8send(0) || int8send(5) || int8send(5));
