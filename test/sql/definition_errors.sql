-- Malformed segment definitions: each is rejected with SQLSTATE 22023 and
-- the JSON path of the offending value in the message (README "The definition language").
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

CREATE FUNCTION pg_temp.verdict(d jsonb) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ecpower.validate_definition(d);
    RETURN 'accepted';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ' ' || SQLERRM;
END
$$;

CREATE TEMP TABLE bad (n serial, def text);
INSERT INTO bad (def) VALUES
-- not a RULE object
('[]'), ('"orders"'), ('5'), ('null'), ('true'), ('{}'),
('{"all": [1]}'), ('{"all": [{}]}'), ('{"any": [null]}'), ('{"not": []}'), ('{"not": "x"}'),
-- more than one form, unknown and extra keys
('{"all": [{"orders": {}}], "any": [{"orders": {}}]}'),
('{"all": [{"orders": {}}], "not": {"orders": {}}}'),
('{"not": {"orders": {}}, "x": 1}'),
('{"customer_tag": ["a"], "country": ["b"]}'),
('{"foo": 1}'),
('{"orders": {"bogus": 1}}'),
('{"orders": {}, "gte": 1}'),
('{"orders": {}, "extra": 1}'),
('{"metric": "aov", "gte": 1, "count": {"gte": 1}}'),
('{"rfm": {"x": [1, 2]}}'),
('{"orders": {"period": {"since": "2024-01-01"}}}'),
('{"orders": {}, "count": {"approx": 1}}'),
-- wrong types
('{"all": {"orders": {}}}'),
('{"orders": []}'),
('{"orders": null}'),
('{"orders": {}, "count": 3}'),
('{"orders": {}, "count": {"gte": "3"}}'),
('{"metric": 5, "gte": 1}'),
('{"metric": "aov", "gte": null}'),
('{"orders": {"nth": 1}}'),
('{"orders": {"nth": [1.5, 2]}}'),
('{"orders": {"nth": [null, 2]}}'),
('{"orders": {"period": {"to": 20240101}}}'),
('{"orders": {"period": {"last_days": "30"}}}'),
('{"orders": {"period": {"last_days": 1.5}}}'),
('{"orders": {"product_id": "5"}}'),
('{"orders": {"product_id": [1.5]}}'),
('{"orders": {"product_id": ["1"]}}'),
('{"orders": {"sku": "abc"}}'),
('{"orders": {"sku": [1]}}'),
('{"orders": {"order_tag": [null]}}'),
('{"orders": {"has_discount": 1}}'),
('{"orders": {"subscription": "true"}}'),
('{"orders": {"has_discount": null}}'),
('{"orders": {"total": 50}}'),
('{"customer_tag": "vip"}'),
('{"email_domain": [true]}'),
('{"accepts_marketing": "yes"}'),
('{"accepts_marketing": 1}'),
('{"customer_created": "2024-01-01"}'),
('{"rfm_group": ["loyal"]}'),
('{"rfm": {"r": 5}}'),
('{"segment": 5}'),
-- empty lists
('{"all": []}'), ('{"any": []}'), ('{"orders": {"product_id": []}}'), ('{"orders": {"utm_source": []}}'),
('{"country": []}'),
-- a CMP with no comparison, between without exactly two numbers
('{"orders": {}, "count": {}}'),
('{"metric": "aov"}'),
('{"metric": "aov", "orders": {}}'),
('{"orders": {"total": {}}}'),
('{"orders": {}, "count": {"between": [1]}}'),
('{"orders": {}, "count": {"between": [1, 2, 3]}}'),
('{"orders": {}, "count": {"between": 5}}'),
('{"orders": {}, "count": {"between": [1, "x"]}}'),
('{"orders": {}, "count": {"between": [1, 2], "gte": 1}}'),
('{"metric": "aov", "between": [1, 2], "lt": 3}'),
('{"orders": {}, "count": {"gt": 1, "lt": 5, "ne": 3}}'),
-- malformed dates, from after to
('{"orders": {"period": {"from": "2024-13-01"}}}'),
('{"orders": {"period": {"from": "2024-02-30"}}}'),
('{"orders": {"period": {"from": "2023-02-29"}}}'),
('{"orders": {"period": {"from": "24-01-01"}}}'),
('{"orders": {"period": {"from": "2024-01-01T00:00"}}}'),
('{"orders": {"period": {"to": "2024/01/01"}}}'),
('{"orders": {"period": {"from": "2024-05-01", "to": "2024-04-01"}}}'),
('{"customer_created": {"from": "2024-05-02", "to": "2024-05-01"}}'),
-- negative day counts, days_ago with a > b, mixed or empty periods
('{"orders": {"period": {"last_days": -1}}}'),
('{"customer_created": {"last_days": -5}}'),
('{"orders": {"period": {"days_ago": [-1, 30]}}}'),
('{"orders": {"period": {"days_ago": [90, 30]}}}'),
('{"orders": {"period": {"days_ago": [30]}}}'),
('{"orders": {"period": {}}}'),
('{"orders": {"period": {"last_days": 7, "from": "2024-01-01"}}}'),
-- nth bounds below 1 or lo > hi, unknown nth
('{"orders": {"nth": [0, 2]}}'),
('{"orders": {"nth": [3, 2]}}'),
('{"orders": {"nth": [1]}}'),
('{"orders": {"nth": "third"}}'),
('{"metric": "aov", "gte": 1, "orders": {"nth": [2, 0]}}'),
-- RFM bounds outside 1..5, unknown METRIC or GROUP
('{"rfm": {"r": [0, 5]}}'),
('{"rfm": {"m": [1, 6]}}'),
('{"rfm": {"f": [4, 2]}}'),
('{"rfm": {"r": [1.5, 2]}}'),
('{"rfm": {}}'),
('{"metric": "ltv", "gte": 1}'),
('{"metric": "Total_Spent", "gte": 1}'),
('{"rfm_group": "vips"}'),
('{"rfm_group": "Champions"}'),
-- unknown segment references
('{"segment": "no-such"}'),
('{"all": [{"orders": {}}, {"not": {"segment": "missing"}}]}'),
-- deep paths
('{"all": [{"orders": {}}, {"any": [{"country": ["jp"]}, {"not": {"orders": {"period": {"from": "2024-1-1"}}}}]}]}'),
('{"any": [{"orders": {}}, {"orders": {}}, {"all": [{"metric": "aov", "gte": 1}, {"metric": "aov", "gte": 1, "orders": {"total": {"between": [1]}}}]}]}');

SELECT n, def, pg_temp.verdict(def::jsonb) AS verdict FROM bad ORDER BY n;

-- every one rejected with 22023 and a JSON path
SELECT count(*) AS rejected FROM bad
 WHERE pg_temp.verdict(def::jsonb) ~ '^22023 invalid segment definition at \$';

-- nesting: 32 levels are fine, 33 are not
SELECT pg_temp.verdict((repeat('{"not": ', 31) || '{"orders": {}}' || repeat('}', 31))::jsonb);
SELECT pg_temp.verdict((repeat('{"not": ', 32) || '{"orders": {}}' || repeat('}', 32))::jsonb);
SELECT pg_temp.verdict((repeat('{"all": [', 40) || '{"orders": {}}' || repeat(']}', 40))::jsonb);
-- lists: 10,000 items are fine, 10,001 are not
SELECT pg_temp.verdict(jsonb_build_object('customer_tag',
       (SELECT jsonb_agg(i::text) FROM generate_series(1, 10000) AS i)));
SELECT pg_temp.verdict(jsonb_build_object('customer_tag',
       (SELECT jsonb_agg(i::text) FROM generate_series(1, 10001) AS i)));
SELECT pg_temp.verdict(jsonb_build_object('any',
       (SELECT jsonb_agg('{"orders": {}}'::jsonb) FROM generate_series(1, 10001) AS i)));

-- valid edge cases
SELECT d, pg_temp.verdict(d::jsonb) FROM (VALUES
    ('{"orders": {}}'),
    ('{"orders": {"nth": [1, null]}, "count": {"eq": 0}}'),
    ('{"orders": {"nth": "latest", "period": {"last_days": 0}}}'),
    ('{"orders": {"period": {"days_ago": [0, 0]}}}'),
    ('{"orders": {"period": {"from": "2024-02-29", "to": "2024-02-29"}}}'),
    ('{"orders": {}, "count": {"between": [5, 1]}}'),
    ('{"metric": "total_spent", "gte": 1e30}'),
    ('{"metric": "avg_interval_days", "gt": 1, "lte": 30, "orders": {"nth": "repeat"}}'),
    ('{"rfm": {"r": [5, 5]}}'),
    ('{"rfm_group": "prospects"}'),
    ('{"customer_tag": ["", "VIP"]}')
) AS t(d);

-- validate_definition(NULL) is an error too; evaluate validates as well
SELECT ecpower.validate_definition(NULL);
SELECT * FROM ecpower.evaluate('{"orders": {"nth": [0, 1]}}', '2024-01-01');

-- mutation sweep: every value of a set of valid definitions replaced in turn
-- by each of 12 foreign values; the validator either accepts or raises
-- 22023 with a JSON path, never anything else
CREATE TEMP TABLE seeds (def jsonb);
INSERT INTO seeds VALUES
    ('{"all": [{"orders": {"nth": "first", "product_type": ["Tea"], "period": {"last_days": 30}}}, {"not": {"metric": "aov", "gte": 50, "orders": {"has_discount": true}}}]}'),
    ('{"any": [{"orders": {"nth": [2, null], "total": {"between": [10, 20]}, "utm_source": ["google"]}, "count": {"gte": 2, "lt": 5}}, {"rfm": {"r": [4, 5], "m": [1, 2]}}]}'),
    ('{"all": [{"customer_created": {"days_ago": [0, 30]}}, {"country": ["JP"]}, {"rfm_group": "loyal"}, {"accepts_marketing": true}]}'),
    ('{"metric": "avg_interval_days", "lte": 30, "orders": {"period": {"from": "2024-01-01", "to": "2024-12-31"}, "product_id": [1, 2], "subscription": false}}');
CREATE TEMP TABLE paths AS
WITH RECURSIVE walk(def, path, val) AS (
    SELECT def, '{}'::text[], def FROM seeds
    UNION ALL
    SELECT w.def, w.path || c.k, c.v
      FROM walk w,
           LATERAL (SELECT e.key AS k, e.value AS v FROM jsonb_each(CASE WHEN jsonb_typeof(w.val) = 'object' THEN w.val END) e
                    UNION ALL
                    SELECT (a.i - 1)::text, a.v FROM jsonb_array_elements(CASE WHEN jsonb_typeof(w.val) = 'array' THEN w.val END) WITH ORDINALITY a(v, i)) c
)
SELECT def, path FROM walk WHERE cardinality(path) > 0;
SELECT count(*) AS mutations,
       count(*) FILTER (WHERE v = 'accepted') AS accepted,
       count(*) FILTER (WHERE v ~ '^22023 invalid segment definition at \$') AS rejected_with_path,
       count(*) FILTER (WHERE v <> 'accepted' AND v !~ '^22023 invalid segment definition at \$') AS other
  FROM (SELECT pg_temp.verdict(jsonb_set(p.def, p.path, r.val)) AS v
          FROM paths p,
               (VALUES ('null'::jsonb), ('"x"'), ('""'), ('0'), ('-1'), ('1.5'), ('1e400'), ('true'),
                       ('[]'), ('{}'), ('[1, "a", null]'), ('{"orders": {}}')) AS r(val)) AS m;
