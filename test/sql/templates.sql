-- Segment templates: at least 50, in English and Japanese, with parameters
-- that match their placeholders; every template instantiates into a valid
-- definition and refreshes; create_segment_from_template errors.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never
\set ECHO none
\i test/fixtures/segment_store.sql
\i test/fixtures/segment_oracle.sql
\set ECHO all

SELECT count(*) >= 50 AS at_least_50, count(DISTINCT template) = count(*) AS unique_names,
       bool_and(name <> '' AND name_ja <> '' AND description <> '') AS all_named
  FROM ecpower.templates;
SELECT category, count(*) FROM ecpower.templates GROUP BY 1 ORDER BY category COLLATE "C";
-- all 11 RFM groups have a template
SELECT g.rfm_group FROM ecpower.rfm_groups g
 WHERE NOT EXISTS (SELECT 1 FROM ecpower.templates t
                    WHERE t.definition = jsonb_build_object('rfm_group', g.rfm_group));

-- placeholders and declared parameters agree (0 rows)
SELECT t.template, p.placeholders, t.parameters
  FROM ecpower.templates t,
       LATERAL (SELECT COALESCE(array_agg(DISTINCT substr(v #>> '{}', 2) ORDER BY substr(v #>> '{}', 2)), '{}') AS placeholders
                  FROM jsonb_path_query(t.definition, 'strict $.**') AS v
                 WHERE jsonb_typeof(v) = 'string' AND left(v #>> '{}', 1) = '$') AS p
 WHERE p.placeholders IS DISTINCT FROM ARRAY(SELECT x FROM unnest(t.parameters) x ORDER BY x);

-- every template instantiates (sample values per parameter name) and validates
CREATE TEMP TABLE samples (param text PRIMARY KEY, val jsonb);
INSERT INTO samples VALUES
    ('r', '[4, 5]'), ('f', '[1, 5]'), ('m', '[3, 5]'), ('orders', '3'), ('days', '180'),
    ('product_ids', '[1, 2]'), ('other_product_ids', '[3]'), ('product_types', '["Tea"]'),
    ('product_tags', '["gift"]'), ('vendors', '["ZEN Co"]'), ('skus', '["SKU-1"]'), ('items', '12'),
    ('tags', '["gift", "VIP"]'), ('campaigns', '["bf2024"]'), ('sources', '["google"]'),
    ('mediums', '["email"]'), ('codes', '["WELCOME10"]'), ('from', '"2024-01-01"'), ('to', '"2024-06-30"'),
    ('channels', '["online store"]'), ('acquisition_channels', '["Instagram"]'), ('channels_a', '["online store"]'), ('channels_b', '["pos"]'),
    ('sites', '["https://google.com"]'), ('pages', '["/sale"]'), ('amount', '80'),
    ('countries', '["JP"]'), ('provinces', '["Tokyo"]'), ('cities', '["Shibuya"]'),
    ('domains', '["gmail.com"]'), ('p_alive', '0.3'), ('clv', '50'), ('min_margin', '0.5');
SELECT t.template, p FROM ecpower.templates t, unnest(t.parameters) p
 WHERE p NOT IN (SELECT param FROM samples);
SELECT count(*) AS created FROM (
    SELECT ecpower.create_segment_from_template(
               t.template, replace(t.template, '_', '-'),
               COALESCE((SELECT jsonb_object_agg(s.param, s.val) FROM samples s
                          WHERE s.param = ANY (t.parameters)), '{}'))
      FROM ecpower.templates t ORDER BY t.template) AS x;
SELECT s.slug, s.name, s.definition FROM ecpower.segments s
 WHERE s.slug IN ('one-and-done', 'bought-a-not-b', 'campaign-in-period', 'rfm-scores')
 ORDER BY s.slug;
CALL ecpower.refresh('2024-12-31 14:59:59+00');
SELECT status, segments FROM ecpower.refresh_runs;
SELECT s.slug, (SELECT count(*) FROM ecpower.segment_members(s.slug)) AS members
  FROM ecpower.segments s ORDER BY s.slug COLLATE "C";

-- spot checks against plain SQL (0 rows each)
INSERT INTO ctx VALUES ('2024-12-31 14:59:59+00', '2024-12-31');
SELECT x FROM ecpower.segment_members('one-and-done') AS x
 EXCEPT SELECT customer_id FROM co GROUP BY 1 HAVING count(*) = 1 AND (SELECT d FROM ctx) - max(day) > 180;
SELECT customer_id FROM co GROUP BY 1 HAVING count(*) = 1 AND (SELECT d FROM ctx) - max(day) > 180
 EXCEPT SELECT x FROM ecpower.segment_members('one-and-done') AS x;
SELECT x FROM ecpower.segment_members('coupon-only') AS x
 EXCEPT SELECT customer_id FROM co GROUP BY 1 HAVING bool_and(cardinality(discount_codes) > 0);
SELECT customer_id FROM co GROUP BY 1 HAVING bool_and(cardinality(discount_codes) > 0)
 EXCEPT SELECT x FROM ecpower.segment_members('coupon-only') AS x;

-- a name of one's own; Japanese names are in the view
SELECT ecpower.create_segment_from_template('lapsed', 'lapsed-1y', '{"days": 365}', '1年以上購入なし');
SELECT name FROM ecpower.segments WHERE slug = 'lapsed-1y';
SELECT template, name, name_ja FROM ecpower.templates
 WHERE template IN ('rfm_champions', 'f2_candidates', 'first_product') ORDER BY 1;

-- errors: unknown template 42704; missing, extra and mistyped parameters 22023
\set VERBOSITY default
SELECT ecpower.create_segment_from_template('no_such', 'x');
SELECT ecpower.create_segment_from_template('lapsed', 'x');
SELECT ecpower.create_segment_from_template('bought_a_not_b', 'x', '{"product_ids": [1]}');
SELECT ecpower.create_segment_from_template('lapsed', 'x', '{"days": 30, "weeks": 4, "extra": 1}');
SELECT ecpower.create_segment_from_template('rfm_loyal', 'x', '{"days": 30}');
SELECT ecpower.create_segment_from_template('lapsed', 'x', '[30]');
SELECT ecpower.create_segment_from_template('lapsed', 'x', '{"days": "thirty"}');
SELECT ecpower.create_segment_from_template('first_product', 'x', '{"product_ids": 5}');
SELECT ecpower.create_segment_from_template('new_customers', 'x', '{"days": -1}');
