/*
 * The profit template (docs/profit.md): customers whose gross margin over
 * all their counted orders is at least a minimum.  The rows are appended to
 * the template views of src/sql/42_templates.sql and
 * src/sql/43_template_parameters.sql as they stand, so that sources adding
 * templates of their own compose in any order.
 */
DO $profit_templates$
BEGIN
    EXECUTE pg_catalog.format(
        'CREATE OR REPLACE VIEW ecpower.templates AS %s UNION ALL %s',
        pg_catalog.rtrim(pg_catalog.pg_get_viewdef('ecpower.templates'::pg_catalog.regclass), '; '),
        $sql$SELECT 'high_margin'::text, 'value'::text, 'High-margin customers'::text,
                    '高粗利率顧客'::text,
                    'Gross margin (gross profit / net revenue of all counted orders) of at least min_margin; customers with an order of unknown cost are not members.'::text,
                    '{min_margin}'::text[],
                    '{"metric": "gross_margin", "gte": "$min_margin"}'::jsonb$sql$);
    EXECUTE pg_catalog.format(
        'CREATE OR REPLACE VIEW ecpower.template_parameters AS %s UNION ALL %s',
        pg_catalog.rtrim(pg_catalog.pg_get_viewdef('ecpower.template_parameters'::pg_catalog.regclass), '; '),
        $sql$SELECT 'high_margin'::text, 1::integer, 'min_margin'::text, 'numeric'::text,
                    'gross margin at least this (0.5 = 50 %)'::text, '0.5'::jsonb$sql$);
END
$profit_templates$;
COMMENT ON VIEW ecpower.templates IS
    'ready-made segment definitions with "$param" placeholders (README "Templates")';
COMMENT ON VIEW ecpower.template_parameters IS
    'one row per parameter of a segment template: position, type, meaning and an example value';
