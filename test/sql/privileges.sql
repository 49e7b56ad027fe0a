-- Roles (README "Roles"): ecpower.grant_roles() gives
-- ecpower_reader, ecpower_admin and ecpower_refresher their privileges; this
-- test checks a privilege matrix over EVERY routine, table, view and
-- sequence of the extension, taken from the catalog, against a policy
-- written here independently of grant_roles(), and calls every routine as
-- every role.
\i test/fixtures/setup.sql
SET client_min_messages = warning;
DO $$
DECLARE r text;
BEGIN
    FOREACH r IN ARRAY ARRAY['ecpower_reader', 'ecpower_admin', 'ecpower_refresher', 'ecp_nobody'] LOOP
        IF EXISTS (SELECT 1 FROM pg_roles WHERE rolname = r) THEN
            EXECUTE format('DROP OWNED BY %I CASCADE', r);
            EXECUTE format('DROP ROLE %I', r);
        END IF;
    END LOOP;
END $$;
CREATE ROLE ecpower_reader;
CREATE ROLE ecpower_admin;
CREATE ROLE ecpower_refresher;
CREATE ROLE ecp_nobody;
RESET client_min_messages;

-- every object of the extension, from the catalog
CREATE TEMP VIEW ext_objects AS
SELECT CASE WHEN d.classid = 'pg_proc'::regclass THEN 'routine' ELSE 'relation' END AS kind,
       coalesce(p.proname, c.relname)::text AS name,
       coalesce(p.oid::regprocedure::text, c.oid::regclass::text) AS ident,
       coalesce(p.oid, c.oid) AS oid, coalesce(p.prokind, c.relkind) AS objkind
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'ecpower'
  LEFT JOIN pg_proc p ON d.classid = 'pg_proc'::regclass AND p.oid = d.objid
  LEFT JOIN pg_class c ON d.classid = 'pg_class'::regclass AND c.oid = d.objid
 WHERE d.refclassid = 'pg_extension'::regclass AND d.deptype = 'e'
   AND (p.oid IS NOT NULL OR c.relkind IN ('r', 'p', 'v', 'm', 'S', 'f'))
UNION ALL
-- sequences of serial columns are not members themselves
SELECT 'relation', s.relname::text, s.oid::regclass::text, s.oid, s.relkind
  FROM pg_class s
 WHERE s.relnamespace = 'ecpower'::regnamespace AND s.relkind = 'S'
   AND NOT EXISTS (SELECT 1 FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.objid = s.oid
                      AND d.refclassid = 'pg_extension'::regclass);

-- objects that ecpower.privilege_map() does not classify (0 rows); add them
-- to the map in src/sql/99_privileges.sql
SELECT o.kind, o.ident AS unclassified
  FROM ext_objects o
  LEFT JOIN ecpower.privilege_map() m ON m.kind = o.kind AND m.name = o.name
 WHERE m.class IS NULL
 ORDER BY o.ident COLLATE "C";
SELECT kind, name, class AS unknown_class FROM ecpower.privilege_map()
 WHERE (kind, class) NOT IN (('routine', 'read'), ('routine', 'define'), ('routine', 'refresh'),
                             ('routine', 'owner'), ('routine', 'internal'),
                             ('relation', 'input'), ('relation', 'definition'),
                             ('relation', 'result'), ('relation', 'view'),
                             ('relation', 'lock'), ('relation', 'refresh lock'),
                             ('relation', 'audit'));
-- the map names each object once
SELECT kind, name, count(*) AS classified_twice FROM ecpower.privilege_map()
 GROUP BY 1, 2 HAVING count(*) > 1;

SELECT ecpower.grant_roles('ecpower_reader', 'ecpower_admin', 'ecpower_refresher') > 0 AS granted;

-- the policy, written independently: role class x object class -> privileges
CREATE TEMP TABLE policy (role text, class text, privs text[]);
INSERT INTO policy VALUES
    ('ecpower_reader',    'input',      '{SELECT}'),
    ('ecpower_reader',    'definition', '{SELECT}'),
    ('ecpower_reader',    'result',     '{SELECT}'),
    ('ecpower_reader',    'view',       '{SELECT}'),
    ('ecpower_reader',    'lock',       '{SELECT}'),
    ('ecpower_reader',    'refresh lock', '{SELECT}'),
    ('ecpower_reader',    'audit',      '{SELECT}'),
    ('ecpower_reader',    'read',       '{EXECUTE}'),
    ('ecpower_admin',     'input',      '{SELECT}'),
    ('ecpower_admin',     'definition', '{SELECT,INSERT,UPDATE,DELETE,USAGE}'),
    ('ecpower_admin',     'result',     '{SELECT}'),
    ('ecpower_admin',     'view',       '{SELECT}'),
    ('ecpower_admin',     'lock',       '{SELECT,UPDATE}'),
    ('ecpower_admin',     'refresh lock', '{SELECT}'),
    ('ecpower_admin',     'audit',      '{SELECT,INSERT}'),
    ('ecpower_admin',     'read',       '{EXECUTE}'),
    ('ecpower_admin',     'define',     '{EXECUTE}'),
    ('ecpower_refresher', 'input',      '{SELECT}'),
    ('ecpower_refresher', 'definition', '{SELECT}'),
    ('ecpower_refresher', 'result',     '{SELECT,INSERT,UPDATE,DELETE,USAGE}'),
    ('ecpower_refresher', 'view',       '{SELECT}'),
    ('ecpower_refresher', 'lock',       '{SELECT,UPDATE}'),
    ('ecpower_refresher', 'refresh lock', '{SELECT,UPDATE}'),
    ('ecpower_refresher', 'audit',      '{SELECT}'),
    ('ecpower_refresher', 'read',       '{EXECUTE}'),
    ('ecpower_refresher', 'refresh',    '{EXECUTE}');
-- ecp_nobody (a role with no grant) and PUBLIC get nothing

CREATE TEMP TABLE matrix AS
SELECT r.role, o.kind, o.ident, o.oid, o.objkind, m.class, pr.priv,
       coalesce(pr.priv = ANY (p.privs), false)
           AND NOT (o.objkind = 'S' AND pr.priv = 'UPDATE') AS expected,   -- nobody may setval
       CASE WHEN o.kind = 'routine' THEN has_function_privilege(r.role, o.oid, 'EXECUTE')
            WHEN o.objkind = 'S' THEN has_sequence_privilege(r.role, o.oid, pr.priv)
            ELSE has_table_privilege(r.role, o.oid, pr.priv) END AS actual
  FROM ext_objects o
  JOIN ecpower.privilege_map() m ON m.kind = o.kind AND m.name = o.name
  CROSS JOIN (VALUES ('ecpower_reader'), ('ecpower_admin'), ('ecpower_refresher'),
                     ('ecp_nobody'), ('public')) r (role)
  JOIN LATERAL unnest(CASE WHEN o.kind = 'routine' THEN '{EXECUTE}'::text[]
                           WHEN o.objkind = 'S' THEN '{SELECT,USAGE,UPDATE}'::text[]
                           ELSE '{SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER}'::text[]
                      END) pr (priv) ON true
  LEFT JOIN policy p ON p.role = r.role AND p.class = m.class;

-- cells of the matrix that differ from the policy (0 rows)
SELECT role, ident, priv, expected, actual FROM matrix
 WHERE expected <> actual ORDER BY role, ident COLLATE "C", priv;
SELECT count(DISTINCT ident) > 10 AS objects, count(*) > 200 AS cells FROM matrix;

-- schema usage: the three roles only
SELECT r AS role, has_schema_privilege(r, 'ecpower', 'USAGE') AS usage,
       has_schema_privilege(r, 'ecpower', 'CREATE') AS "create"
  FROM unnest(ARRAY['ecpower_reader', 'ecpower_admin', 'ecpower_refresher',
                    'ecp_nobody', 'public']) r;

-- Call every routine (NULL arguments) as every role: a routine the role may
-- not execute fails with 42501 before it runs; one it may execute never
-- fails with 42501 (a missing grant on something it calls would).
-- Mismatches (0 rows):
CREATE TEMP TABLE calls AS
-- (functions take their NULLs from a subquery, so that the planner cannot
-- fold a strict function's call away before the privilege check)
SELECT DISTINCT ON (role, ident) role, ident, expected,
       CASE WHEN objkind = 'p'
            THEN 'CALL ' || (oid::regproc)::text || '(' ||
                 coalesce((SELECT string_agg('NULL::' || format_type(t, NULL), ', ' ORDER BY i)
                             FROM unnest((SELECT proargtypes::oid[] FROM pg_proc WHERE pg_proc.oid = m.oid))
                                  WITH ORDINALITY u (t, i)), '') || ')'
            ELSE 'SELECT ' || (oid::regproc)::text || '(' ||
                 coalesce((SELECT string_agg('a' || i, ', ' ORDER BY i)
                             FROM unnest((SELECT proargtypes::oid[] FROM pg_proc WHERE pg_proc.oid = m.oid))
                                  WITH ORDINALITY u (t, i)), '') || ') FROM (SELECT ' ||
                 coalesce((SELECT string_agg('NULL::' || format_type(t, NULL) || ' AS a' || i, ', ' ORDER BY i)
                             FROM unnest((SELECT proargtypes::oid[] FROM pg_proc WHERE pg_proc.oid = m.oid))
                                  WITH ORDINALITY u (t, i)), '1') || ' OFFSET 0) s'
       END AS stmt,
       NULL::text AS sqlstate
  FROM matrix m
 WHERE kind = 'routine' AND role <> 'public' AND class <> 'internal'
 ORDER BY role, ident;
GRANT ALL ON calls TO PUBLIC;

CREATE FUNCTION pg_temp.call_all(who text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c record;
    state text;
BEGIN
    FOR c IN SELECT ident, stmt FROM calls WHERE role = who LOOP
        BEGIN
            EXECUTE c.stmt;
            RAISE EXCEPTION USING ERRCODE = 'EC000';   -- undo what it did
        EXCEPTION WHEN OTHERS THEN
            state := SQLSTATE;
        END;
        UPDATE calls SET sqlstate = state WHERE role = who AND ident = c.ident;
    END LOOP;
END $$;
SET statement_timeout = '60s';
SET ROLE ecpower_reader;
SELECT pg_temp.call_all('ecpower_reader');
SET ROLE ecpower_admin;
SELECT pg_temp.call_all('ecpower_admin');
SET ROLE ecpower_refresher;
SELECT pg_temp.call_all('ecpower_refresher');
SET ROLE ecp_nobody;
SELECT pg_temp.call_all('ecp_nobody');
RESET ROLE;
RESET statement_timeout;
SELECT role, ident, expected AS may_execute, sqlstate FROM calls
 WHERE expected = (sqlstate = '42501') OR sqlstate IS NULL
 ORDER BY role, ident COLLATE "C";
SELECT count(*) > 0 AS denied_calls_checked FROM calls WHERE NOT expected;

-- the reader reads, but cannot change definitions, settings or results
\set VERBOSITY sqlstate
SET ROLE ecpower_reader;
SELECT count(*) FROM ecpower.customers;
SELECT count(*) FROM ecpower.segments;
SELECT * FROM ecpower.customer_segments(1);
INSERT INTO ecpower.segments (slug, name, definition) VALUES ('x', 'x', '{"country": ["JP"]}');
UPDATE ecpower.settings SET currency = 'EUR';
DELETE FROM ecpower.refresh_runs;
INSERT INTO ecpower.customers (customer_id) VALUES (1);
SELECT ecpower.grant_roles('ecpower_reader', 'ecpower_reader', 'ecpower_reader');
-- the admin edits definitions and settings, not results or input
SET ROLE ecpower_admin;
UPDATE ecpower.settings SET currency = 'EUR';
DELETE FROM ecpower.membership;
INSERT INTO ecpower.orders (order_id, customer_id, ordered_at, total) VALUES (1, 1, now(), 1);
-- the refresher writes results, not definitions
SET ROLE ecpower_refresher;
DELETE FROM ecpower.membership;
UPDATE ecpower.settings SET currency = 'EUR';
-- a role without grants cannot even look
SET ROLE ecp_nobody;
SELECT count(*) FROM ecpower.customers;
SELECT * FROM ecpower.segment_members('x');
RESET ROLE;
\set VERBOSITY default

SET client_min_messages = warning;
DROP EXTENSION ecpower CASCADE;
DROP OWNED BY ecpower_reader, ecpower_admin, ecpower_refresher, ecp_nobody;
DROP ROLE ecpower_reader, ecpower_admin, ecpower_refresher, ecp_nobody;
