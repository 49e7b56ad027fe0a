-- Typed template parameters: ecpower.template_parameters describes every
-- parameter ecpower.templates names, in the same order, with a type and an
-- example whose JSON form matches the type; ecpower.template_examples calls
-- work for every template, and the resulting segments refresh and have
-- members on the demo store.
\i test/fixtures/setup.sql
SET DateStyle = 'ISO, YMD';
\set SHOW_CONTEXT never

-- the parameters of each template, in order, are exactly those it names (0 rows)
SELECT t.template, t.parameters, p.described
  FROM ecpower.templates t
  LEFT JOIN (SELECT template, array_agg(parameter ORDER BY position) AS described
               FROM ecpower.template_parameters GROUP BY template) p USING (template)
 WHERE COALESCE(p.described, '{}') IS DISTINCT FROM t.parameters;
SELECT template FROM ecpower.template_parameters
 EXCEPT SELECT template FROM ecpower.templates;
-- positions are 1..n without gaps, every row is described
SELECT template FROM ecpower.template_parameters GROUP BY template
HAVING array_agg(position ORDER BY position) <> ARRAY(SELECT generate_series(1, count(position)::int));
SELECT template, parameter FROM ecpower.template_parameters
 WHERE description IS NULL OR description = '' OR example IS NULL;

-- the types in use, and examples whose JSON form does not fit the type (0 rows)
SELECT type, count(*) FROM ecpower.template_parameters GROUP BY type ORDER BY type COLLATE "C";
SELECT template, parameter, type, example FROM ecpower.template_parameters
 WHERE NOT CASE type
         WHEN 'integer' THEN jsonb_typeof(example) = 'number' AND example::text ~ '^-?[0-9]+$'
         WHEN 'numeric' THEN jsonb_typeof(example) = 'number'
         WHEN 'date' THEN jsonb_typeof(example) = 'string'
                          AND (example #>> '{}') ~ '^\d{4}-\d{2}-\d{2}$'
                          AND (example #>> '{}')::date IS NOT NULL
         WHEN 'bigint[]' THEN jsonb_typeof(example) = 'array' AND jsonb_array_length(example) > 0
                          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(example) e
                                           WHERE jsonb_typeof(e) <> 'number' OR e::text !~ '^-?[0-9]+$')
         WHEN 'text[]' THEN jsonb_typeof(example) = 'array' AND jsonb_array_length(example) > 0
                          AND NOT EXISTS (SELECT 1 FROM jsonb_array_elements(example) e
                                           WHERE jsonb_typeof(e) <> 'string')
         WHEN 'integer[]' THEN jsonb_typeof(example) = 'array' AND jsonb_array_length(example) = 2
                          AND (example ->> 0)::int <= (example ->> 1)::int
         ELSE false END;

-- one example per template; three of them as a user reads them
SELECT count(*) AS examples, count(DISTINCT template) AS templates FROM ecpower.template_examples;
SELECT count(*) AS templates FROM ecpower.templates;
SELECT template, params, example FROM ecpower.template_examples
 WHERE template IN ('rfm_champions', 'f2_candidates', 'campaign_in_period') ORDER BY template;

-- every example statement runs as written and makes a valid segment
DO $$
DECLARE
    e record;
BEGIN
    FOR e IN SELECT * FROM ecpower.template_examples ORDER BY template LOOP
        EXECUTE e.example;
    END LOOP;
END
$$;
SELECT count(*) AS created FROM ecpower.segments;
-- each segment holds its template's definition with the example values filled in
SELECT s.slug FROM ecpower.segments s
  JOIN ecpower.template_examples x ON replace(x.template, '_', '-') = s.slug
  JOIN ecpower.templates t USING (template)
 WHERE s.definition IS DISTINCT FROM ecpower._template_fill(t.definition, x.params)
    OR jsonb_path_exists(s.definition, 'strict $.** ? (@.type() == "string" && @ starts with "$")');
-- and all of them refresh; on the demo store, refreshed as of its last day,
-- every example selects customers (the examples are values the demo store
-- carries), so a new user trying them sees members: (0 rows)
SELECT customer_rows FROM ecpower.generate_demo_store(3000, 11);
-- (the prediction templates read the scores of the last fit)
SELECT count(*) > 0 AS scored FROM ecpower.fit_predictions('2025-12-31 23:59:59+00');
CALL ecpower.refresh('2025-12-31 23:59:59+00');
SELECT status, segments FROM ecpower.refresh_runs ORDER BY run_id DESC LIMIT 1;
SELECT s.slug FROM ecpower.segments s
 WHERE NOT EXISTS (SELECT 1 FROM ecpower.segment_members(s.slug))
 ORDER BY s.slug COLLATE "C";

-- a value of the wrong type is refused by the definition check (22023)
SELECT ecpower.create_segment_from_template('lapsed', 'lapsed-bad', '{"days": "ninety"}');
SELECT ecpower.create_segment_from_template('first_product', 'first-bad', '{"product_ids": 1001}');
