-- Install-script and function hardening (README "Security"), the
-- CVE-2020-14350 class: an unprivileged role plants a hostile twin of every
-- pg_catalog function and operator (and better-matching variants: varchar for
-- text, integer for bigint/numeric, text for regclass, timestamp for
-- timestamptz), hostile domains named like built-in types and hostile casts in
-- public and in the installing role's own schema.  Every hostile object
-- records its call in public.hostile_audit.  CREATE EXTENSION, ALTER EXTENSION
-- UPDATE from the first release and calls of ecpower's functions with the
-- hostile schemas first on search_path must leave the audit table empty.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS ecpower CASCADE;
DO $$ BEGIN
    IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'ecp_attacker') THEN
        EXECUTE 'DROP OWNED BY ecp_attacker CASCADE';
        DROP ROLE ecp_attacker;
    END IF;
END $$;
CREATE ROLE ecp_attacker;
GRANT CREATE ON SCHEMA public TO ecp_attacker;
SELECT current_user AS installer \gset
CREATE SCHEMA :"installer" AUTHORIZATION ecp_attacker;
SET ROLE ecp_attacker;

CREATE TABLE public.hostile_audit (what text);
GRANT ALL ON public.hostile_audit TO PUBLIC;
CREATE FUNCTION public.hostile_hit(what text) RETURNS boolean
LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS
$$ BEGIN INSERT INTO public.hostile_audit VALUES (what); RETURN true; END $$;
GRANT EXECUTE ON FUNCTION public.hostile_hit(text) TO PUBLIC;

-- type substitutions that make a hostile function a better match than the
-- built-in one (identity row: the exact twin, captured when the hostile
-- schema comes before pg_catalog)
CREATE TEMP TABLE subst (orig regtype, repl regtype);
INSERT INTO subst VALUES (NULL, NULL), ('text', 'varchar'), ('bigint', 'integer'),
    ('numeric', 'integer'), ('regclass', 'text'), ('timestamptz', 'timestamp'),
    ('double precision', 'integer'), ('jsonb', 'text');

CREATE TEMP VIEW hostile_funcs AS
SELECT DISTINCT ON (nsp, proname, args) nsp, proname, args, rettype, tag
  FROM (SELECT s.nsp, p.proname,
               (SELECT string_agg(format_type(CASE WHEN u.t = x.orig THEN x.repl ELSE u.t END,
                                              NULL), ', ' ORDER BY u.i)
                  FROM unnest(p.proargtypes::oid[]) WITH ORDINALITY u(t, i)) AS args,
               format_type(p.prorettype, NULL) AS rettype, p.oid::regprocedure::text AS tag
          FROM pg_proc p, subst x, (VALUES ('public'), (:'installer')) s(nsp)
         WHERE p.pronamespace = 'pg_catalog'::regnamespace AND p.prokind = 'f'
           AND NOT p.proretset AND p.proallargtypes IS NULL
           AND NOT EXISTS (SELECT 1 FROM pg_type t
                            WHERE (t.oid = ANY (p.proargtypes) OR t.oid = p.prorettype)
                              AND t.typtype = 'p')
           AND (x.orig IS NULL OR x.orig = ANY (p.proargtypes))) q
 ORDER BY nsp, proname, args, tag;

CREATE TEMP VIEW hostile_ops AS
SELECT DISTINCT ON (nsp, oprname, lt, rt)
       nsp, oprname, lt, rt, rettype, 'hostile_op_' || row_number() OVER () AS fname, tag
  FROM (SELECT s.nsp, o.oprname,
               CASE WHEN o.oprleft = 0 THEN NULL
                    ELSE format_type(CASE WHEN o.oprleft = x.orig THEN x.repl
                                          ELSE o.oprleft END, NULL) END AS lt,
               format_type(CASE WHEN o.oprright = x.orig THEN x.repl ELSE o.oprright END,
                           NULL) AS rt,
               format_type(o.oprresult, NULL) AS rettype, o.oid::regoperator::text AS tag
          FROM pg_operator o, subst x, (VALUES ('public'), (:'installer')) s(nsp)
         WHERE o.oprnamespace = 'pg_catalog'::regnamespace
           AND NOT EXISTS (SELECT 1 FROM pg_type t
                            WHERE t.oid IN (o.oprleft, o.oprright, o.oprresult)
                              AND t.typtype = 'p')
           AND (x.orig IS NULL OR x.orig IN (o.oprleft, o.oprright))) q
 ORDER BY nsp, oprname, lt, rt, tag;
CREATE TEMP TABLE hostile_ops_t AS SELECT * FROM hostile_ops;

\set ECHO none
\o /dev/null
SELECT format('CREATE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE plpgsql '
              'SET search_path = pg_catalog, pg_temp AS '
              '$h$ BEGIN PERFORM public.hostile_hit(%L); RETURN NULL; END $h$',
              nsp, proname, args, rettype, tag)
  FROM hostile_funcs \gexec
SELECT format('CREATE FUNCTION %I.%I(%s) RETURNS %s LANGUAGE plpgsql '
              'SET search_path = pg_catalog, pg_temp AS '
              '$h$ BEGIN PERFORM public.hostile_hit(%L); RETURN NULL; END $h$',
              nsp, fname, concat_ws(', ', lt, rt), rettype, tag)
  FROM hostile_ops_t \gexec
SELECT format('CREATE OPERATOR %I.%s (%s FUNCTION = %I.%I)', nsp, oprname,
              concat_ws(', ', 'LEFTARG = ' || lt, 'RIGHTARG = ' || rt, ''), nsp, fname)
  FROM hostile_ops_t \gexec
-- domains named like built-in types, whose check records every use
SELECT format('CREATE DOMAIN %I.%I AS pg_catalog.%I CHECK (public.hostile_hit(%L))',
              s.nsp, t, t, 'domain ' || t)
  FROM unnest(ARRAY['text', 'int4', 'int8', 'numeric', 'jsonb', 'date', 'timestamptz',
                    'bool', 'float8', 'name', 'oid', 'regclass', 'varchar']) t,
       (VALUES ('public'), (:'installer')) s(nsp) \gexec
\o
\set ECHO all
-- a hostile type with implicit casts from the types ecpower works with
CREATE TYPE public.hostile_t AS (x int);
\set ECHO none
SELECT format('CREATE FUNCTION public.hostile_cast_%s(pg_catalog.%I) RETURNS public.hostile_t '
              'LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS '
              '$h$ BEGIN PERFORM public.hostile_hit(%L); RETURN NULL; END $h$;'
              'CREATE CAST (pg_catalog.%I AS public.hostile_t) '
              'WITH FUNCTION public.hostile_cast_%s(pg_catalog.%I) AS IMPLICIT',
              t, t, 'cast from ' || t, t, t, t)
  FROM unnest(ARRAY['text', 'int4', 'int8', 'numeric', 'jsonb', 'date', 'timestamptz']) t \gexec
\set ECHO all
RESET ROLE;

-- the trap is armed: a call that resolves to a twin is recorded
SELECT count(*) > 5000 AS many_hostile_functions FROM pg_proc
 WHERE pronamespace IN ('public'::regnamespace, current_user::regnamespace);
SET search_path = public, pg_catalog;
SELECT lower('A'), 'a'::varchar = 'a'::varchar AS eq, now() IS NULL AS now_is_null;
RESET search_path;
-- with the default search_path ("$user", public after pg_catalog), the
-- better-matching variants capture
SELECT 'a'::varchar < 'b'::varchar AS lt;
SELECT what FROM public.hostile_audit ORDER BY what COLLATE "C";
TRUNCATE public.hostile_audit;

-- CREATE EXTENSION with the hostile schemas on search_path
SET search_path = public, pg_catalog;
SET client_min_messages = warning;
CREATE EXTENSION ecpower;
RESET search_path;
RESET client_min_messages;
SELECT what AS hostile_call_during_create FROM public.hostile_audit;

-- ALTER EXTENSION UPDATE from the first release
SET client_min_messages = warning;
DROP EXTENSION ecpower;
SET search_path = public, pg_catalog;
CREATE EXTENSION ecpower VERSION '0.1.0';
ALTER EXTENSION ecpower UPDATE;
RESET search_path;
RESET client_min_messages;
SELECT what AS hostile_call_during_update FROM public.hostile_audit;

-- ecpower's functions called by a user whose search_path puts the hostile
-- schemas first (a BI tool, a cron job)
SET search_path = public, :"installer", pg_catalog;
UPDATE ecpower.settings SET store_timezone = 'Asia/Tokyo';
INSERT INTO ecpower.customers (customer_id, email, tags) VALUES (1, 'a@example.com', '{vip}');
INSERT INTO ecpower.products (product_id, title) VALUES (1, 'Tea');
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total)
     VALUES (1, 1, '2024-05-01 10:00+00', 25);
INSERT INTO ecpower.order_lines (order_id, line_no, product_id, quantity, price)
     VALUES (1, 1, 1, 2, 12.5);
SELECT ecpower.validate_definition('{"all": [{"country": ["JP"]}, {"orders": {"nth": "first"}}]}');
SELECT ecpower.create_segment('vip', 'VIP', '{"customer_tag": ["vip"]}');
SELECT ecpower.create_segment('buyers', 'Buyers', '{"metric": "total_spent", "gte": 10}');
SELECT ecpower.update_segment('buyers', '{"metric": "total_spent", "gte": 20}');
SELECT count(*) FROM ecpower.evaluate('{"segment": "vip"}', '2024-06-01 00:00+00');
CALL ecpower.refresh('2024-06-01 00:00+00');
CALL ecpower.refresh_if_stale();
SELECT * FROM ecpower.segment_members('buyers');
SELECT * FROM ecpower.segment_members('vip', '2024-06-01');
SELECT * FROM ecpower.customer_segments(1);
SELECT rfm_group FROM ecpower.customer_rfm;
SELECT stale, running, failures_since_success FROM ecpower.freshness('100000 days');
SELECT 1 AS statements FROM ecpower.grant_statements('a', 'b', 'c') LIMIT 1;
SELECT ecpower.drop_segment('vip');
RESET search_path;
SELECT what AS hostile_call_at_run_time FROM public.hostile_audit;

-- Lint: every SQL or PL/pgSQL routine of the extension pins search_path;
-- C functions that read the database do too (immutable C functions and
-- aggregate support functions compute only).  Routines breaking it (0 rows):
SELECT p.oid::regprocedure AS unpinned_routine, l.lanname
  FROM pg_proc p
  JOIN pg_depend d ON d.classid = 'pg_proc'::regclass AND d.objid = p.oid
                  AND d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ecpower'
  JOIN pg_language l ON l.oid = p.prolang
 WHERE p.prokind <> 'a'
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                    WHERE c = 'search_path=pg_catalog, pg_temp')
   AND NOT (l.lanname = 'c' AND p.provolatile = 'i')
   AND NOT EXISTS (SELECT 1 FROM pg_aggregate a
                    WHERE p.oid IN (a.aggtransfn, a.aggfinalfn, a.aggcombinefn,
                                    a.aggserialfn, a.aggdeserialfn))
   -- procedures that COMMIT cannot have a SET clause; they pin the path
   -- with set_config() first (and are called in the run-time part above)
   AND NOT (p.prokind = 'p' AND p.proname IN ('refresh', 'refresh_if_stale', 'shopify_pull',
                                              'shopify_push', 'shopify_sync'))
 ORDER BY p.oid::regprocedure::text COLLATE "C";

-- SECURITY DEFINER only with a pinned search_path (0 rows), and how many
SELECT p.oid::regprocedure AS unsafe_security_definer
  FROM pg_proc p
 WHERE p.pronamespace = 'ecpower'::regnamespace AND p.prosecdef
   AND NOT EXISTS (SELECT 1 FROM unnest(p.proconfig) c
                    WHERE c = 'search_path=pg_catalog, pg_temp');
SELECT count(*) AS security_definer_routines FROM pg_proc
 WHERE pronamespace = 'ecpower'::regnamespace AND prosecdef;

-- the ecpower schema is not writable by anyone but its owner, and PUBLIC
-- holds no privilege on any ecpower object (0 rows)
SELECT c.relname AS granted_to_public
  FROM pg_class c, aclexplode(coalesce(c.relacl, acldefault('r', c.relowner))) a
 WHERE c.relnamespace = 'ecpower'::regnamespace AND a.grantee = 0
UNION ALL
SELECT p.oid::regprocedure::text
  FROM pg_proc p, aclexplode(coalesce(p.proacl, acldefault('f', p.proowner))) a
 WHERE p.pronamespace = 'ecpower'::regnamespace AND a.grantee = 0
UNION ALL
SELECT 'schema ecpower'
  FROM pg_namespace n, aclexplode(coalesce(n.nspacl, acldefault('n', n.nspowner))) a
 WHERE n.nspname = 'ecpower' AND a.grantee = 0;

-- a schema "ecpower" created beforehand by another role is refused
SET client_min_messages = warning;
DROP EXTENSION ecpower;
DROP SCHEMA ecpower;
\set VERBOSITY terse
CREATE SCHEMA ecpower AUTHORIZATION ecp_attacker;
CREATE EXTENSION ecpower;
ALTER SCHEMA ecpower OWNER TO CURRENT_USER;
CREATE FUNCTION ecpower.lower(varchar) RETURNS text LANGUAGE sql AS 'SELECT 1::text';
CREATE EXTENSION ecpower;
\set VERBOSITY default
DROP SCHEMA ecpower CASCADE;
CREATE EXTENSION ecpower;

-- clean up
DROP OWNED BY ecp_attacker CASCADE;
DROP ROLE ecp_attacker;
