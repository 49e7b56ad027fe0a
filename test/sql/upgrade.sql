-- Upgrades (README "Upgrades"): install the first release, load data,
-- ALTER EXTENSION UPDATE, and prove the data is kept and the schema is
-- identical to a fresh install of the current version.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS ecpower CASCADE;
DROP SCHEMA IF EXISTS ecp_check CASCADE;
SET TimeZone = 'UTC';

/*
 * Every ecpower object with its definition, as (kind, name, detail) rows
 * that do not depend on OIDs, creation order or column positions of dropped
 * columns: extension members, relations, columns, defaults, constraints,
 * indexes, triggers, views, sequences, policies, functions (their whole
 * definition: body, volatility, strictness, proconfig, SECURITY), aggregates,
 * types, operators, comments, owners, ACLs and extconfig.
 */
SET check_function_bodies = off;
CREATE SCHEMA ecp_check;
CREATE FUNCTION ecp_check.acl(aclitem[]) RETURNS text
LANGUAGE sql IMMUTABLE AS
$$ SELECT string_agg(a::text, ',' ORDER BY a::text) FROM unnest($1) a $$;

CREATE FUNCTION ecp_check.objects() RETURNS TABLE (kind text, name text, detail text)
LANGUAGE sql STABLE AS $$
WITH e AS (SELECT oid, extnamespace AS nsp FROM pg_extension WHERE extname = 'ecpower'),
rel AS (SELECT c.* FROM pg_class c, e WHERE c.relnamespace = e.nsp)
SELECT 'member', pg_describe_object(d.classid, d.objid, d.objsubid), d.deptype::text
  FROM pg_depend d, e
 WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = e.oid
UNION ALL
SELECT 'extension', x.extname,
       concat_ws(' | ', x.extversion, x.extrelocatable, pg_get_userbyid(x.extowner),
                 (SELECT string_agg(t.c::regclass::text || ' ' || coalesce(t.w, ''), ', '
                                    ORDER BY t.c::regclass::text)
                    FROM unnest(x.extconfig, x.extcondition) AS t(c, w)))
  FROM pg_extension x WHERE x.extname = 'ecpower'
UNION ALL
SELECT 'schema', n.nspname,
       concat_ws(' | ', pg_get_userbyid(n.nspowner), ecp_check.acl(n.nspacl),
                 obj_description(n.oid, 'pg_namespace'))
  FROM pg_namespace n, e WHERE n.oid = e.nsp
UNION ALL
SELECT 'relation', c.relname,
       concat_ws(' | ', c.relkind, c.relpersistence, c.reloptions::text,
                 c.relrowsecurity, c.relforcerowsecurity, pg_get_userbyid(c.relowner),
                 ecp_check.acl(c.relacl), obj_description(c.oid, 'pg_class'),
                 CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END)
  FROM rel c
UNION ALL
SELECT 'column', c.relname || '.' || a.attname,
       concat_ws(' | ',
                 row_number() OVER (PARTITION BY c.oid ORDER BY a.attnum),
                 format_type(a.atttypid, a.atttypmod), a.attnotnull,
                 pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,
                 co.collname, ecp_check.acl(a.attacl), col_description(c.oid, a.attnum))
  FROM rel c JOIN pg_attribute a ON a.attrelid = c.oid
  LEFT JOIN pg_attrdef ad ON ad.adrelid = c.oid AND ad.adnum = a.attnum
  LEFT JOIN pg_collation co ON co.oid = a.attcollation AND a.attcollation <> 100
 WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind <> 'i'
UNION ALL
SELECT 'constraint', coalesce(c.relname, t.typname) || '.' || k.conname,
       concat_ws(' | ', pg_get_constraintdef(k.oid), k.condeferrable, k.condeferred,
                 obj_description(k.oid, 'pg_constraint'))
  FROM pg_constraint k
  JOIN e ON k.connamespace = e.nsp
  LEFT JOIN pg_class c ON c.oid = k.conrelid
  LEFT JOIN pg_type t ON t.oid = k.contypid
UNION ALL
SELECT 'index', c.relname, pg_get_indexdef(c.oid) FROM rel c WHERE c.relkind IN ('i', 'I')
UNION ALL
SELECT 'trigger', c.relname || '.' || g.tgname,
       concat_ws(' | ', pg_get_triggerdef(g.oid), g.tgenabled)
  FROM rel c JOIN pg_trigger g ON g.tgrelid = c.oid WHERE NOT g.tgisinternal
UNION ALL
SELECT 'policy', p.tablename || '.' || p.policyname,
       concat_ws(' | ', p.permissive, p.roles::text, p.cmd, p.qual, p.with_check)
  FROM pg_policies p, e WHERE p.schemaname = e.nsp::regnamespace::text
UNION ALL
SELECT 'sequence', c.relname,
       concat_ws(' | ', format_type(s.seqtypid, NULL), s.seqstart, s.seqincrement,
                 s.seqmax, s.seqmin, s.seqcache, s.seqcycle,
                 (SELECT string_agg(pg_describe_object(d.refclassid, d.refobjid, d.refobjsubid)
                                    || ' ' || d.deptype::text, ', ')
                    FROM pg_depend d
                   WHERE d.classid = 'pg_class'::regclass AND d.objid = c.oid
                     AND d.refclassid = 'pg_class'::regclass))
  FROM rel c JOIN pg_sequence s ON s.seqrelid = c.oid
UNION ALL
SELECT 'function', p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')',
       concat_ws(' | ', p.prokind, pg_get_userbyid(p.proowner), ecp_check.acl(p.proacl),
                 obj_description(p.oid, 'pg_proc'),
                 CASE WHEN p.prokind = 'a'
                      THEN (SELECT concat_ws(' ', g.aggkind, g.aggnumdirectargs,
                                             g.aggtransfn, g.aggfinalfn, g.aggcombinefn,
                                             g.aggserialfn, g.aggdeserialfn, g.aggmtransfn,
                                             g.aggfinalextra, g.aggfinalmodify,
                                             format_type(g.aggtranstype, NULL),
                                             g.aggtransspace, g.agginitval,
                                             p.proparallel, pg_get_function_result(p.oid))
                              FROM pg_aggregate g WHERE g.aggfnoid = p.oid)
                      ELSE pg_get_functiondef(p.oid) END)
  FROM pg_proc p, e WHERE p.pronamespace = e.nsp
UNION ALL
SELECT 'type', t.typname,
       concat_ws(' | ', t.typtype, t.typcategory, t.typlen, t.typbyval, t.typalign,
                 t.typstorage, t.typinput, t.typoutput, t.typreceive, t.typsend,
                 t.typmodin, t.typanalyze, format_type(t.typbasetype, t.typtypmod),
                 t.typnotnull, t.typdefault, ecp_check.acl(t.typacl),
                 obj_description(t.oid, 'pg_type'),
                 (SELECT string_agg(l.enumlabel, ',' ORDER BY l.enumsortorder)
                    FROM pg_enum l WHERE l.enumtypid = t.oid))
  FROM pg_type t, e WHERE t.typnamespace = e.nsp
UNION ALL
SELECT 'operator', o.oid::regoperator::text,
       concat_ws(' | ', o.oprcode, o.oprcom::regoperator, o.oprnegate::regoperator,
                 o.oprrest, o.oprjoin, o.oprcanmerge, o.oprcanhash,
                 obj_description(o.oid, 'pg_operator'))
  FROM pg_operator o, e WHERE o.oprnamespace = e.nsp
$$;

-- md5 of the ordered contents of every input table
CREATE FUNCTION ecp_check.data_md5() RETURNS TABLE (tab text, md5 text)
LANGUAGE sql STABLE AS $$
SELECT 'settings', md5(string_agg(s::text, ',')) FROM ecpower.settings s
UNION ALL
SELECT 'customers', md5(string_agg(c::text, ',' ORDER BY customer_id)) FROM ecpower.customers c
UNION ALL
SELECT 'products', md5(string_agg(p::text, ',' ORDER BY product_id)) FROM ecpower.products p
UNION ALL
SELECT 'orders', md5(string_agg(o::text, ',' ORDER BY order_id)) FROM ecpower.orders o
UNION ALL
-- (the columns of 0.1.0: later versions add nullable ones)
SELECT 'order_lines', md5(string_agg(row(l.order_id, l.line_no, l.product_id, l.variant_id,
                                         l.sku, l.quantity, l.price)::text, ',' ORDER BY order_id, line_no))
  FROM ecpower.order_lines l
$$;

-- the first release, with a little data in it
CREATE EXTENSION ecpower VERSION '0.1.0';
RESET client_min_messages;
SELECT extversion FROM pg_extension WHERE extname = 'ecpower';

UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo', currency = 'JPY';
INSERT INTO ecpower.customers (customer_id, email, tags, country)
SELECT i, 'c' || i || '@example.com', ARRAY['t' || (i % 3)], 'JP'
  FROM generate_series(1, 200) i;
INSERT INTO ecpower.products (product_id, title, product_type)
SELECT i, 'Product ' || i, 'type' || (i % 4) FROM generate_series(1, 20) i;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total, refunded, tags)
SELECT i, 1 + i % 200, timestamptz '2024-01-01 09:00+00' + i * interval '7 hours',
       (i % 97) * 10 + 0.5, CASE WHEN i % 11 = 0 THEN 5 ELSE 0 END, ARRAY['o' || (i % 5)]
  FROM generate_series(1, 1000) i;
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, sku, quantity, price)
SELECT o, l, 1 + (o * l) % 20, 'SKU' || ((o * l) % 20), 1 + o % 3, 10
  FROM generate_series(1, 1000) o, generate_series(1, 2) l;

CREATE TEMP TABLE before_update AS SELECT * FROM ecp_check.data_md5();

-- one update path from the first release, and no downgrade path
SELECT source, target, path FROM pg_extension_update_paths('ecpower')
 ORDER BY source COLLATE "C", target COLLATE "C";

ALTER EXTENSION ecpower UPDATE;
SELECT extversion FROM pg_extension WHERE extname = 'ecpower';
SELECT extversion = default_version AS at_default_version
  FROM pg_extension, pg_available_extensions WHERE extname = 'ecpower' AND name = extname;

-- the data is kept: tables whose contents changed (0 rows)
SELECT * FROM before_update EXCEPT SELECT * FROM ecp_check.data_md5();

-- customer keys continue after the update
INSERT INTO ecpower.customers (customer_id) VALUES (201);
SELECT ckey FROM ecpower.customers WHERE customer_id = 201;

CREATE TEMP TABLE upgraded AS SELECT * FROM ecp_check.objects();

-- a fresh install of the current version
SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
CREATE EXTENSION ecpower;
RESET client_min_messages;
CREATE TEMP TABLE fresh AS SELECT * FROM ecp_check.objects();

-- the listing covers the whole extension
SELECT count(*) > 100 AS many_rows,
       count(*) FILTER (WHERE kind = 'function') > 3 AS functions,
       count(*) FILTER (WHERE kind = 'column') > 40 AS columns
  FROM fresh;

-- every difference between the upgraded and the fresh schema (0 rows)
(SELECT 'only after update' AS side, * FROM upgraded EXCEPT ALL SELECT 'only after update', * FROM fresh)
UNION ALL
(SELECT 'only in fresh install', * FROM fresh EXCEPT ALL SELECT 'only in fresh install', * FROM upgraded)
ORDER BY 2, 3, 1;

SET client_min_messages = warning;
DROP SCHEMA ecp_check CASCADE;
