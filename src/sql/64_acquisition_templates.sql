/*
 * Acquisition templates (docs/analyses.md "Templates for acquisition"):
 * customers acquired with a discount, customers whose first order came
 * through the Shop app, and customers who bought a product and then nothing
 * for a number of days.  The templates and parameters of the earlier
 * sources stay as they are, under the names _templates_released and
 * _template_parameters_released; ecpower.templates and
 * ecpower.template_parameters list them together with these.
 */

ALTER VIEW ecpower.templates RENAME TO _templates_released;
ALTER VIEW ecpower.template_parameters RENAME TO _template_parameters_released;

CREATE VIEW ecpower.templates AS
SELECT r.template, r.category, r.name, r.name_ja, r.description, r.parameters, r.definition
  FROM ecpower._templates_released AS r
UNION ALL
SELECT t.template, t.category, t.name, t.name_ja, t.description, t.parameters, t.definition
  FROM (VALUES
('acquired_with_discount'::text, 'campaign'::text, 'Acquired with a discount'::text,
 'クーポン利用で獲得した顧客'::text,
 'The first order used a discount code.'::text, '{}'::text[],
 '{"orders": {"nth": "first", "has_discount": true}}'::jsonb),
('first_order_shop_app', 'channel', 'First order in the Shop app', 'Shopアプリで初回購入した顧客',
 'The first order came through the Shop app (sales channel shop_app, as the Shopify import and the demo store name it).',
 '{}', '{"orders": {"nth": "first", "sales_channel": ["shop_app"]}}'),
('bought_then_nothing', 'product', 'Bought a product, then nothing for days', '商品購入後に購入が途絶えた顧客',
 'The latest order held one of product_ids and is at least days days old (60 is the usual choice).',
 '{product_ids,days}',
 '{"all": [{"orders": {"nth": "latest", "product_id": "$product_ids"}}, {"metric": "days_since_last_order", "gte": "$days"}]}')
) AS t(template, category, name, name_ja, description, parameters, definition);
COMMENT ON VIEW ecpower.templates IS
    'ready-made segment definitions with "$param" placeholders (README "Templates")';

CREATE VIEW ecpower.template_parameters AS
SELECT r.template, r.position, r.parameter, r.type, r.description, r.example
  FROM ecpower._template_parameters_released AS r
UNION ALL
SELECT p.template, p.position, p.parameter, p.type, p.description, p.example
  FROM (VALUES
('bought_then_nothing'::text, 1::integer, 'product_ids'::text, 'bigint[]'::text,
 'product ids (ecpower.products.product_id)'::text, '[7000000000060, 7000000000065]'::jsonb),
('bought_then_nothing', 2, 'days', 'integer',
 'no order for at least this many days after the latest one (60 is the usual choice)', '60')
) AS p(template, position, parameter, type, description, example);
COMMENT ON VIEW ecpower.template_parameters IS
    'one row per parameter of a segment template: position, type, meaning and an example value';

/* the examples view follows the new lists */
CREATE OR REPLACE VIEW ecpower.template_examples AS
SELECT t.template,
       COALESCE(x.params, '{}'::jsonb) AS params,
       CASE WHEN x.params IS NULL
            THEN pg_catalog.format('SELECT ecpower.create_segment_from_template(%L, %L);',
                                   t.template, pg_catalog.replace(t.template, '_', '-'))
            ELSE pg_catalog.format('SELECT ecpower.create_segment_from_template(%L, %L, %L);',
                                   t.template, pg_catalog.replace(t.template, '_', '-'), x.params)
       END AS example
  FROM ecpower.templates AS t
  LEFT JOIN (SELECT p.template,
                    pg_catalog.jsonb_object_agg(p.parameter, p.example) AS params
               FROM ecpower.template_parameters AS p
              GROUP BY p.template) AS x
    ON x.template OPERATOR(pg_catalog.=) t.template;
