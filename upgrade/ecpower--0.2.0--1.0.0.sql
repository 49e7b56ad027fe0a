/*
 * ecpower update script 0.2.0 -> 1.0.0 (docs/upgrades.md).
 *
 * Written for this one step and frozen once released: every object added,
 * changed or removed between 0.2.0 and 1.0.0, in the order of the install
 * sources they come from (src/sql/NN_*.sql, named in the section lines).
 * Tables keep their rows: columns are added or renamed in place, and only
 * the order cache, which the next refresh rebuilds, is emptied.
 * test/sql/upgrade.sql checks that 0.1.0 -> 0.2.0 -> 1.0.0 ends with the
 * catalog of a fresh 1.0.0 install, object by object.
 *
 * House rules as in src/sql/00_header.sql: everything schema-qualified,
 * search_path pinned, nothing granted to PUBLIC.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION ecpower UPDATE TO '1.0.0'" to load this file. \quit

-- ==================== 30_catalog.sql
COMMENT ON TABLE ecpower.segments IS 'segment definitions (README "Segments")';
-- the state of the segment after each change (NULL in rows written before 1.0.0)
ALTER TABLE ecpower.segment_versions
    ADD COLUMN name text,
    ADD COLUMN description text,
    ADD COLUMN sync_tag text;
COMMENT ON TABLE ecpower.segment_versions IS
    'every change to a segment (create, update, rename, alter, drop) with its state after the change, kept after the segment is dropped';
COMMENT ON TABLE ecpower.refresh_runs IS 'every refresh attempt and how it ended (README "Refresh, membership and history")';
-- a dropped segment's history goes with it (the cascade runs as the
-- table's owner, so the admin who drops needs no write on membership);
-- 0.2.0 deleted it in the history trigger, so no row is orphaned
DELETE FROM ecpower.membership AS m
 WHERE NOT EXISTS (SELECT 1 FROM ecpower.segments AS s
                    WHERE s.segment_id OPERATOR(pg_catalog.=) m.segment_id);
ALTER TABLE ecpower.membership
    ADD CONSTRAINT membership_segment_id_fkey FOREIGN KEY (segment_id)
    REFERENCES ecpower.segments ON DELETE CASCADE;

-- ==================== 31_costs.sql
/*
 * Costs (README "Loading your data"): what one unit of a line cost the store when it was sold.
 * Loaded by ecpower.shopify_pull() (the variant's inventory cost when the
 * order is first pulled) or by the store's own INSERT/UPDATE; NULL when
 * unknown.
 */
ALTER TABLE ecpower.order_lines ADD COLUMN unit_cost numeric(14,2);
COMMENT ON COLUMN ecpower.order_lines.unit_cost IS
    'cost of one unit when sold, in the store currency; NULL when unknown (README "Loading your data")';

-- ==================== 32_input_checks.sql
/*
 * Checks at the door of the input tables (docs/security.md "Input checks").
 * The tables were released in 0.1.0 and their script is frozen, so the
 * constraint is added here, where both a fresh install and the update
 * from 0.1.0 run it.
 *
 *   orders.ordered_at     from 1900-01-01 to before 2200-01-01 (UTC): every
 *                         date ecpower reports is a store-local calendar
 *                         day, and an infinite or far-away order date has
 *                         none a calendar can hold (one such order stopped
 *                         every refresh)
 *
 * An update from 0.1.0 on a store that holds orders breaking it stops
 * before adding it, naming the orders, so that they can be fixed first.
 * (A refund above the total, or a negative line price, stays legal in the
 * table, as the specification of the input tables allows it; the Shopify
 * importers refuse both in a file.)
 */
DO $$
DECLARE
    v_bad text;
BEGIN
    SELECT pg_catalog.string_agg(o.order_id::text, ', ' ORDER BY o.order_id)
      INTO v_bad
      FROM (SELECT x.order_id FROM ecpower.orders AS x
             WHERE x.ordered_at OPERATOR(pg_catalog.<) '1900-01-01 00:00:00+00'::pg_catalog.timestamptz
                OR x.ordered_at OPERATOR(pg_catalog.>=) '2200-01-01 00:00:00+00'::pg_catalog.timestamptz
             ORDER BY x.order_id LIMIT 20) AS o;
    IF v_bad IS NOT NULL THEN
        RAISE EXCEPTION 'ecpower.orders holds orders with ordered_at outside 1900-01-01 .. 2199-12-31: %', v_bad
            USING ERRCODE = 'check_violation',
                  HINT = 'Correct or delete these orders (the first 20 are listed), then update the extension again.';
    END IF;
END
$$;
ALTER TABLE ecpower.orders
    ADD CONSTRAINT orders_ordered_at_range
    CHECK (ordered_at OPERATOR(pg_catalog.>=) '1900-01-01 00:00:00+00'::pg_catalog.timestamptz
           AND ordered_at OPERATOR(pg_catalog.<) '2200-01-01 00:00:00+00'::pg_catalog.timestamptz);
COMMENT ON CONSTRAINT orders_ordered_at_range ON ecpower.orders IS
    'ordered_at is a date a store calendar can hold: from 1900-01-01 to before 2200-01-01 (UTC)';

-- ==================== 32_keys.sql
/*
 * Stable identities (docs/keys-and-history.md).
 *
 *   customer_keys   the registry of internal customer keys: each customer id
 *                   gets one key on first sight and keeps it for good, so
 *                   membership history and the tag-change feed (bitmaps of
 *                   keys) keep meaning the same customers however the input
 *                   tables are reloaded.  customers.ckey copies the
 *                   registered key; a trigger fills it.
 *   segment ids     are never handed out twice: TRUNCATE ... RESTART
 *                   IDENTITY does not restart them, and a TRUNCATE of
 *                   ecpower.segments drops membership history and records
 *                   the drops the way drop_segment() does.
 */
CREATE TABLE ecpower.customer_keys (
    customer_id     bigint PRIMARY KEY,
    ckey            integer NOT NULL
                    CONSTRAINT customer_keys_ckey_key UNIQUE
                    CONSTRAINT customer_keys_ckey_check CHECK (ckey OPERATOR(pg_catalog.>=) 1),
    CONSTRAINT customer_keys_pair_key UNIQUE (customer_id, ckey)
);
COMMENT ON TABLE ecpower.customer_keys IS
    'internal key of every customer id ever loaded; a key is never changed, never reused';
COMMENT ON COLUMN ecpower.customer_keys.ckey IS
    'the internal key membership bitmaps and the tag-change feed are written in';
/*
 * The key sequence belongs to the registry, not to ecpower.customers: a
 * TRUNCATE ecpower.customers RESTART IDENTITY leaves it alone.
 */
ALTER SEQUENCE ecpower.customer_key_seq OWNED BY ecpower.customer_keys.ckey;
COMMENT ON SEQUENCE ecpower.customer_key_seq IS
    'internal customer keys: advanced once per customer id never seen before';
/*
 * Registering the keys customers hold.  A store refreshed by 0.2.0 has
 * membership history, RFM and tag-sync state written in these keys: they
 * are registered as they are, gaps included (0.2.0 took a key for every
 * upsert), and the sequence goes on from where it is.  A store that never
 * stored any (loaded by 0.1.0, not refreshed since) gets dense keys in the
 * order of its old ones.  Two steps keep customers.ckey unique at every row.
 */
INSERT INTO ecpower.customer_keys (customer_id, ckey)
SELECT c.customer_id,
       CASE WHEN u.in_use THEN c.ckey
            ELSE pg_catalog.row_number() OVER (ORDER BY c.ckey) END
  FROM ecpower.customers AS c,
       (SELECT EXISTS (SELECT 1 FROM ecpower.membership)
               OR EXISTS (SELECT 1 FROM ecpower.tag_sync_state)
               OR EXISTS (SELECT 1 FROM ecpower.rfm_blocks) AS in_use) AS u;
UPDATE ecpower.customers AS c SET ckey = OPERATOR(pg_catalog.-) k.ckey
  FROM ecpower.customer_keys AS k
 WHERE k.customer_id OPERATOR(pg_catalog.=) c.customer_id;
UPDATE ecpower.customers SET ckey = OPERATOR(pg_catalog.-) ckey;
SELECT pg_catalog.setval('ecpower.customer_key_seq'::pg_catalog.regclass,
                         GREATEST(pg_catalog.count(*), 1), pg_catalog.count(*) OPERATOR(pg_catalog.>) 0)
  FROM ecpower.customer_keys
HAVING NOT (EXISTS (SELECT 1 FROM ecpower.membership)
            OR EXISTS (SELECT 1 FROM ecpower.tag_sync_state)
            OR EXISTS (SELECT 1 FROM ecpower.rfm_blocks));
/* no default: a default would take a key for every upsert that only updates */
ALTER TABLE ecpower.customers ALTER COLUMN ckey DROP DEFAULT;
ALTER TABLE ecpower.customers
    ADD CONSTRAINT customers_ckey_fkey FOREIGN KEY (customer_id, ckey)
        REFERENCES ecpower.customer_keys (customer_id, ckey);
COMMENT ON COLUMN ecpower.customers.ckey IS
    'internal key of the customer id (from ecpower.customer_keys; filled by a trigger, any value written is replaced)';
/*
 * customers.ckey gets the customer id's registered key from the trigger
 * ecpower._customer_key() (C, src/timeline/customers.c), whatever the row
 * held, so a restore, an INSERT ... SELECT from a copy or an upsert all give
 * a customer id the same key.  An id seen before costs one index probe; a
 * new id is registered here.  A key is taken only for a new id (concurrent
 * first loads of one id may waste one key, never share it).
 *
 * Keys index in-memory arrays, so the key space is kept dense.  The
 * sequence runs ahead of the registry only when keys were taken and not
 * kept (a rolled-back load of new customers) or when it was set by hand:
 * when the next key would leave more than max(1024, largest key / 8) keys
 * unused, the sequence is set back to the largest registered key.  The
 * lock waits for every transaction registering keys to end, so that no key
 * one of them holds is handed out again.  (The demo generator applies the
 * same rule in ecp_register_customer_keys().)
 *
 * Like every ecpower trigger, it runs as the writing role: a role other
 * than the owner that loads new customer ids needs SELECT and INSERT on
 * ecpower.customer_keys and USAGE on ecpower.customer_key_seq, and, for
 * the rare realignment, UPDATE on both.
 */
CREATE FUNCTION ecpower._customer_key_register(p_customer_id bigint) RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_key bigint;
    v_max bigint;
BEGIN
    SELECT k.ckey INTO v_key
      FROM ecpower.customer_keys AS k
     WHERE k.customer_id OPERATOR(pg_catalog.=) p_customer_id;
    IF FOUND THEN
        RETURN v_key;
    END IF;
    v_key := pg_catalog.nextval('ecpower.customer_key_seq'::pg_catalog.regclass);
    SELECT COALESCE(pg_catalog.max(k.ckey), 0) INTO v_max FROM ecpower.customer_keys AS k;
    IF v_key OPERATOR(pg_catalog.>) (v_max OPERATOR(pg_catalog.+) 1
                                    OPERATOR(pg_catalog.+) GREATEST(1024, v_max OPERATOR(pg_catalog./) 8)) THEN
        LOCK TABLE ecpower.customer_keys IN SHARE ROW EXCLUSIVE MODE;
        SELECT COALESCE(pg_catalog.max(k.ckey), 0) INTO v_max FROM ecpower.customer_keys AS k;
        IF v_key OPERATOR(pg_catalog.>) (v_max OPERATOR(pg_catalog.+) 1
                                        OPERATOR(pg_catalog.+) GREATEST(1024, v_max OPERATOR(pg_catalog./) 8)) THEN
            PERFORM pg_catalog.setval('ecpower.customer_key_seq'::pg_catalog.regclass,
                                      v_max OPERATOR(pg_catalog.+) 1, false);
            v_key := pg_catalog.nextval('ecpower.customer_key_seq'::pg_catalog.regclass);
        END IF;
    END IF;
    INSERT INTO ecpower.customer_keys AS k (customer_id, ckey)
    VALUES (p_customer_id, v_key)
    ON CONFLICT (customer_id) DO NOTHING
    RETURNING k.ckey INTO v_key;
    IF v_key IS NULL THEN
        -- registered by a concurrent transaction that has committed since
        SELECT k.ckey INTO STRICT v_key
          FROM ecpower.customer_keys AS k
         WHERE k.customer_id OPERATOR(pg_catalog.=) p_customer_id;
    END IF;
    RETURN v_key;
END
$$;
COMMENT ON FUNCTION ecpower._customer_key_register(bigint) IS
    'internal: the registered key of a customer id, registering it with a new key first when needed';
CREATE FUNCTION ecpower._customer_key() RETURNS trigger
AS 'MODULE_PATHNAME', 'customer_key_trigger'
LANGUAGE C
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._customer_key() IS
    'internal: gives a customer row the registered key of its customer id';
CREATE TRIGGER customers_key BEFORE INSERT OR UPDATE OF customer_id, ckey
    ON ecpower.customers
    FOR EACH ROW EXECUTE FUNCTION ecpower._customer_key();
-- also for writers in replica mode (sync tools, logical replication apply,
-- a parallel restore): rows that carry a key keep it, rows without get one
ALTER TABLE ecpower.customers ENABLE ALWAYS TRIGGER customers_key;
/*
 * Registered keys are never changed, deleted or truncated: stored history
 * is written in these keys, and a key that left the registry could be
 * handed out again when the sequence is set back.  (A customer deleted
 * from ecpower.customers keeps its key for the day it comes back.)
 */
CREATE FUNCTION ecpower._customer_keys_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        RAISE EXCEPTION 'ecpower.customer_keys cannot be truncated'
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'Membership history and the tag-change feed are stored in internal customer keys.',
                  HINT = 'To start a store over, drop and create the extension.';
    END IF;
    RAISE EXCEPTION 'the key of customer % cannot be %', OLD.customer_id,
                    CASE WHEN TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN 'changed' ELSE 'deleted' END
        USING ERRCODE = 'object_not_in_prerequisite_state',
              DETAIL = 'Membership history and the tag-change feed are stored in internal customer keys.';
END
$$;
COMMENT ON FUNCTION ecpower._customer_keys_guard() IS
    'internal: registered customer keys are never changed, deleted or truncated';
CREATE TRIGGER customer_keys_guard BEFORE UPDATE OR DELETE ON ecpower.customer_keys
    FOR EACH ROW EXECUTE FUNCTION ecpower._customer_keys_guard();
CREATE TRIGGER customer_keys_truncate BEFORE TRUNCATE ON ecpower.customer_keys
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._customer_keys_guard();
SELECT pg_catalog.pg_extension_config_dump('ecpower.customer_keys', '');
/*
 * Segment ids.  The id sequence no longer belongs to the column, so that
 * TRUNCATE ecpower.segments RESTART IDENTITY does not restart it: an id
 * whose versions and history exist is never given to a new segment.
 */
ALTER SEQUENCE ecpower.segments_segment_id_seq OWNED BY NONE;
/*
 * A TRUNCATE of ecpower.segments drops every segment at once: like
 * drop_segment(), record the drops in segment_versions and delete the
 * membership history.  (tag_sync_state stays: the next refresh announces
 * the removal of the tags of segments that are gone.)
 */
CREATE FUNCTION ecpower._segments_truncate() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    INSERT INTO ecpower.segment_versions (segment_id, version, slug, definition, change)
    SELECT s.segment_id,
           COALESCE((SELECT pg_catalog.max(v.version)
                       FROM ecpower.segment_versions AS v
                      WHERE v.segment_id OPERATOR(pg_catalog.=) s.segment_id), 0)
               OPERATOR(pg_catalog.+) 1,
           s.slug, NULL, 'drop'
      FROM ecpower.segments AS s;
    DELETE FROM ecpower.membership;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._segments_truncate() IS
    'internal: a TRUNCATE of ecpower.segments records the drops and deletes membership history';
CREATE TRIGGER segments_truncate BEFORE TRUNCATE ON ecpower.segments
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._segments_truncate();

-- ==================== 33_comments.sql
/*
 * Comments of the input tables, in the words of the README (they replace
 * those the first release gave them).
 */
COMMENT ON TABLE ecpower.customers IS 'the store''s customers (README "Loading your data")';
COMMENT ON TABLE ecpower.products IS 'the store''s products (README "Loading your data")';
COMMENT ON TABLE ecpower.orders IS
    'the store''s orders (README "Loading your data"); counted when not cancelled and not after as_of';
COMMENT ON TABLE ecpower.order_lines IS 'order line items (README "Loading your data")';

-- ==================== 40_segments.sql
CREATE OR REPLACE FUNCTION ecpower.evaluate(definition jsonb, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF bigint
AS 'MODULE_PATHNAME', 'evaluate_definition'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
/* size limits of definitions and sync tags (src/segments/limits.c) */
CREATE FUNCTION ecpower._segment_limits(definition jsonb, segment_id integer, sync_tag text)
RETURNS void
AS 'MODULE_PATHNAME', 'segment_limits'
LANGUAGE C STABLE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._segment_limits(jsonb, integer, text) IS
    'internal: 54000 when a definition or the store''s definitions exceed their size limits, 22023 for a bad sync_tag';
CREATE FUNCTION ecpower.definition_filters(definition jsonb)
RETURNS integer
AS 'MODULE_PATHNAME', 'definition_filters'
LANGUAGE C STABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.definition_filters(jsonb) IS
    'the number of order filters a definition compiles to (limits: 100 per definition, 400 per store)';
CREATE OR REPLACE FUNCTION ecpower._segments_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_users text;
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN
        v_users := ecpower._segments_referencing(OLD.slug, OLD.segment_id);
        IF v_users IS NOT NULL THEN
            RAISE EXCEPTION 'cannot drop segment "%" because other segments reference it', OLD.slug
                USING ERRCODE = 'dependent_objects_still_exist',
                      DETAIL = pg_catalog.format('Referenced by: %s.', v_users),
                      HINT = 'Update or drop the referencing segments first.';
        END IF;
        RETURN OLD;
    END IF;
    -- references are checked at commit by segments_references
    PERFORM ecpower._segment_definition_syntax(NEW.definition);
    IF TG_OP OPERATOR(pg_catalog.=) 'INSERT'
       OR NEW.definition OPERATOR(pg_catalog.<>) OLD.definition
       OR NEW.sync_tag IS DISTINCT FROM OLD.sync_tag THEN
        PERFORM ecpower._segment_limits(NEW.definition, NEW.segment_id, NEW.sync_tag);
    END IF;
    IF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN
        IF NEW.slug OPERATOR(pg_catalog.<>) OLD.slug THEN
            v_users := ecpower._segments_referencing(OLD.slug, OLD.segment_id);
            IF v_users IS NOT NULL THEN
                RAISE EXCEPTION 'cannot rename segment "%" because other segments reference it', OLD.slug
                    USING ERRCODE = 'dependent_objects_still_exist',
                          DETAIL = pg_catalog.format('Referenced by: %s.', v_users);
            END IF;
        END IF;
        NEW.updated_at := pg_catalog.now();
    END IF;
    RETURN NEW;
END
$$;
CREATE OR REPLACE FUNCTION ecpower._segments_history() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_row ecpower.segments;
    v_change text;
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN
        v_row := OLD;
        v_change := 'drop';
        -- its membership goes with it: the foreign key of membership
    ELSIF TG_OP OPERATOR(pg_catalog.=) 'INSERT' THEN
        -- a row created before this transaction is a restored (or copied)
        -- segment: its history is in, or comes with, segment_versions
        IF NEW.created_at OPERATOR(pg_catalog.<) pg_catalog.now() THEN
            RETURN NULL;
        END IF;
        -- and a state the history already holds is not recorded twice
        IF EXISTS (SELECT 1
                     FROM (SELECT v.slug, v.definition
                             FROM ecpower.segment_versions AS v
                            WHERE v.segment_id OPERATOR(pg_catalog.=) NEW.segment_id
                            ORDER BY v.version DESC
                            LIMIT 1) AS latest
                    WHERE latest.slug OPERATOR(pg_catalog.=) NEW.slug
                      AND latest.definition OPERATOR(pg_catalog.=) NEW.definition) THEN
            RETURN NULL;
        END IF;
        v_row := NEW;
        v_change := 'create';
    ELSE
        v_row := NEW;
        IF NEW.slug OPERATOR(pg_catalog.<>) OLD.slug THEN
            v_change := 'rename';
        ELSIF NEW.definition OPERATOR(pg_catalog.<>) OLD.definition THEN
            v_change := 'update';
        ELSIF (NEW.name, NEW.description, NEW.sync_tag)
              IS DISTINCT FROM (OLD.name, OLD.description, OLD.sync_tag) THEN
            v_change := 'alter';    -- name, description or sync_tag
        ELSE
            RETURN NULL;
        END IF;
    END IF;
    INSERT INTO ecpower.segment_versions (segment_id, version, slug, definition, change,
                                          name, description, sync_tag)
    SELECT v_row.segment_id,
           COALESCE(pg_catalog.max(v.version), 0) OPERATOR(pg_catalog.+) 1,
           v_row.slug,
           CASE WHEN v_change OPERATOR(pg_catalog.=) 'drop' THEN NULL ELSE v_row.definition END,
           v_change, v_row.name, v_row.description, v_row.sync_tag
      FROM ecpower.segment_versions AS v
     WHERE v.segment_id OPERATOR(pg_catalog.=) v_row.segment_id;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._segments_history() IS
    'records every created, changed, renamed, altered (name, description, sync_tag) or dropped segment in ecpower.segment_versions';
/*
 * The definitions lock: a SHARE ROW EXCLUSIVE lock on the empty table
 * ecpower.definition_lock, held to the end of the transaction.  It
 * serialises definition changes, so that two concurrent edits cannot close
 * a cycle, and waits for a running refresh, which holds a SHARE lock on the
 * same table while it evaluates the segments and stores their results.
 * Only roles with UPDATE on the table (the admin and the refresher) can
 * take it: a reader or a stranger cannot hold definition changes off.
 */
CREATE TABLE ecpower.definition_lock ();
COMMENT ON TABLE ecpower.definition_lock IS
    'empty: definition changes hold a SHARE ROW EXCLUSIVE lock on it, a refresh a SHARE lock (admin and refresher may take them, readers cannot)';
CREATE OR REPLACE FUNCTION ecpower._lock_definitions() RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    LOCK TABLE ecpower.definition_lock IN SHARE ROW EXCLUSIVE MODE;
END
$$;
COMMENT ON FUNCTION ecpower._lock_definitions() IS
    'internal: the definitions lock, taken by every write to ecpower.segments';
/* every write to segments, direct or through the functions, takes the lock
 * before it touches a row */
CREATE FUNCTION ecpower._segments_lock() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ecpower._lock_definitions();
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._segments_lock() IS
    'takes the definitions lock before a statement writes ecpower.segments';
CREATE TRIGGER segments_lock BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON ecpower.segments
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._segments_lock();
COMMENT ON FUNCTION ecpower.drop_segment(text) IS
    'drops a segment with its membership history and its KPI snapshots (its versions are kept)';

-- ==================== 41_segment_admin.sql
/*
 * Segment management beyond create / update / drop: renaming a segment and
 * changing its name, description or sync_tag, without a raw UPDATE of
 * ecpower.segments (docs/api.md).  Both take the definitions lock, like
 * create_segment and update_segment, and every change is recorded in
 * ecpower.segment_versions by the history trigger ('rename', 'alter').
 */

/* {"segment": old_slug} conditions of a definition rewritten to new_slug */
CREATE FUNCTION ecpower._definition_rename_reference(d jsonb, old_slug text, new_slug text)
RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_type text := pg_catalog.jsonb_typeof(d);
BEGIN
    IF v_type OPERATOR(pg_catalog.=) 'object' THEN
        RETURN COALESCE((SELECT pg_catalog.jsonb_object_agg(
                                    e.key,
                                    CASE WHEN e.key OPERATOR(pg_catalog.=) 'segment'
                                          AND e.value OPERATOR(pg_catalog.=) pg_catalog.to_jsonb(old_slug)
                                         THEN pg_catalog.to_jsonb(new_slug)
                                         ELSE ecpower._definition_rename_reference(e.value, old_slug, new_slug) END)
                           FROM pg_catalog.jsonb_each(d) AS e), '{}'::jsonb);
    ELSIF v_type OPERATOR(pg_catalog.=) 'array' THEN
        RETURN COALESCE((SELECT pg_catalog.jsonb_agg(ecpower._definition_rename_reference(e.value, old_slug, new_slug)
                                                     ORDER BY e.ord)
                           FROM pg_catalog.jsonb_array_elements(d) WITH ORDINALITY AS e(value, ord)), '[]'::jsonb);
    END IF;
    RETURN d;
END
$$;
COMMENT ON FUNCTION ecpower._definition_rename_reference(jsonb, text, text) IS
    'internal: a definition with its {"segment": old_slug} conditions pointing at new_slug';
/*
 * rename_segment(slug, new_slug): the segment keeps its id, membership
 * history, versions and tag feed; the definitions of the segments that
 * reference it are rewritten to the new slug (each recorded as an update).
 */
CREATE FUNCTION ecpower.rename_segment(slug text, new_slug text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id integer;
BEGIN
    IF new_slug IS NULL OR new_slug OPERATOR(pg_catalog.!~) '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid segment slug "%"', new_slug
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A slug is 1 to 63 characters: lower-case letters, digits, "_" and "-", starting with a letter or digit.';
    END IF;
    PERFORM ecpower._lock_definitions();
    SELECT s.segment_id INTO v_id
      FROM ecpower.segments AS s WHERE s.slug OPERATOR(pg_catalog.=) rename_segment.slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', slug USING ERRCODE = 'undefined_object';
    END IF;
    IF new_slug OPERATOR(pg_catalog.=) slug THEN
        RETURN;
    END IF;
    IF EXISTS (SELECT 1 FROM ecpower.segments AS s WHERE s.slug OPERATOR(pg_catalog.=) new_slug) THEN
        RAISE EXCEPTION 'segment "%" already exists', new_slug USING ERRCODE = 'duplicate_object';
    END IF;
    -- references follow the segment (checked again at commit)
    UPDATE ecpower.segments AS s
       SET definition = ecpower._definition_rename_reference(s.definition, rename_segment.slug, new_slug)
     WHERE s.segment_id OPERATOR(pg_catalog.<>) v_id
       AND rename_segment.slug OPERATOR(pg_catalog.=) ANY (ecpower._definition_references(s.definition));
    UPDATE ecpower.segments AS s SET slug = new_slug WHERE s.segment_id OPERATOR(pg_catalog.=) v_id;
END
$$;
COMMENT ON FUNCTION ecpower.rename_segment(text, text) IS
    'renames a segment (its id, history and feed stay); segments referencing it follow the new slug';
/*
 * alter_segment(slug, name, description, sync_tag): NULL leaves a value as
 * it is; '' clears description or sync_tag.  A sync_tag is a Shopify
 * customer tag: at most 255 characters, no comma, no surrounding spaces.
 */
CREATE FUNCTION ecpower.alter_segment(slug text, name text DEFAULT NULL,
                                      description text DEFAULT NULL,
                                      sync_tag text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF name IS NULL AND description IS NULL AND sync_tag IS NULL THEN
        RAISE EXCEPTION 'alter_segment needs a name, a description or a sync_tag'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass them by name, e.g. ecpower.alter_segment(''loyal'', sync_tag => ''vip''); '''' clears a description or a sync_tag.';
    END IF;
    IF name IS NOT NULL AND pg_catalog.btrim(name) OPERATOR(pg_catalog.=) '' THEN
        RAISE EXCEPTION 'segment name must not be empty' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF sync_tag IS NOT NULL AND sync_tag OPERATOR(pg_catalog.<>) '' THEN
        IF pg_catalog.char_length(sync_tag) OPERATOR(pg_catalog.>) 255 THEN
            RAISE EXCEPTION 'sync_tag is % characters long, more than 255', pg_catalog.char_length(sync_tag)
                USING ERRCODE = 'invalid_parameter_value',
                      DETAIL = pg_catalog.format('The tag starts with "%s".', pg_catalog.left(sync_tag, 40));
        END IF;
        IF pg_catalog.strpos(sync_tag, ',') OPERATOR(pg_catalog.>) 0 THEN
            RAISE EXCEPTION 'sync_tag "%" contains a comma', sync_tag
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Shopify separates customer tags with commas: a tag cannot hold one.';
        END IF;
        IF pg_catalog.btrim(sync_tag) OPERATOR(pg_catalog.<>) sync_tag THEN
            RAISE EXCEPTION 'sync_tag "%" begins or ends with white space', sync_tag
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'Shopify trims customer tags; pass the tag without surrounding spaces.';
        END IF;
    END IF;
    PERFORM ecpower._lock_definitions();
    UPDATE ecpower.segments AS s
       SET name = COALESCE(alter_segment.name, s.name),
           description = CASE WHEN alter_segment.description IS NULL THEN s.description
                              ELSE NULLIF(alter_segment.description, '') END,
           sync_tag = CASE WHEN alter_segment.sync_tag IS NULL THEN s.sync_tag
                           ELSE NULLIF(alter_segment.sync_tag, '') END
     WHERE s.slug OPERATOR(pg_catalog.=) alter_segment.slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', slug USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION ecpower.alter_segment(text, text, text, text) IS
    'changes a segment''s name, description or sync_tag (NULL: unchanged, '''': cleared)';

-- ==================== 42_templates.sql
/*
 * Segment templates (README "Templates"): ready-made definitions with "$param"
 * placeholders, in the categories DTC stores work with.  A placeholder is a
 * JSON string "$name" standing for a whole value (a number, a list ...);
 * create_segment_from_template() replaces it with params->name and then
 * validates the result like any definition.
 */
CREATE OR REPLACE VIEW ecpower.templates AS
SELECT t.template, t.category, t.name, t.name_ja, t.description, t.parameters, t.definition
  FROM (VALUES
-- RFM: the 11 groups
('rfm_champions', 'rfm', 'Champions', '優良顧客（チャンピオン）',
 'Recent, frequent and high-spending customers (R 5 with FM 4 or 5).',
 '{}'::text[], '{"rfm_group": "champions"}'::jsonb),
('rfm_loyal', 'rfm', 'Loyal', 'ロイヤル顧客', 'Frequent, high-spending customers who still buy.', '{}', '{"rfm_group": "loyal"}'),
('rfm_active', 'rfm', 'Active', 'アクティブ顧客', 'Recent customers of middling frequency and spend.', '{}', '{"rfm_group": "active"}'),
('rfm_new', 'rfm', 'New', '新規顧客', 'Very recent customers with low frequency and spend.', '{}', '{"rfm_group": "new"}'),
('rfm_promising', 'rfm', 'Promising', '有望顧客', 'Fairly recent customers with low frequency and spend.', '{}', '{"rfm_group": "promising"}'),
('rfm_needs_attention', 'rfm', 'Needs attention', '要注意顧客', 'Customers drifting away at middling recency.', '{}', '{"rfm_group": "needs_attention"}'),
('rfm_at_risk', 'rfm', 'At risk', '離反リスク顧客', 'Good customers who have not bought for a while.', '{}', '{"rfm_group": "at_risk"}'),
('rfm_almost_lost', 'rfm', 'Almost lost', '離反寸前顧客', 'Low-value customers who have not bought for a while.', '{}', '{"rfm_group": "almost_lost"}'),
('rfm_previously_loyal', 'rfm', 'Previously loyal', '元ロイヤル顧客', 'Formerly frequent, high-spending customers who stopped buying.', '{}', '{"rfm_group": "previously_loyal"}'),
('rfm_dormant', 'rfm', 'Dormant', '休眠顧客', 'Customers with the oldest last order and low value.', '{}', '{"rfm_group": "dormant"}'),
('rfm_prospects', 'rfm', 'Prospects', '見込み客（未購入）', 'Customers without a counted order.', '{}', '{"rfm_group": "prospects"}'),
('rfm_scores', 'rfm', 'RFM score ranges', 'RFMスコア指定',
 'Customers whose R, F and M scores fall in the given ranges, e.g. [4, 5].',
 '{r,f,m}', '{"rfm": {"r": "$r", "f": "$f", "m": "$m"}}'),
-- lifecycle
('first_time_buyers', 'lifecycle', 'First-time buyers', '初回購入者', 'Exactly one counted order.', '{}',
 '{"orders": {}, "count": {"eq": 1}}'),
('repeat_buyers', 'lifecycle', 'Repeat buyers', 'リピーター', 'Two or more counted orders.', '{}',
 '{"orders": {}, "count": {"gte": 2}}'),
('loyal_5plus', 'lifecycle', 'Loyal (5+ orders)', 'ロイヤル（5回以上購入）', 'Five or more counted orders.', '{}',
 '{"orders": {}, "count": {"gte": 5}}'),
('min_orders', 'lifecycle', 'At least N orders', 'N回以上購入', 'At least orders counted orders.', '{orders}',
 '{"orders": {}, "count": {"gte": "$orders"}}'),
('one_and_done', 'lifecycle', 'One and done', '1回購入で離脱',
 'Exactly one order, placed more than days days ago.', '{days}',
 '{"all": [{"orders": {}, "count": {"eq": 1}}, {"metric": "days_since_last_order", "gt": "$days"}]}'),
('f2_candidates', 'lifecycle', 'F2 candidates', 'F2転換候補（2回目購入前）',
 'One order so far, placed within the last days days: the moment to win the second order.', '{days}',
 '{"all": [{"orders": {}, "count": {"eq": 1}}, {"metric": "days_since_last_order", "lte": "$days"}]}'),
('f3_candidates', 'lifecycle', 'F3 candidates', 'F3転換候補（3回目購入前）', 'Exactly two counted orders.', '{}',
 '{"orders": {}, "count": {"eq": 2}}'),
('lapsed', 'lifecycle', 'Lapsed', '離脱顧客', 'No order in the last days days (but ordered before).', '{days}',
 '{"all": [{"orders": {}}, {"metric": "days_since_last_order", "gt": "$days"}]}'),
('win_back', 'lifecycle', 'Win-back repeaters', '掘り起こし対象（リピーター離脱）',
 'Repeat buyers whose last order is more than days days old.', '{days}',
 '{"all": [{"orders": {}, "count": {"gte": 2}}, {"metric": "days_since_last_order", "gt": "$days"}]}'),
('new_customers', 'lifecycle', 'New customers', '新規購入者（期間内）', 'First order within the last days days.', '{days}',
 '{"orders": {"nth": "first", "period": {"last_days": "$days"}}}'),
('active_customers', 'lifecycle', 'Active customers', 'アクティブ購入者（期間内）', 'Any order within the last days days.', '{days}',
 '{"orders": {"period": {"last_days": "$days"}}}'),
('returning_customers', 'lifecycle', 'Returning customers', '期間内リピート購入者',
 'A repeat order (second or later) within the last days days.', '{days}',
 '{"orders": {"nth": "repeat", "period": {"last_days": "$days"}}}'),
('never_purchased', 'lifecycle', 'Never purchased', '未購入顧客', 'Customers without a counted order.', '{}',
 '{"not": {"orders": {}}}'),
('recent_signups_no_order', 'lifecycle', 'Recent sign-ups without an order', '最近登録・未購入',
 'Created within the last days days and no counted order.', '{days}',
 '{"all": [{"customer_created": {"last_days": "$days"}}, {"not": {"orders": {}}}]}'),
('long_time_customers', 'lifecycle', 'Long-time customers', '長期継続顧客',
 'At least days days between first and last order.', '{days}',
 '{"metric": "lifetime_days", "gte": "$days"}'),
('frequent_buyers', 'lifecycle', 'Frequent buyers', '高頻度購入者',
 'Average interval between orders of at most days days.', '{days}',
 '{"metric": "avg_interval_days", "lte": "$days"}'),
('second_order_soon', 'lifecycle', 'Quick second order', '早期2回目購入',
 'Second order placed within days days of becoming a customer (first to second within the window).', '{days}',
 '{"all": [{"orders": {"nth": "second"}}, {"metric": "lifetime_days", "lte": "$days", "orders": {"nth": [1, 2]}}]}'),
-- products
('first_product', 'product', 'First order: product', '初回購入商品',
 'The first order contained one of product_ids.', '{product_ids}',
 '{"orders": {"nth": "first", "product_id": "$product_ids"}}'),
('second_product', 'product', 'Second order: product', '2回目購入商品',
 'The second order contained one of product_ids.', '{product_ids}',
 '{"orders": {"nth": "second", "product_id": "$product_ids"}}'),
('latest_product', 'product', 'Latest order: product', '直近購入商品',
 'The latest order contained one of product_ids.', '{product_ids}',
 '{"orders": {"nth": "latest", "product_id": "$product_ids"}}'),
('bought_product', 'product', 'Bought product', '商品購入者', 'Any order contained one of product_ids.', '{product_ids}',
 '{"orders": {"product_id": "$product_ids"}}'),
('repeat_product', 'product', 'Bought product again', '商品リピート購入者',
 'At least two orders contained one of product_ids.', '{product_ids}',
 '{"orders": {"product_id": "$product_ids"}, "count": {"gte": 2}}'),
('bought_a_not_b', 'product', 'Bought A, never B', 'A購入・B未購入（クロスセル対象）',
 'Bought one of product_ids but never one of other_product_ids.', '{product_ids,other_product_ids}',
 '{"all": [{"orders": {"product_id": "$product_ids"}}, {"not": {"orders": {"product_id": "$other_product_ids"}}}]}'),
('first_product_type', 'product', 'First order: product type', '初回購入の商品タイプ',
 'The first order contained a product of one of product_types.', '{product_types}',
 '{"orders": {"nth": "first", "product_type": "$product_types"}}'),
('bought_product_type', 'product', 'Bought product type', '商品タイプ購入者',
 'Any order contained a product of one of product_types.', '{product_types}',
 '{"orders": {"product_type": "$product_types"}}'),
('bought_product_tag', 'product', 'Bought product tag', '商品タグ購入者',
 'Any order contained a product tagged with one of product_tags.', '{product_tags}',
 '{"orders": {"product_tag": "$product_tags"}}'),
('bought_vendor', 'product', 'Bought from vendor', 'ブランド（ベンダー）購入者',
 'Any order contained a product of one of vendors.', '{vendors}',
 '{"orders": {"vendor": "$vendors"}}'),
('bought_sku', 'product', 'Bought SKU', 'SKU購入者', 'Any order contained one of skus.', '{skus}',
 '{"orders": {"sku": "$skus"}}'),
('big_baskets', 'product', 'Big baskets', 'まとめ買い顧客', 'At least items items bought in total.', '{items}',
 '{"metric": "items", "gte": "$items"}'),
-- campaigns
('order_tag', 'campaign', 'Order tag', '注文タグ', 'An order tagged with one of tags.', '{tags}',
 '{"orders": {"order_tag": "$tags"}}'),
('utm_campaign', 'campaign', 'UTM campaign', 'UTMキャンペーン経由', 'An order from one of campaigns (utm_campaign).', '{campaigns}',
 '{"orders": {"utm_campaign": "$campaigns"}}'),
('first_order_campaign', 'campaign', 'Acquired by campaign', 'キャンペーン獲得顧客',
 'The first order came from one of campaigns (utm_campaign).', '{campaigns}',
 '{"orders": {"nth": "first", "utm_campaign": "$campaigns"}}'),
('utm_source', 'campaign', 'UTM source', 'UTMソース経由', 'An order from one of sources (utm_source).', '{sources}',
 '{"orders": {"utm_source": "$sources"}}'),
('first_order_utm_source', 'campaign', 'Acquired by UTM source', 'UTMソース獲得顧客',
 'The first order came from one of sources (utm_source).', '{sources}',
 '{"orders": {"nth": "first", "utm_source": "$sources"}}'),
('utm_medium', 'campaign', 'UTM medium', 'UTMメディア経由', 'An order from one of mediums (utm_medium).', '{mediums}',
 '{"orders": {"utm_medium": "$mediums"}}'),
('discount_code', 'campaign', 'Discount code', 'クーポンコード利用', 'An order with one of codes.', '{codes}',
 '{"orders": {"discount_code": "$codes"}}'),
('campaign_in_period', 'campaign', 'Campaign buyers in a period', '期間内キャンペーン購入者',
 'An order tagged with one of tags dated from .. to.', '{tags,from,to}',
 '{"orders": {"order_tag": "$tags", "period": {"from": "$from", "to": "$to"}}}'),
-- channels
('sales_channel', 'channel', 'Sales channel', '販売チャネル', 'An order through one of channels (sales_channel).', '{channels}',
 '{"orders": {"sales_channel": "$channels"}}'),
('first_order_channel', 'channel', 'First order: sales channel', '初回購入チャネル',
 'The first order went through one of channels (sales_channel).', '{channels}',
 '{"orders": {"nth": "first", "sales_channel": "$channels"}}'),
('acquisition_channel', 'channel', 'Acquisition channel', '獲得チャネル',
 'The first order came through one of acquisition_channels.', '{acquisition_channels}',
 '{"orders": {"nth": "first", "acquisition_channel": "$acquisition_channels"}}'),
('referring_site', 'channel', 'Referring site', '参照元サイト', 'The first order was referred by one of sites.', '{sites}',
 '{"orders": {"nth": "first", "referring_site": "$sites"}}'),
('landing_site', 'channel', 'Landing page', 'ランディングページ', 'The first order landed on one of pages.', '{pages}',
 '{"orders": {"nth": "first", "landing_site": "$pages"}}'),
('omnichannel', 'channel', 'Omnichannel buyers', 'オムニチャネル購入者',
 'Ordered through one of channels_a and through one of channels_b.', '{channels_a,channels_b}',
 '{"all": [{"orders": {"sales_channel": "$channels_a"}}, {"orders": {"sales_channel": "$channels_b"}}]}'),
-- subscription
('subscribers', 'subscription', 'Active subscribers', '定期購入中',
 'A subscription order within the last days days.', '{days}',
 '{"orders": {"subscription": true, "period": {"last_days": "$days"}}}'),
('subscription_churned', 'subscription', 'Churned subscribers', '定期解約（離脱）',
 'Subscription orders before, none in the last days days.', '{days}',
 '{"all": [{"orders": {"subscription": true}}, {"not": {"orders": {"subscription": true, "period": {"last_days": "$days"}}}}]}'),
('subscription_first_order', 'subscription', 'Started with a subscription', '初回から定期購入',
 'The first order was a subscription order.', '{}',
 '{"orders": {"nth": "first", "subscription": true}}'),
('one_time_only', 'subscription', 'One-time purchases only', '単品購入のみ',
 'Ordered, but never a subscription order.', '{}',
 '{"all": [{"orders": {}}, {"not": {"orders": {"subscription": true}}}]}'),
('subscription_long', 'subscription', 'Long subscribers', '定期継続（N回以上）',
 'At least orders subscription orders.', '{orders}',
 '{"orders": {"subscription": true}, "count": {"gte": "$orders"}}'),
-- coupons
('coupon_users', 'coupon', 'Coupon users', 'クーポン利用者', 'At least one order with a discount code.', '{}',
 '{"orders": {"has_discount": true}}'),
('coupon_only', 'coupon', 'Coupon-only buyers', 'クーポン購入のみ',
 'Ordered, and every order had a discount code.', '{}',
 '{"all": [{"orders": {}}, {"not": {"orders": {"has_discount": false}}}]}'),
('full_price_buyers', 'coupon', 'Full-price buyers', '定価購入者',
 'Ordered, and never with a discount code.', '{}',
 '{"all": [{"orders": {}}, {"not": {"orders": {"has_discount": true}}}]}'),
('first_order_coupon', 'coupon', 'First order with coupon', '初回クーポン利用',
 'The first order had a discount code.', '{}',
 '{"orders": {"nth": "first", "has_discount": true}}'),
('coupon_then_full_price', 'coupon', 'Coupon, then full price', 'クーポン初回→定価リピート',
 'First order with a discount code, a later order without one.', '{}',
 '{"all": [{"orders": {"nth": "first", "has_discount": true}}, {"orders": {"nth": "repeat", "has_discount": false}}]}'),
-- value
('high_aov', 'value', 'High AOV', '高単価顧客', 'Average order value of at least amount.', '{amount}',
 '{"metric": "aov", "gte": "$amount"}'),
('low_aov', 'value', 'Low AOV', '低単価顧客', 'Average order value below amount.', '{amount}',
 '{"metric": "aov", "lt": "$amount"}'),
('high_spenders', 'value', 'High spenders', '高額累計購入者', 'Net revenue of at least amount.', '{amount}',
 '{"metric": "total_spent", "gte": "$amount"}'),
('big_order', 'value', 'Big single order', '高額注文者', 'At least one order with a net amount of at least amount.', '{amount}',
 '{"orders": {"total": {"gte": "$amount"}}}'),
('vip_recent', 'value', 'Recent VIPs', '直近の優良顧客',
 'Net revenue of at least amount and an order within the last days days.', '{amount,days}',
 '{"all": [{"metric": "total_spent", "gte": "$amount"}, {"orders": {"period": {"last_days": "$days"}}}]}'),
('spend_in_period', 'value', 'Spent in a period', '期間内購入金額',
 'Net revenue of at least amount from orders dated from .. to.', '{amount,from,to}',
 '{"metric": "total_spent", "gte": "$amount", "orders": {"period": {"from": "$from", "to": "$to"}}}'),
-- geography and customer attributes
('country', 'geography', 'Country', '国', 'Customers in one of countries.', '{countries}', '{"country": "$countries"}'),
('province', 'geography', 'Province / state', '都道府県・州', 'Customers in one of provinces.', '{provinces}', '{"province": "$provinces"}'),
('city', 'geography', 'City', '市区町村', 'Customers in one of cities.', '{cities}', '{"city": "$cities"}'),
('domestic_repeaters', 'geography', 'Repeat buyers in countries', '国内リピーター',
 'Repeat buyers in one of countries.', '{countries}',
 '{"all": [{"country": "$countries"}, {"orders": {}, "count": {"gte": 2}}]}'),
('customer_tag', 'customer', 'Customer tag', '顧客タグ', 'Customers tagged with one of tags.', '{tags}',
 '{"customer_tag": "$tags"}'),
('email_domain', 'customer', 'Email domain', 'メールドメイン', 'Customers whose email is at one of domains.', '{domains}',
 '{"email_domain": "$domains"}'),
('marketing_opt_in_buyers', 'customer', 'Marketing opt-in buyers', 'メルマガ許諾済み購入者',
 'Accept marketing and have ordered.', '{}',
 '{"all": [{"accepts_marketing": true}, {"orders": {}}]}'),
('marketing_opt_out', 'customer', 'Marketing opt-out', 'メルマガ未許諾', 'Do not accept marketing.', '{}',
 '{"accepts_marketing": false}'),
-- predictions (ecpower.customer_predictions of the last fit_predictions())
('likely_lost_one_time_buyers', 'prediction', 'Likely lost one-time buyers', '離反濃厚な1回購入者',
 'Exactly one counted order and a predicted probability of still being a customer below p_alive (needs the mbgnbd or paretonbd model: under bgnbd every one-time buyer has p_alive 1).', '{p_alive}',
 '{"all": [{"orders": {}, "count": {"eq": 1}}, {"predicted": "p_alive", "lt": "$p_alive"}]}'),
('overdue_loyal_customers', 'prediction', 'Overdue loyal customers', '購入予定日を過ぎたロイヤル顧客',
 'At least orders counted orders and at least days days past the expected next order date.', '{orders,days}',
 '{"all": [{"orders": {}, "count": {"gte": "$orders"}}, {"predicted": "days_overdue", "gte": "$days"}]}'),
('high_value_low_p_alive', 'prediction', 'High predicted value, low p_alive', '高予測価値・離反リスク顧客',
 'Predicted 12-month value of at least clv and a probability of still being a customer below p_alive.', '{clv,p_alive}',
 '{"all": [{"predicted": "clv_365d", "gte": "$clv"}, {"predicted": "p_alive", "lt": "$p_alive"}]}')
) AS t(template, category, name, name_ja, description, parameters, definition);
COMMENT ON VIEW ecpower.templates IS
    'ready-made segment definitions with "$param" placeholders (README "Templates")';

-- ==================== 43_template_parameters.sql
/*
 * Typed template parameters and an example call for every template
 * (docs/api.md).  ecpower.templates lists the names of a template's
 * parameters; ecpower.template_parameters gives each one its position, its
 * type, what it means and an example value, and ecpower.template_examples
 * puts the examples together into a call of create_segment_from_template().
 *
 * Types, as JSON values in the params object:
 *   integer    a whole JSON number            90
 *   numeric    a JSON number                  99.5
 *   date       a JSON string YYYY-MM-DD       "2025-11-28"
 *   bigint[]   a JSON array of whole numbers  [7000000000060, 7000000000065]
 *   text[]     a JSON array of strings        ["web", "pos"]
 *   integer[]  a JSON array [lo, hi]          [4, 5]
 */
CREATE VIEW ecpower.template_parameters AS
SELECT p.template, p.position, p.parameter, p.type, p.description, p.example
  FROM (VALUES
('rfm_scores'::text, 1::integer, 'r'::text, 'integer[]'::text,
 'R score range [lo, hi], each 1 to 5'::text, '[4, 5]'::jsonb),
('rfm_scores', 2, 'f', 'integer[]', 'F score range [lo, hi], each 1 to 5', '[1, 5]'),
('rfm_scores', 3, 'm', 'integer[]', 'M score range [lo, hi], each 1 to 5', '[3, 5]'),
('min_orders', 1, 'orders', 'integer', 'at least this many counted orders', '3'),
('one_and_done', 1, 'days', 'integer', 'the one order is more than this many days old', '180'),
('f2_candidates', 1, 'days', 'integer', 'the one order is at most this many days old', '30'),
('lapsed', 1, 'days', 'integer', 'no order in the last this many days', '180'),
('win_back', 1, 'days', 'integer', 'the last order is more than this many days old', '120'),
('new_customers', 1, 'days', 'integer', 'the first order is in the last this many days', '30'),
('active_customers', 1, 'days', 'integer', 'an order in the last this many days', '90'),
('returning_customers', 1, 'days', 'integer', 'a repeat order in the last this many days', '90'),
('recent_signups_no_order', 1, 'days', 'integer', 'created in the last this many days', '30'),
('long_time_customers', 1, 'days', 'integer', 'at least this many days between first and last order', '365'),
('frequent_buyers', 1, 'days', 'integer', 'average days between orders at most this', '30'),
('second_order_soon', 1, 'days', 'integer', 'second order at most this many days after the first', '30'),
('first_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('second_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('latest_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('bought_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('repeat_product', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('bought_a_not_b', 1, 'product_ids', 'bigint[]', 'product ids (ecpower.products.product_id)', '[7000000000060, 7000000000065]'),
('bought_a_not_b', 2, 'other_product_ids', 'bigint[]', 'product ids that must never have been bought', '[7000000000013]'),
('first_product_type', 1, 'product_types', 'text[]', 'product types, matched case-insensitively', '["Coffee"]'),
('bought_product_type', 1, 'product_types', 'text[]', 'product types, matched case-insensitively', '["Skincare"]'),
('bought_product_tag', 1, 'product_tags', 'text[]', 'product tags, matched case-insensitively', '["organic"]'),
('bought_vendor', 1, 'vendors', 'text[]', 'product vendors, matched case-insensitively', '["Juniper Lane"]'),
('bought_sku', 1, 'skus', 'text[]', 'SKUs of order lines, matched case-insensitively', '["SUP-0015-30CT"]'),
('big_baskets', 1, 'items', 'integer', 'number of items (sum of line quantities)', '6'),
('order_tag', 1, 'tags', 'text[]', 'order tags, matched case-insensitively', '["gift"]'),
('utm_campaign', 1, 'campaigns', 'text[]', 'utm_campaign values, matched case-insensitively', '["welcome_series"]'),
('first_order_campaign', 1, 'campaigns', 'text[]', 'utm_campaign values, matched case-insensitively', '["welcome_series"]'),
('utm_source', 1, 'sources', 'text[]', 'utm_source values, matched case-insensitively', '["klaviyo"]'),
('first_order_utm_source', 1, 'sources', 'text[]', 'utm_source values, matched case-insensitively', '["klaviyo"]'),
('utm_medium', 1, 'mediums', 'text[]', 'utm_medium values, matched case-insensitively', '["email"]'),
('discount_code', 1, 'codes', 'text[]', 'discount codes, matched case-insensitively', '["WELCOME10"]'),
('campaign_in_period', 1, 'tags', 'text[]', 'order tags, matched case-insensitively', '["holiday_2025"]'),
('campaign_in_period', 2, 'from', 'date', 'first day of the period, inclusive (store-local date)', '"2025-11-20"'),
('campaign_in_period', 3, 'to', 'date', 'last day of the period, inclusive (store-local date)', '"2025-12-31"'),
('sales_channel', 1, 'channels', 'text[]', 'sales channels, matched case-insensitively', '["web"]'),
('first_order_channel', 1, 'channels', 'text[]', 'sales channels, matched case-insensitively', '["shop_app"]'),
('acquisition_channel', 1, 'acquisition_channels', 'text[]', 'acquisition channels of the first order, matched case-insensitively', '["paid_social"]'),
('referring_site', 1, 'sites', 'text[]', 'referring sites of the first order, matched case-insensitively', '["https://www.google.com/"]'),
('landing_site', 1, 'pages', 'text[]', 'landing pages of the first order, matched case-insensitively', '["/collections/coffee"]'),
('omnichannel', 1, 'channels_a', 'text[]', 'sales channels of one side, matched case-insensitively', '["web"]'),
('omnichannel', 2, 'channels_b', 'text[]', 'sales channels of the other side, matched case-insensitively', '["pos"]'),
('subscribers', 1, 'days', 'integer', 'a subscription order in the last this many days', '45'),
('subscription_churned', 1, 'days', 'integer', 'no subscription order in the last this many days', '60'),
('subscription_long', 1, 'orders', 'integer', 'at least this many subscription orders', '6'),
('high_aov', 1, 'amount', 'numeric', 'average order value at least this', '80'),
('low_aov', 1, 'amount', 'numeric', 'average order value below this', '30'),
('high_spenders', 1, 'amount', 'numeric', 'net revenue at least this', '500'),
('big_order', 1, 'amount', 'numeric', 'one order with a net amount at least this', '200'),
('vip_recent', 1, 'amount', 'numeric', 'net revenue at least this', '500'),
('vip_recent', 2, 'days', 'integer', 'an order in the last this many days', '90'),
('spend_in_period', 1, 'amount', 'numeric', 'net revenue of the period at least this', '100'),
('spend_in_period', 2, 'from', 'date', 'first day of the period, inclusive (store-local date)', '"2025-01-01"'),
('spend_in_period', 3, 'to', 'date', 'last day of the period, inclusive (store-local date)', '"2025-12-31"'),
('country', 1, 'countries', 'text[]', 'countries as stored in ecpower.customers.country, matched case-insensitively', '["US", "CA"]'),
('province', 1, 'provinces', 'text[]', 'provinces or states, matched case-insensitively', '["California"]'),
('city', 1, 'cities', 'text[]', 'cities, matched case-insensitively', '["Tokyo"]'),
('domestic_repeaters', 1, 'countries', 'text[]', 'countries as stored in ecpower.customers.country, matched case-insensitively', '["JP"]'),
('customer_tag', 1, 'tags', 'text[]', 'customer tags, matched case-insensitively', '["newsletter"]'),
('email_domain', 1, 'domains', 'text[]', 'email domains (the part after "@"), matched case-insensitively', '["example.com"]'),
('likely_lost_one_time_buyers', 1, 'p_alive', 'numeric', 'predicted probability of still being a customer below this (0 to 1)', '0.3'),
('overdue_loyal_customers', 1, 'orders', 'integer', 'at least this many counted orders', '3'),
('overdue_loyal_customers', 2, 'days', 'integer', 'at least this many days past the expected next order date', '30'),
('high_value_low_p_alive', 1, 'clv', 'numeric', 'predicted value of the next 365 days at least this, in the store currency', '100'),
('high_value_low_p_alive', 2, 'p_alive', 'numeric', 'predicted probability of still being a customer below this (0 to 1)', '0.5')
) AS p(template, position, parameter, type, description, example);
COMMENT ON VIEW ecpower.template_parameters IS
    'one row per parameter of a segment template: position, type, meaning and an example value';
CREATE VIEW ecpower.template_examples AS
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
COMMENT ON VIEW ecpower.template_examples IS
    'a working create_segment_from_template() call for every template, with its example parameters';

-- ==================== 45_rfm.sql
COMMENT ON TABLE ecpower.rfm_blocks IS
    'RFM of every customer as of the last refresh (prospects included), packed by blocks of customers (src/segments/rfmstore.c); read it through ecpower.customer_rfm';
COMMENT ON VIEW ecpower.rfm_groups IS
    'the 11 RFM groups in a readable order (best first, prospects last)';

-- ==================== 46_ordercache.sql
/*
 * The refresh's order cache (src/timeline/ordercache.c, README "Performance"): every
 * uncancelled order as the segment engine keeps it, so that a nightly
 * refresh reads only the orders that changed since the last one.
 *
 * Statement triggers on orders and order_lines log the order ids a
 * statement touches in ecpower.order_changes; a statement touching more
 * than 50,000 rows, a TRUNCATE, a change of product attributes or of
 * customer keys logs a NULL instead, which makes the next refresh read the
 * whole store and rebuild the cache.  Nothing here is dumped: a restored
 * database starts without a cache, and its first refresh builds one.  The
 * cache is an ordinary WAL-logged table, so that a streaming replica holds
 * it too and answers reports from it; every chunk carries a checksum and is
 * checked record by record before use (src/timeline/ordercache.c).
 *
 * Writes made with session_replication_role = replica (logical replication
 * apply workers, sync tools) do not fire ordinary triggers: row triggers
 * enabled for REPLICA log those, and the TRUNCATE triggers fire ALWAYS.
 */
-- The cache is rebuilt by the next refresh: its chunks gained a format
-- number (a 0.2.0 cache is not read by 1.0.0), and both tables become
-- WAL-logged.  The state table is made again for its new column.
TRUNCATE ecpower.order_cache;
ALTER TABLE ecpower.order_cache SET LOGGED;
COMMENT ON TABLE ecpower.order_cache IS
    'internal: chunks of cached orders written by refresh (src/timeline/ordercache.c)';
DROP TABLE ecpower.order_cache_state;
CREATE TABLE ecpower.order_cache_state (
    singleton   boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    format      integer NOT NULL,
    tag         text NOT NULL,
    timezone    text NOT NULL,
    orders      bigint NOT NULL,
    stale       bytea,
    built_at    timestamptz NOT NULL
);
COMMENT ON TABLE ecpower.order_cache_state IS
    'internal: what the order cache was built for, and the orders it holds out of date';
/*
 * The same, a row at a time, for sessions in replica mode, where the
 * statement triggers above do not fire (and logical replication fires no
 * statement trigger at all).
 */
CREATE FUNCTION ecpower._log_order_change_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP OPERATOR(pg_catalog.<>) 'INSERT' THEN
        INSERT INTO ecpower.order_changes (order_id) VALUES (OLD.order_id);
    END IF;
    IF TG_OP OPERATOR(pg_catalog.<>) 'DELETE'
       AND (TG_OP OPERATOR(pg_catalog.=) 'INSERT' OR NEW.order_id OPERATOR(pg_catalog.<>) OLD.order_id) THEN
        INSERT INTO ecpower.order_changes (order_id) VALUES (NEW.order_id);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._log_order_change_row() IS
    'internal: logs an order a replicated row change on orders or order_lines touched, for the order cache';
CREATE TRIGGER order_cache_replica AFTER INSERT OR UPDATE OR DELETE ON ecpower.orders
    FOR EACH ROW EXECUTE FUNCTION ecpower._log_order_change_row();
CREATE TRIGGER order_cache_replica AFTER INSERT OR UPDATE OR DELETE ON ecpower.order_lines
    FOR EACH ROW EXECUTE FUNCTION ecpower._log_order_change_row();
ALTER TABLE ecpower.orders ENABLE REPLICA TRIGGER order_cache_replica;
ALTER TABLE ecpower.order_lines ENABLE REPLICA TRIGGER order_cache_replica;
ALTER TABLE ecpower.orders ENABLE ALWAYS TRIGGER order_cache_truncate;
ALTER TABLE ecpower.order_lines ENABLE ALWAYS TRIGGER order_cache_truncate;
-- the same for sessions in replica mode, a row at a time
CREATE FUNCTION ecpower._log_key_change_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'products' THEN
        IF (OLD.product_id, OLD.title, OLD.product_type, OLD.vendor, OLD.tags)
           IS DISTINCT FROM (NEW.product_id, NEW.title, NEW.product_type, NEW.vendor, NEW.tags) THEN
            INSERT INTO ecpower.order_changes (order_id) VALUES (NULL);
        END IF;
    ELSIF (OLD.customer_id, OLD.ckey) IS DISTINCT FROM (NEW.customer_id, NEW.ckey) THEN
        INSERT INTO ecpower.order_changes (order_id) VALUES (NULL);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._log_key_change_row() IS
    'internal: asks for an order cache rebuild when a replicated row change alters product attributes or customer keys';
CREATE TRIGGER order_cache_replica AFTER UPDATE ON ecpower.products
    FOR EACH ROW EXECUTE FUNCTION ecpower._log_key_change_row();
CREATE TRIGGER order_cache_replica AFTER UPDATE ON ecpower.customers
    FOR EACH ROW EXECUTE FUNCTION ecpower._log_key_change_row();
ALTER TABLE ecpower.products ENABLE REPLICA TRIGGER order_cache_replica;
ALTER TABLE ecpower.customers ENABLE REPLICA TRIGGER order_cache_replica;
ALTER TABLE ecpower.products ENABLE ALWAYS TRIGGER order_cache_truncate;
ALTER TABLE ecpower.customers ENABLE ALWAYS TRIGGER order_cache_truncate;

-- ==================== 46_timeline.sql
/*
 * The timeline's values (src/timeline/values.c, docs/internals.md "The
 * timeline"): beside the order cache, what each cached order carries --
 * its lines (product, sku, quantity, unit cost) and its order-level values
 * (channels, referring and landing sites, UTM fields, tags, discount
 * codes), dictionary-encoded in checksummed chunks.  Written whenever a
 * refresh writes the order cache, in the same transaction; reports read
 * them instead of scanning orders and order_lines, and read the orders
 * changed since from the heap.  Like the cache, nothing here is dumped,
 * and the tables are WAL-logged so that a streaming replica answers from
 * them too.
 */

CREATE TABLE ecpower.timeline_values (
    grp     smallint NOT NULL,
    chunk   integer NOT NULL,
    data    bytea NOT NULL,
    PRIMARY KEY (grp, chunk)
);
ALTER TABLE ecpower.timeline_values ALTER COLUMN data SET STORAGE PLAIN;
COMMENT ON TABLE ecpower.timeline_values IS
    'internal: chunks of the values each cached order carries, written by refresh (src/timeline/values.c)';

CREATE TABLE ecpower.timeline_dict (
    grp     smallint NOT NULL,
    id      integer NOT NULL,
    value   text NOT NULL,
    PRIMARY KEY (grp, id)
);
COMMENT ON TABLE ecpower.timeline_dict IS
    'internal: the text of each dictionary id of ecpower.timeline_values';

CREATE TABLE ecpower.timeline_state (
    singleton       boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    format          integer NOT NULL,
    entries         bigint NOT NULL,
    lines           bigint NOT NULL,
    cache_built_at  timestamptz NOT NULL,
    built_at        timestamptz NOT NULL
);
COMMENT ON TABLE ecpower.timeline_state IS
    'internal: the order cache build the timeline values belong to';


-- ==================== 47_refresh.sql
/*
 * CALL ecpower.refresh(as_of) (README "Refresh, membership and history"): the lock, the run log and the
 * transactions live here, in one place; the evaluation is C
 * (ecpower._refresh_compute, src/refresh/refresh.c).
 *
 * Called on its own (psql, pg_cron), the procedure works in three
 * transactions:
 *   1. take the refresh lock (refused at once with SQLSTATE 55P03 and a
 *      'skipped' row when another refresh is running), mark stale
 *      'running' rows 'abandoned', insert this run as 'running'; COMMIT;
 *   2. ecpower._refresh_run(): take the refresh lock again and the
 *      definitions lock; membership, RFM, the post-membership steps, the
 *      refresh_state pointer and the 'succeeded' status, all in one
 *      transaction, so readers see the previous or the new result; on any
 *      error (cancel and statement_timeout included) that work is rolled
 *      back and the run is marked 'failed' with the error; COMMIT;
 *   3. re-raise the error, if there was one.
 *
 * The refresh lock is an EXCLUSIVE lock on the empty table
 * ecpower.refresh_lock, which only roles with UPDATE on it (the refresher)
 * can take: a role that may merely read, or a stranger,
 * cannot hold refreshes off (an advisory lock is open to every role).  A
 * table lock lasts one transaction, so between transactions 1 and 2 the
 * run is protected by its 'running' row instead: a refresh that gets the
 * lock but finds a 'running' run of another live backend is refused the
 * same way.
 * A procedure that commits cannot carry a SET clause, so it pins
 * search_path with set_config() at the start of every transaction.
 *
 * Called where it cannot commit (inside BEGIN ... COMMIT, or from a
 * function), it runs entirely in the caller's transaction under a
 * transaction-level lock, and its run row lives or dies with that
 * transaction.
 */
CREATE TABLE ecpower.refresh_lock ();
COMMENT ON TABLE ecpower.refresh_lock IS
    'empty: a refresh holds an EXCLUSIVE lock on it while it runs (only the refresher may take it)';
/*
 * Take the refresh lock for this transaction; false, at once, when another
 * transaction holds it or another live backend has a 'running' run (one
 * between its first and second transaction).  A 'running' row of this
 * backend is stale: this backend is not running it.
 */
CREATE FUNCTION ecpower._refresh_try_lock()
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    BEGIN
        LOCK TABLE ecpower.refresh_lock IN EXCLUSIVE MODE NOWAIT;
    EXCEPTION WHEN lock_not_available THEN
        RETURN false;
    END;
    RETURN NOT EXISTS (
        SELECT 1
          FROM ecpower.refresh_runs AS r
          JOIN pg_catalog.pg_stat_activity AS a ON a.pid OPERATOR(pg_catalog.=) r.pid
         WHERE r.status OPERATOR(pg_catalog.=) 'running'
           AND r.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid());
END
$$;
COMMENT ON FUNCTION ecpower._refresh_try_lock() IS
    'internal: takes the refresh lock (EXCLUSIVE on ecpower.refresh_lock) unless another refresh is running';
CREATE OR REPLACE FUNCTION ecpower._refresh_run(p_run bigint)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_as_of timestamptz;
    v_res record;
BEGIN
    -- the refresh lock again (another refresh's first transaction may hold
    -- it for a moment; it finds this run 'running' and gives up), and the
    -- definitions lock: segments do not change while they are evaluated
    -- and their results stored (definition changes wait for the refresh)
    LOCK TABLE ecpower.refresh_lock IN EXCLUSIVE MODE;
    LOCK TABLE ecpower.definition_lock IN SHARE MODE;
    SELECT r.as_of INTO STRICT v_as_of
      FROM ecpower.refresh_runs AS r WHERE r.run_id OPERATOR(pg_catalog.=) p_run;

    -- predictions: when the store opts in, re-fit and re-score
    -- first, so that "predicted" conditions see this as_of
    PERFORM ecpower.refresh_predictions(v_as_of);

    -- membership of every segment for the run's as_of_date, and RFM
    SELECT * INTO v_res FROM ecpower._refresh_compute(p_run, v_as_of);

    -- post-membership steps: other modules add theirs here, in this same
    -- transaction (ecpower.refresh_state still points at the previous run;
    -- the new run is p_run, its membership is stored):
    -- (the KPI snapshots are taken by _refresh_compute from the orders it
    -- evaluated: src/refresh/refresh.c, src/reports/kpi_report.c)
    PERFORM ecpower._record_tag_changes(p_run); -- tag-change feed (src/activation/activation.c)

    UPDATE ecpower.refresh_state SET current_run_id = p_run;
    UPDATE ecpower.refresh_runs
       SET status = 'succeeded', finished_at = pg_catalog.clock_timestamp(),
           segments = v_res.segments, customers = v_res.customers
     WHERE run_id OPERATOR(pg_catalog.=) p_run;
END
$$;
/*
 * start a run: refuse an as_of earlier than the current one, abandon stale
 * runs, log this one as running.  A refresh replaces the current state
 * (membership, RFM, what reports answer as of) and appends tag changes, so
 * going back in time would throw away the state of the later refresh.
 */
CREATE OR REPLACE FUNCTION ecpower._refresh_start(p_as_of timestamptz)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_run bigint;
    v_current timestamptz;
BEGIN
    -- the caller holds the refresh lock and saw no live run
    SELECT r.as_of INTO v_current
      FROM ecpower.refresh_state AS s
      JOIN ecpower.refresh_runs AS r ON r.run_id OPERATOR(pg_catalog.=) s.current_run_id;
    IF v_current IS NOT NULL AND p_as_of OPERATOR(pg_catalog.<) v_current THEN
        RAISE EXCEPTION 'as_of % is earlier than the as_of of the last successful refresh, %',
                        p_as_of, v_current
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'A refresh replaces the current membership, RFM and the "as of" of every report, and writes tag changes; it only moves forward.',
                  HINT = 'To see past days, read the history: ecpower.segment_members(slug, on_date), ecpower.segment_history().';
    END IF;
    UPDATE ecpower.refresh_runs
       SET status = 'abandoned', finished_at = pg_catalog.clock_timestamp(),
           error = 'the backend running it ended without finishing the run'
     WHERE status OPERATOR(pg_catalog.=) 'running';
    INSERT INTO ecpower.refresh_runs (as_of, as_of_date, pid)
    SELECT p_as_of, (p_as_of AT TIME ZONE s.store_timezone)::date, pg_catalog.pg_backend_pid()
      FROM ecpower.settings AS s
    RETURNING run_id INTO v_run;
    IF v_run IS NULL THEN
        RAISE EXCEPTION 'ecpower.settings has no row' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    RETURN v_run;
END
$$;
CREATE OR REPLACE FUNCTION ecpower._refresh_busy(p_as_of timestamptz, p_log boolean)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_pid integer;
BEGIN
    SELECT l.pid INTO v_pid FROM pg_catalog.pg_locks AS l
     WHERE l.locktype OPERATOR(pg_catalog.=) 'relation'
       AND l.relation OPERATOR(pg_catalog.=) 'ecpower.refresh_lock'::pg_catalog.regclass
       AND l.mode OPERATOR(pg_catalog.=) 'ExclusiveLock' AND l.granted
     LIMIT 1;
    IF v_pid IS NULL THEN
        SELECT r.pid INTO v_pid FROM ecpower.refresh_runs AS r
         WHERE r.status OPERATOR(pg_catalog.=) 'running'
         ORDER BY r.run_id DESC LIMIT 1;
    END IF;
    IF p_log THEN
        INSERT INTO ecpower.refresh_runs (as_of, as_of_date, finished_at, status, error, pid)
        SELECT p_as_of, (p_as_of AT TIME ZONE s.store_timezone)::date,
               pg_catalog.clock_timestamp(), 'skipped',
               pg_catalog.format('another refresh is running (pid %s)', v_pid),
               pg_catalog.pg_backend_pid()
          FROM ecpower.settings AS s;
    END IF;
END
$$;
CREATE OR REPLACE PROCEDURE ecpower.refresh(as_of timestamptz DEFAULT pg_catalog.now())
LANGUAGE plpgsql
AS $$
DECLARE
    -- declarations are resolved on the caller's search_path (this procedure
    -- cannot pin it with a SET clause): type names are qualified
    v_run bigint;
    v_path pg_catalog.text := pg_catalog.current_setting('search_path');
    v_failed boolean := false;
    v_state pg_catalog.text;
    v_msg pg_catalog.text;
    v_detail pg_catalog.text;
    v_hint pg_catalog.text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF as_of IS NULL OR NOT pg_catalog.isfinite(as_of) THEN
        RAISE EXCEPTION 'as_of must be a finite timestamp' USING ERRCODE = 'invalid_parameter_value';
    END IF;

    IF NOT ecpower._refresh_can_commit() THEN
        -- inside the caller's transaction (a transaction block, or called
        -- from a function): no COMMIT, one transaction
        IF NOT ecpower._refresh_try_lock() THEN
            RAISE EXCEPTION 'a refresh is already running'
                USING ERRCODE = 'lock_not_available',
                      HINT = 'See ecpower.refresh_runs; try again when it has finished.';
        END IF;
        v_run := ecpower._refresh_start(as_of);
        PERFORM ecpower._refresh_run(v_run);
        PERFORM pg_catalog.set_config('search_path', v_path, true);
        RETURN;
    END IF;

    -- transaction 1: lock and log
    IF NOT ecpower._refresh_try_lock() THEN
        PERFORM ecpower._refresh_busy(as_of, true);
        COMMIT;
        RAISE EXCEPTION 'a refresh is already running'
            USING ERRCODE = 'lock_not_available',
                  DETAIL = 'This attempt is logged as skipped in ecpower.refresh_runs.',
                  HINT = 'Try again when the running refresh has finished.';
    END IF;
    v_run := ecpower._refresh_start(as_of);
    COMMIT;

    -- transaction 2: the work, all or nothing
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    BEGIN
        PERFORM ecpower._refresh_run(v_run);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        v_failed := true;
        UPDATE ecpower.refresh_runs
           SET status = 'failed', finished_at = pg_catalog.clock_timestamp(),
               error = v_state OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||) v_msg
         WHERE run_id OPERATOR(pg_catalog.=) v_run;
    END;
    COMMIT;

    -- transaction 3: report
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF v_failed THEN
        v_hint := pg_catalog.concat_ws(' ', NULLIF(v_hint, ''),
            pg_catalog.format('Refresh run %s is logged as failed in ecpower.refresh_runs.', v_run));
        IF COALESCE(v_detail, '') OPERATOR(pg_catalog.=) '' THEN
            RAISE EXCEPTION '%', v_msg USING ERRCODE = v_state, HINT = v_hint;
        ELSE
            RAISE EXCEPTION '%', v_msg USING ERRCODE = v_state, DETAIL = v_detail, HINT = v_hint;
        END IF;
    END IF;
END
$$;
COMMENT ON PROCEDURE ecpower.refresh(timestamptz) IS
    'evaluates every segment and RFM as of as_of and stores membership, history and RFM (README "Refresh, membership and history")';

-- the refresh lock is a table lock now: the advisory lock key is gone
DROP FUNCTION ecpower._refresh_lock_key();

-- ==================== 48_backfill.sql
/*
 * CALL ecpower.backfill(from_date, to_date) (docs/backfill.md): membership
 * history and KPI snapshots for days before the store was first refreshed,
 * as refreshes at the end of each of those days would have stored them.
 *
 * One transaction, all or nothing: the checks, the refresh lock (the same
 * EXCLUSIVE lock on ecpower.refresh_lock a refresh takes; refused at once
 * with 55P03 while a refresh or another backfill runs), the definitions
 * lock, one ecpower.refresh_runs row with status 'backfilled', and the
 * computation (ecpower._backfill_compute, src/refresh/backfill.c).  The
 * current membership, RFM, the tag-change feed and ecpower.refresh_state
 * are not touched.
 */

-- a backfill is logged in the run log with its own status
ALTER TABLE ecpower.refresh_runs
    DROP CONSTRAINT refresh_runs_status_check,
    ADD CONSTRAINT refresh_runs_status_check
        CHECK (status OPERATOR(pg_catalog.=) ANY
               (ARRAY['running', 'succeeded', 'failed', 'abandoned', 'skipped',
                      'backfilled']::text[]));

CREATE FUNCTION ecpower._backfill_compute(run_id bigint, from_date date, to_date date,
                                          OUT days integer, OUT segments integer,
                                          OUT customers integer)
AS 'MODULE_PATHNAME', 'backfill_compute'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._backfill_compute(bigint, date, date) IS
    'internal: stores membership history and KPI snapshots of every segment for every day of a range';

CREATE PROCEDURE ecpower.backfill(from_date date, to_date date)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_tz text;
    v_today date;
    v_current date;
    v_as_of timestamptz;
    v_run bigint;
    v_res record;
BEGIN
    IF from_date IS NULL THEN
        RAISE EXCEPTION 'from_date must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_date IS NULL THEN
        RAISE EXCEPTION 'to_date must not be NULL' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_catalog.isfinite(from_date) THEN
        RAISE EXCEPTION 'from_date must be a finite date, not %', from_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT pg_catalog.isfinite(to_date) THEN
        RAISE EXCEPTION 'to_date must be a finite date, not %', to_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF from_date OPERATOR(pg_catalog.>) to_date THEN
        RAISE EXCEPTION 'from_date % is after to_date %', from_date, to_date
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF to_date OPERATOR(pg_catalog.>=)
       (from_date OPERATOR(pg_catalog.+) '10 years'::pg_catalog.interval)::date THEN
        RAISE EXCEPTION 'the range from % to % is longer than 10 years', from_date, to_date
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Backfill at most 10 years in one call; call it again for earlier years.';
    END IF;

    IF NOT ecpower._refresh_try_lock() THEN
        RAISE EXCEPTION 'a refresh is already running'
            USING ERRCODE = 'lock_not_available',
                  HINT = 'See ecpower.refresh_runs; try again when it has finished.';
    END IF;
    -- definitions do not change while they are evaluated (as in refresh)
    LOCK TABLE ecpower.definition_lock IN SHARE MODE;

    SELECT s.store_timezone INTO v_tz FROM ecpower.settings AS s;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'ecpower.settings has no row' USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    v_today := (pg_catalog.now() AT TIME ZONE v_tz)::date;
    IF to_date OPERATOR(pg_catalog.>=) v_today THEN
        RAISE EXCEPTION 'to_date % is not in the past', to_date
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = pg_catalog.format('Today is %s in the store time zone (%s); only days that have ended can be backfilled.',
                                             v_today, v_tz);
    END IF;
    SELECT r.as_of_date INTO v_current
      FROM ecpower.refresh_state AS s
      JOIN ecpower.refresh_runs AS r ON r.run_id OPERATOR(pg_catalog.=) s.current_run_id;
    IF v_current IS NOT NULL AND to_date OPERATOR(pg_catalog.>=) v_current THEN
        RAISE EXCEPTION 'to_date % is not before the day of the last refresh, %', to_date, v_current
            USING ERRCODE = 'invalid_parameter_value',
                  DETAIL = 'The day of the last refresh holds the current membership, and later days are stored by the refreshes that follow it.',
                  HINT = pg_catalog.format('Backfill days up to %s.', v_current OPERATOR(pg_catalog.-) 1);
    END IF;

    v_as_of := ((to_date OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE v_tz)
               OPERATOR(pg_catalog.-) '1 microsecond'::pg_catalog.interval;
    INSERT INTO ecpower.refresh_runs (as_of, as_of_date, status, pid)
    VALUES (v_as_of, to_date, 'backfilled', pg_catalog.pg_backend_pid())
    RETURNING run_id INTO v_run;

    SELECT * INTO v_res FROM ecpower._backfill_compute(v_run, from_date, to_date);

    UPDATE ecpower.refresh_runs
       SET finished_at = pg_catalog.clock_timestamp(),
           segments = v_res.segments, customers = v_res.customers
     WHERE run_id OPERATOR(pg_catalog.=) v_run;
END
$$;
COMMENT ON PROCEDURE ecpower.backfill(date, date) IS
    'stores membership history and KPI snapshots for every day of [from_date, to_date] as end-of-day refreshes would have (docs/backfill.md)';

CREATE FUNCTION ecpower.customer_segments(customer_id bigint, on_date date)
RETURNS SETOF text
AS 'MODULE_PATHNAME', 'customer_segments_on_date'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.customer_segments(bigint, date) IS
    'slugs of the segments a customer was in on a stored day (refreshed or backfilled)';


-- ==================== 50_kpis.sql
COMMENT ON TYPE ecpower.kpi IS
    'the KPI table of a set of customers (README "KPIs, cohorts and journeys")';
-- the KPI row gains gross_profit and gross_margin (docs/profit.md)
ALTER TYPE ecpower.kpi ADD ATTRIBUTE gross_profit numeric, ADD ATTRIBUTE gross_margin numeric;
ALTER TABLE ecpower.kpi_snapshots ADD COLUMN gross_profit numeric, ADD COLUMN gross_margin numeric;
COMMENT ON AGGREGATE ecpower.kpis(bigint, timestamptz, numeric) IS
    'KPIs of the customers and orders of a group: one row per order (amount = net); a NULL ordered_at counts the customer without an order; gross_profit and gross_margin are NULL (see the four-argument form)';
DROP FUNCTION ecpower.compare_segments(text[]);
CREATE FUNCTION ecpower.compare_segments(slugs text[])
RETURNS TABLE (slug text, customers bigint, buyers bigint, orders bigint,
               revenue numeric, ltv numeric, aov numeric, customer_aov numeric,
               avg_orders numeric, repeat_rate numeric, avg_interval_days numeric,
               median_interval_days numeric, avg_lifetime_days numeric,
               gross_profit numeric, gross_margin numeric,
               revenue_share numeric, customer_share numeric)
AS 'MODULE_PATHNAME', 'compare_segments'
LANGUAGE C STABLE STRICT PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.compare_segments(text[]) IS
    'KPIs of several segments side by side (a NULL element: whole store) with their share of store revenue and customers';
DROP FUNCTION ecpower.segment_history(text, date, date);
CREATE FUNCTION ecpower.segment_history(slug text, from_date date DEFAULT NULL,
                                        to_date date DEFAULT NULL)
RETURNS TABLE (day date, customers bigint, buyers bigint, orders bigint,
               revenue numeric, ltv numeric, aov numeric, customer_aov numeric,
               avg_orders numeric, repeat_rate numeric, avg_interval_days numeric,
               median_interval_days numeric, avg_lifetime_days numeric,
               gross_profit numeric, gross_margin numeric,
               day_orders bigint, day_revenue numeric)
LANGUAGE plpgsql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    sid integer;
BEGIN
    -- the same period rules as segment_kpis and the other reports
    IF NOT pg_catalog.isfinite(from_date) OR NOT pg_catalog.isfinite(to_date) THEN
        RAISE EXCEPTION 'period bounds must be finite dates'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Pass NULL for an open bound.';
    END IF;
    IF from_date OPERATOR(pg_catalog.>) to_date THEN
        RAISE EXCEPTION 'from date % is after to date %',
            pg_catalog.to_char(from_date, 'YYYY-MM-DD'), pg_catalog.to_char(to_date, 'YYYY-MM-DD')
            USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF slug IS NOT NULL THEN
        SELECT s.segment_id INTO sid
          FROM ecpower.segments s
         WHERE s.slug OPERATOR(pg_catalog.=) segment_history.slug;
        IF NOT FOUND THEN
            RAISE EXCEPTION 'segment "%" does not exist', slug
                USING ERRCODE = 'undefined_object';
        END IF;
    END IF;
    RETURN QUERY
    SELECT k.day, k.customers, k.buyers, k.orders, k.revenue, k.ltv, k.aov,
           k.customer_aov, k.avg_orders, k.repeat_rate, k.avg_interval_days,
           k.median_interval_days, k.avg_lifetime_days, k.gross_profit, k.gross_margin,
           k.day_orders, k.day_revenue
      FROM ecpower.kpi_snapshots k
     WHERE k.segment_id IS NOT DISTINCT FROM sid
       AND (from_date IS NULL OR k.day OPERATOR(pg_catalog.>=) from_date)
       AND (to_date IS NULL OR k.day OPERATOR(pg_catalog.<=) to_date)
     ORDER BY k.day;
END
$$;
COMMENT ON FUNCTION ecpower.segment_history(text, date, date) IS
    'daily KPI snapshots of a segment (NULL: whole store) stored by refresh, with the members'' orders and revenue of each day';

-- ==================== 51_profit.sql
/*
 * Gross profit (docs/profit.md): the four-argument ecpower.kpis() aggregate,
 * which fills the gross_profit and gross_margin columns of the KPI row from
 * each order's gross profit.  It shares the state, combine, serialization
 * and deserialization functions of the three-argument form
 * (src/sql/50_kpis.sql), so it is as parallel safe.
 */

CREATE FUNCTION ecpower.kpis_profit_transfn(internal, bigint, timestamptz, numeric, numeric)
RETURNS internal
AS 'MODULE_PATHNAME', 'kpis_profit_transfn'
LANGUAGE C IMMUTABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.kpis_profit_transfn(internal, bigint, timestamptz, numeric, numeric) IS
    'transition function of ecpower.kpis(customer_id, ordered_at, amount, gross_profit)';

-- STABLE: reads the store time zone from ecpower.settings
CREATE FUNCTION ecpower.kpis_profit_finalfn(internal)
RETURNS ecpower.kpi
AS 'MODULE_PATHNAME', 'kpis_profit_finalfn'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.kpis_profit_finalfn(internal) IS
    'final function of ecpower.kpis(customer_id, ordered_at, amount, gross_profit): the KPI row with gross_profit and gross_margin';

CREATE AGGREGATE ecpower.kpis(customer_id bigint, ordered_at timestamptz, amount numeric,
                              gross_profit numeric) (
    SFUNC = ecpower.kpis_profit_transfn,
    STYPE = internal,
    SSPACE = 4096,
    FINALFUNC = ecpower.kpis_profit_finalfn,
    COMBINEFUNC = ecpower.kpis_combinefn,
    SERIALFUNC = ecpower.kpis_serialfn,
    DESERIALFUNC = ecpower.kpis_deserialfn,
    PARALLEL = SAFE
);
COMMENT ON AGGREGATE ecpower.kpis(bigint, timestamptz, numeric, numeric) IS
    'KPIs of the customers and orders of a group with gross profit: one row per order (amount = net, gross_profit = the order''s gross profit, NULL when unknown); a NULL ordered_at counts the customer without an order';


-- ==================== 52_profit_templates.sql
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


-- ==================== 60_reports.sql
-- the period parameters are renamed from "from"/"to" to from_date/to_date,
-- and bought_together() returns the product titles: made again
DROP FUNCTION ecpower.feature_report(text, text, text, date, date, integer, boolean);
DROP FUNCTION ecpower.distribution(text, text, text, date, date, numeric[]);
DROP FUNCTION ecpower.bought_together(text, integer, text, date, date);
/*
 * Feature reports (README "Feature reports"): top values by customers, distributions of a
 * per-customer measure, and products bought together.  All three answer as
 * of the last refresh: its members, and counted orders up to its as_of.
 * The period is [from_date, to_date], inclusive: every function of the
 * extension names its period bounds from_date and to_date.
 * Implemented in C (src/reports/report.c, src/reports/distribution.c, src/reports/basket.c over the
 * report source src/reports/reportdata.c).
 */
CREATE FUNCTION ecpower.feature_report(
    slug text,
    dimension text,
    variant text DEFAULT 'all',
    from_date date DEFAULT NULL,
    to_date date DEFAULT NULL,
    top integer DEFAULT 10,
    ascending boolean DEFAULT false)
RETURNS TABLE (rank integer, key text, label text, customers bigint,
               share numeric, store_share numeric, lift numeric)
AS 'MODULE_PATHNAME', 'feature_report'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.feature_report(text, text, text, date, date, integer, boolean) IS
    'top values of a dimension by segment customers in their selected orders, with share, store share and lift';
CREATE FUNCTION ecpower.distribution(
    slug text,
    measure text,
    variant text DEFAULT 'all',
    from_date date DEFAULT NULL,
    to_date date DEFAULT NULL,
    bins numeric[] DEFAULT NULL)
RETURNS TABLE (bin integer, lower numeric, upper numeric, customers bigint,
               share numeric)
AS 'MODULE_PATHNAME', 'distribution'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.distribution(text, text, text, date, date, numeric[]) IS
    'segment customers binned by a per-customer measure over their selected orders';
CREATE FUNCTION ecpower.bought_together(
    slug text,
    top integer DEFAULT 10,
    variant text DEFAULT 'all',
    from_date date DEFAULT NULL,
    to_date date DEFAULT NULL)
RETURNS TABLE (rank integer, product_a bigint, label_a text, product_b bigint,
               label_b text, customers bigint, support numeric, confidence numeric,
               lift numeric)
AS 'MODULE_PATHNAME', 'bought_together'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 10
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.bought_together(text, integer, text, date, date) IS
    'product pairs (ids and titles) most segment customers bought in one selected order: customers, support, confidence, lift';

-- ==================== 62_acquisition.sql
/*
 * Acquisition quality (docs/analyses.md "Acquisition quality"): marketing
 * spend per value of an acquisition dimension and day, and the report of
 * how the customers each value acquired turned out.
 */

CREATE TABLE ecpower.acquisition_spend (
    dimension text NOT NULL,
    key text NOT NULL,
    spend_date date NOT NULL,
    amount numeric(14,2) NOT NULL CHECK (amount OPERATOR(pg_catalog.>=) 0),
    PRIMARY KEY (dimension, key, spend_date)
);
COMMENT ON TABLE ecpower.acquisition_spend IS
    'marketing spend attributed to a value of a report dimension on a day, in the store currency (docs/analyses.md)';
SELECT pg_catalog.pg_extension_config_dump('ecpower.acquisition_spend', '');

/* the dimension must be one acquisition_report() reports (22023 otherwise) */
CREATE FUNCTION ecpower._acquisition_spend_check()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF NEW.dimension IS NULL OR NOT NEW.dimension OPERATOR(pg_catalog.=) ANY (ARRAY[
        'product', 'product_type', 'product_tag', 'vendor', 'sku',
        'acquisition_channel', 'referring_site', 'landing_site',
        'utm_source', 'utm_medium', 'utm_campaign',
        'sales_channel', 'order_tag', 'discount_code',
        'year_month', 'weekday', 'hour',
        'customer_tag', 'country', 'province', 'city']) THEN
        RAISE EXCEPTION 'unknown spend dimension "%"', NEW.dimension
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use a dimension of ecpower.acquisition_report(), such as utm_campaign or acquisition_channel.';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER acquisition_spend_check BEFORE INSERT OR UPDATE OF dimension
    ON ecpower.acquisition_spend
    FOR EACH ROW EXECUTE FUNCTION ecpower._acquisition_spend_check();

CREATE FUNCTION ecpower.acquisition_report(
    dimension text,
    slug text DEFAULT NULL,
    from_date date DEFAULT NULL,
    to_date date DEFAULT NULL,
    top integer DEFAULT 20)
RETURNS TABLE (rank integer, key text, label text, customers bigint,
               share numeric, first_aov numeric, repeat_rate numeric,
               f2_rate_90d numeric, ltv_3m numeric, ltv_6m numeric,
               ltv_12m numeric, ltv numeric, avg_orders numeric,
               gross_profit_ltv numeric, cac numeric, ltv_12m_to_cac numeric,
               payback_days integer)
AS 'MODULE_PATHNAME', 'acquisition_report'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 20
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.acquisition_report(text, text, date, date, integer) IS
    'customers acquired in a period by the values of their first order: first AOV, repeat and F2 rates, LTV windows, gross profit, CAC and payback';


-- ==================== 63_next_purchases.sql
/*
 * What customers buy next (docs/analyses.md "Next purchases"): the values
 * of order nth + 1 by the values of order nth, and the time to order nth + 1.
 */

CREATE FUNCTION ecpower.next_purchases(
    slug text DEFAULT NULL,
    dimension text DEFAULT 'product',
    nth integer DEFAULT 1,
    top integer DEFAULT 10,
    within_days integer DEFAULT NULL)
RETURNS TABLE (from_key text, from_label text, to_key text, to_label text,
               customers bigint, share numeric, median_days numeric)
AS 'MODULE_PATHNAME', 'next_purchases'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 100
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.next_purchases(text, text, integer, integer, integer) IS
    'values of customers'' next order (nth + 1) by the values of their order nth, with the share and median days between them';

CREATE FUNCTION ecpower.time_to_next_order(
    slug text DEFAULT NULL,
    dimension text DEFAULT NULL,
    nth integer DEFAULT 1)
RETURNS TABLE (key text, label text, customers bigint, reordered bigint,
               median_days numeric, p25_days numeric, p75_days numeric)
AS 'MODULE_PATHNAME', 'time_to_next_order'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 20
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.time_to_next_order(text, text, integer) IS
    'days from order nth to order nth + 1 (median and quartiles) by the values of order nth';


-- ==================== 64_acquisition_templates.sql
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



-- ==================== 72_activation.sql
COMMENT ON TABLE ecpower.tag_changes IS
    'tag add/remove events of segments with sync_tag, one per membership change, appended by refresh (README "Shopify import and activation")';

-- ==================== 74_shopify_api.sql
/*
 * Shopify Admin API (docs/shopify.md): orders in, tags out.
 *
 *   ecpower_shopify       foreign-data wrapper used only for its option
 *                         validator: a server per shop, the access token in
 *                         a user mapping (hidden by pg_user_mappings)
 *   shopify_pull()        customers, products, orders and lines: a bulk
 *                         query operation, everything the first time, what
 *                         changed (updated_at) later; all or nothing
 *   shopify_push()        the tag feed (tag_changes) after the last
 *                         acknowledged change, with tagsAdd / tagsRemove,
 *                         committing the acknowledged change id as it goes
 *   shopify_sync()        pull, refresh, push: what schedule_shopify()
 *                         runs through pg_cron
 *   shopify_state         per server: how far pulls and pushes got
 *   shopify_syncs         one row per pull or push
 *   shopify_push_errors   per-customer userErrors of pushes
 *
 * The procedures commit (a pull commits its log row, then its data; a push
 * after every acknowledged batch), so they cannot pin search_path with a
 * SET clause: they set it for their transactions with set_config() and
 * qualify every name.
 */
CREATE FUNCTION ecpower.shopify_fdw_validator(options text[], catalog oid)
RETURNS void
AS 'MODULE_PATHNAME', 'shopify_fdw_validator'
LANGUAGE C STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.shopify_fdw_validator(text[], oid) IS
    'internal: validates the options of the ecpower_shopify wrapper, its servers and user mappings';
CREATE FOREIGN DATA WRAPPER ecpower_shopify VALIDATOR ecpower.shopify_fdw_validator;
COMMENT ON FOREIGN DATA WRAPPER ecpower_shopify IS
    'Shopify Admin API connections of ecpower: one server per shop, the access token in a user mapping (docs/shopify.md)';
CREATE TABLE ecpower.shopify_state (
    server              text PRIMARY KEY,
    customers_until     timestamptz,
    products_until      timestamptz,
    orders_until        timestamptz,
    acked_change_id     bigint NOT NULL DEFAULT 0,
    pulled_at           timestamptz,
    pushed_at           timestamptz
);
COMMENT ON TABLE ecpower.shopify_state IS
    'per Shopify server: the latest updatedAt pulled per resource (the next pull asks for updated_at >= it) and the last tag change Shopify acknowledged';
CREATE TABLE ecpower.shopify_syncs (
    sync_id             bigserial PRIMARY KEY,
    server              text NOT NULL,
    direction           text NOT NULL
                        CONSTRAINT shopify_syncs_direction_check
                        CHECK (direction OPERATOR(pg_catalog.=) ANY (ARRAY['pull', 'push']::text[])),
    started             timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
    finished            timestamptz,
    status              text NOT NULL DEFAULT 'running'
                        CONSTRAINT shopify_syncs_status_check
                        CHECK (status OPERATOR(pg_catalog.=) ANY (ARRAY['running', 'succeeded', 'failed', 'abandoned']::text[])),
    rows                bigint NOT NULL DEFAULT 0,
    error               text,
    pid                 integer NOT NULL DEFAULT pg_catalog.pg_backend_pid()
);
COMMENT ON TABLE ecpower.shopify_syncs IS
    'one row per shopify_pull() or shopify_push(): rows loaded or tag changes acknowledged, and the error of a failed one; abandoned = its backend ended while it ran';
CREATE TABLE ecpower.shopify_push_errors (
    error_id            bigserial PRIMARY KEY,
    server              text NOT NULL,
    sync_id             bigint,
    change_id           bigint NOT NULL,
    customer_id         bigint NOT NULL,
    tag                 text NOT NULL,
    action              text NOT NULL,
    field               text,
    message             text NOT NULL,
    logged_at           timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp()
);
COMMENT ON TABLE ecpower.shopify_push_errors IS
    'userErrors Shopify returned for one tag change of a push (the push goes on; the change counts as acknowledged)';
SELECT pg_catalog.pg_extension_config_dump('ecpower.shopify_state', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.shopify_syncs', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.shopify_syncs_sync_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.shopify_push_errors', '');
SELECT pg_catalog.pg_extension_config_dump('ecpower.shopify_push_errors_error_id_seq', '');
CREATE FUNCTION ecpower._shopify_pull(server text)
RETURNS bigint
AS 'MODULE_PATHNAME', 'shopify_pull_run'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._shopify_pull(text) IS
    'internal: one pull of a Shopify server in the caller''s transaction; returns the rows written';
CREATE FUNCTION ecpower._shopify_push_batch(server text, sync_id bigint)
RETURNS integer
AS 'MODULE_PATHNAME', 'shopify_push_batch'
LANGUAGE C VOLATILE STRICT
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._shopify_push_batch(text, bigint) IS
    'internal: sends the next batch of tag changes of a server and records the acknowledged change id; returns the changes sent (0 = none left)';
/* log a pull or push as running; an earlier one whose backend is gone is abandoned */
CREATE FUNCTION ecpower._shopify_sync_start(server text, direction text)
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_sync bigint;
BEGIN
    IF server IS NULL THEN
        RAISE EXCEPTION 'server name must not be null' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_foreign_server AS s
                     JOIN pg_catalog.pg_foreign_data_wrapper AS w ON w.oid OPERATOR(pg_catalog.=) s.srvfdw
                    WHERE s.srvname OPERATOR(pg_catalog.=) server
                      AND w.fdwname OPERATOR(pg_catalog.=) 'ecpower_shopify') THEN
        RAISE EXCEPTION 'no Shopify server "%"', server
            USING ERRCODE = 'undefined_object',
                  HINT = 'CREATE SERVER ... FOREIGN DATA WRAPPER ecpower_shopify OPTIONS (shop ''brand.myshopify.com'') creates one.';
    END IF;
    INSERT INTO ecpower.shopify_state (server) VALUES (server) ON CONFLICT DO NOTHING;
    UPDATE ecpower.shopify_syncs AS s
       SET status = 'abandoned', finished = pg_catalog.clock_timestamp()
     WHERE s.server OPERATOR(pg_catalog.=) _shopify_sync_start.server
       AND s.direction OPERATOR(pg_catalog.=) _shopify_sync_start.direction
       AND s.status OPERATOR(pg_catalog.=) 'running'
       AND NOT EXISTS (SELECT FROM pg_catalog.pg_stat_activity AS a
                        WHERE a.pid OPERATOR(pg_catalog.=) s.pid
                          AND a.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid());
    INSERT INTO ecpower.shopify_syncs (server, direction)
    VALUES (server, direction) RETURNING sync_id INTO v_sync;
    RETURN v_sync;
END
$$;
COMMENT ON FUNCTION ecpower._shopify_sync_start(text, text) IS
    'internal: logs a running pull or push in shopify_syncs and marks earlier ones of dead backends abandoned';
CREATE FUNCTION ecpower._shopify_sync_finish(sync_id bigint, rows bigint, error text)
RETURNS void
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
    UPDATE ecpower.shopify_syncs AS s
       SET status = CASE WHEN _shopify_sync_finish.error IS NULL THEN 'succeeded' ELSE 'failed' END,
           finished = pg_catalog.clock_timestamp(),
           rows = COALESCE(_shopify_sync_finish.rows, s.rows),
           error = _shopify_sync_finish.error
     WHERE s.sync_id OPERATOR(pg_catalog.=) _shopify_sync_finish.sync_id
$$;
COMMENT ON FUNCTION ecpower._shopify_sync_finish(bigint, bigint, text) IS
    'internal: marks a pull or push succeeded (error NULL) or failed';
CREATE PROCEDURE ecpower.shopify_pull(server text DEFAULT 'shopify')
LANGUAGE plpgsql
AS $$
DECLARE
    v_path pg_catalog.text := pg_catalog.current_setting('search_path');
    v_sync pg_catalog.int8;
    v_rows pg_catalog.int8;
    v_failed boolean := false;
    v_state pg_catalog.text;
    v_msg pg_catalog.text;
    v_detail pg_catalog.text;
    v_hint pg_catalog.text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF NOT ecpower._refresh_can_commit() THEN
        -- in the caller's transaction: the log row shares its fate
        v_sync := ecpower._shopify_sync_start(server, 'pull');
        v_rows := ecpower._shopify_pull(server);
        PERFORM ecpower._shopify_sync_finish(v_sync, v_rows, NULL);
        PERFORM pg_catalog.set_config('search_path', v_path, true);
        RETURN;
    END IF;

    v_sync := ecpower._shopify_sync_start(server, 'pull');
    COMMIT;

    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    BEGIN
        v_rows := ecpower._shopify_pull(server);
        PERFORM ecpower._shopify_sync_finish(v_sync, v_rows, NULL);
    EXCEPTION WHEN OTHERS OR query_canceled THEN
        GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
        v_failed := true;
        PERFORM ecpower._shopify_sync_finish(v_sync, 0,
            v_state OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||) v_msg);
    END;
    COMMIT;

    IF v_failed THEN
        v_hint := pg_catalog.concat_ws(' ', NULLIF(v_hint, ''),
            pg_catalog.format('Pull %s is logged as failed in ecpower.shopify_syncs; nothing was loaded.', v_sync));
        IF COALESCE(v_detail, '') OPERATOR(pg_catalog.=) '' THEN
            RAISE EXCEPTION '%', v_msg USING ERRCODE = v_state, HINT = v_hint;
        ELSE
            RAISE EXCEPTION '%', v_msg USING ERRCODE = v_state, DETAIL = v_detail, HINT = v_hint;
        END IF;
    END IF;
END
$$;
COMMENT ON PROCEDURE ecpower.shopify_pull(text) IS
    'loads customers, products, orders and lines from a Shopify server: everything the first time, what changed since the last pull later; all or nothing (docs/shopify.md)';
CREATE PROCEDURE ecpower.shopify_push(server text DEFAULT 'shopify')
LANGUAGE plpgsql
AS $$
DECLARE
    v_path pg_catalog.text := pg_catalog.current_setting('search_path');
    v_sync pg_catalog.int8;
    v_n integer;
    v_total pg_catalog.int8 := 0;
    v_commit boolean;
    v_failed boolean := false;
    v_state pg_catalog.text;
    v_msg pg_catalog.text;
    v_detail pg_catalog.text;
    v_hint pg_catalog.text;
BEGIN
    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    v_commit := ecpower._refresh_can_commit();
    v_sync := ecpower._shopify_sync_start(server, 'push');
    IF v_commit THEN
        COMMIT;
    END IF;
    LOOP
        PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
        IF v_commit THEN
            BEGIN
                v_n := ecpower._shopify_push_batch(server, v_sync);
            EXCEPTION WHEN OTHERS OR query_canceled THEN
                GET STACKED DIAGNOSTICS v_state = RETURNED_SQLSTATE, v_msg = MESSAGE_TEXT,
                                        v_detail = PG_EXCEPTION_DETAIL, v_hint = PG_EXCEPTION_HINT;
                v_failed := true;
                PERFORM ecpower._shopify_sync_finish(v_sync, NULL,
                    v_state OPERATOR(pg_catalog.||) ': ' OPERATOR(pg_catalog.||) v_msg);
            END;
            COMMIT;
            EXIT WHEN v_failed;
        ELSE
            v_n := ecpower._shopify_push_batch(server, v_sync);
        END IF;
        EXIT WHEN v_n OPERATOR(pg_catalog.=) 0;
        v_total := v_total OPERATOR(pg_catalog.+) v_n;
    END LOOP;

    PERFORM pg_catalog.set_config('search_path', 'pg_catalog, pg_temp', true);
    IF v_failed THEN
        v_hint := pg_catalog.concat_ws(' ', NULLIF(v_hint, ''),
            pg_catalog.format('Push %s is logged as failed in ecpower.shopify_syncs; the changes Shopify acknowledged before stay acknowledged and the next push resumes after them.', v_sync));
        IF COALESCE(v_detail, '') OPERATOR(pg_catalog.=) '' THEN
            RAISE EXCEPTION '%', v_msg USING ERRCODE = v_state, HINT = v_hint;
        ELSE
            RAISE EXCEPTION '%', v_msg USING ERRCODE = v_state, DETAIL = v_detail, HINT = v_hint;
        END IF;
    END IF;
    PERFORM ecpower._shopify_sync_finish(v_sync, NULL, NULL);
    IF v_commit THEN
        COMMIT;
    ELSE
        PERFORM pg_catalog.set_config('search_path', v_path, true);
    END IF;
END
$$;
COMMENT ON PROCEDURE ecpower.shopify_push(text) IS
    'applies the tag feed after the last acknowledged change to Shopify customers with tagsAdd / tagsRemove, in feed order, committing the acknowledged change id as it goes (docs/shopify.md)';
CREATE PROCEDURE ecpower.shopify_sync(server text DEFAULT 'shopify')
LANGUAGE plpgsql
AS $$
BEGIN
    CALL ecpower.shopify_pull(server);
    CALL ecpower.refresh();
    CALL ecpower.shopify_push(server);
END
$$;
COMMENT ON PROCEDURE ecpower.shopify_sync(text) IS
    'pull, refresh, push: the nightly job of schedule_shopify()';
CREATE FUNCTION ecpower.schedule_shopify(server text, cron text DEFAULT '0 3 * * *')
RETURNS bigint
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    job bigint;
BEGIN
    PERFORM ecpower._require_pg_cron();
    IF server IS NULL OR cron IS NULL THEN
        RAISE EXCEPTION 'server and cron schedule must not be null'
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'Use ecpower.unschedule_shopify(server) to remove the job.';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_catalog.pg_foreign_server AS s
                     JOIN pg_catalog.pg_foreign_data_wrapper AS w ON w.oid OPERATOR(pg_catalog.=) s.srvfdw
                    WHERE s.srvname OPERATOR(pg_catalog.=) server
                      AND w.fdwname OPERATOR(pg_catalog.=) 'ecpower_shopify') THEN
        RAISE EXCEPTION 'no Shopify server "%"', server
            USING ERRCODE = 'undefined_object';
    END IF;
    EXECUTE 'SELECT cron.schedule($1, $2, $3)' INTO job
        USING 'ecpower-shopify-' OPERATOR(pg_catalog.||) server, cron,
              pg_catalog.format('CALL ecpower.shopify_sync(%L)', server);
    RETURN job;
END
$$;
COMMENT ON FUNCTION ecpower.schedule_shopify(text, text) IS
    'schedules one pg_cron job (ecpower-shopify-<server>) that pulls, refreshes and pushes; returns the job id';
CREATE FUNCTION ecpower.unschedule_shopify(server text)
RETURNS boolean
LANGUAGE plpgsql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    found boolean;
BEGIN
    PERFORM ecpower._require_pg_cron();
    EXECUTE 'SELECT pg_catalog.count(cron.unschedule(j.jobname)) > 0 FROM cron.job AS j WHERE j.jobname OPERATOR(pg_catalog.=) $1'
        INTO found USING 'ecpower-shopify-' OPERATOR(pg_catalog.||) server;
    RETURN found;
END
$$;
COMMENT ON FUNCTION ecpower.unschedule_shopify(text) IS
    'removes the pg_cron job of schedule_shopify(server); false when there was none';

-- ==================== 85_predict.sql
/*
 * Predicted customer value (README section "Predicted customer value",
 * docs/predictions.md): the repeat-purchase summary, BG/NBD, MBG/NBD,
 * Pareto/NBD and Gamma-Gamma fits kept in ecpower.model_fits, the choice
 * between the purchase models by a holdout comparison, per-customer scores
 * in ecpower.prediction_scores behind the view ecpower.customer_predictions,
 * holdout backtests, and the scalar formulas.  Fitting and scoring run in C
 * (src/predict/).
 *
 * Errors: 22023 for a bad argument (unit, penalizer, discount rate, model
 * parameters, dates); 22000 when the data is too thin to fit or a fit did
 * not converge.
 */
ALTER TABLE ecpower.model_fits
    DROP CONSTRAINT model_fits_model_check,
    ADD CONSTRAINT model_fits_model_check
        CHECK (model OPERATOR(pg_catalog.=) ANY
               (ARRAY['bgnbd', 'mbgnbd', 'paretonbd', 'gammagamma']::text[])),
    ADD COLUMN holdout_end timestamptz,
    ADD COLUMN holdout_mae double precision,
    ADD COLUMN holdout_log_likelihood double precision,
    ADD COLUMN selected boolean;
COMMENT ON TABLE ecpower.model_fits IS
    'every fit: parameters, log-likelihood, customers, convergence; for the model comparison of fit_predictions(model => ''auto'') also the holdout scores and which model was selected';
-- the repeat-purchase model refresh() fits: 'auto' for a new store; a
-- store updated from 0.2.0 keeps the BG/NBD fits it had
ALTER TABLE ecpower.prediction_settings
    ADD COLUMN model text NOT NULL DEFAULT 'auto'
        CHECK (model OPERATOR(pg_catalog.=) ANY
               (ARRAY['auto', 'bgnbd', 'mbgnbd', 'paretonbd']::text[]));
UPDATE ecpower.prediction_settings SET model = 'bgnbd';
COMMENT ON TABLE ecpower.prediction_settings IS
    'one-row prediction settings: whether refresh() re-fits and re-scores, unit, penalizer, monthly discount rate, model';
/*
 * Like ecpower.settings: the row exists from CREATE EXTENSION on; a restore
 * from pg_dump inserts the dumped row again, which becomes an UPDATE.
 */
CREATE OR REPLACE FUNCTION ecpower._prediction_settings_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM ecpower.prediction_settings) THEN
        UPDATE ecpower.prediction_settings
           SET refresh_enabled = NEW.refresh_enabled, unit = NEW.unit,
               penalizer = NEW.penalizer, discount_rate = NEW.discount_rate,
               model = NEW.model;
        RETURN NULL;
    END IF;
    RETURN NEW;
END
$$;
DROP VIEW ecpower.customer_predictions;
-- fit_models(), score_customers() and fit_predictions() gained a model
-- argument (and score_customers() a days_overdue column): made again
DROP FUNCTION ecpower.fit_models(timestamptz, text, double precision, boolean);
DROP FUNCTION ecpower.score_customers(timestamptz, text, double precision, double precision,
                                      double precision, double precision, double precision,
                                      double precision, double precision, double precision);
DROP FUNCTION ecpower.fit_predictions(timestamptz, text, double precision, double precision);
ALTER TABLE ecpower.prediction_scores RENAME COLUMN bgnbd_fit_id TO fit_id;
ALTER TABLE ecpower.prediction_scores ADD COLUMN days_overdue integer;
CREATE VIEW ecpower.customer_predictions AS
SELECT s.customer_id, s.x, s.t_x, s.t, s.monetary_value, s.p_alive,
       s.expected_orders_30d, s.expected_orders_90d, s.expected_orders_365d,
       s.expected_avg_spend, s.clv_365d, s.expected_next_order_date, s.days_overdue,
       f.model, f.as_of, f.unit, s.fit_id, s.gammagamma_fit_id
  FROM ecpower.prediction_scores s
  JOIN ecpower.model_fits f ON f.fit_id OPERATOR(pg_catalog.=) s.fit_id;
COMMENT ON VIEW ecpower.customer_predictions IS
    'predicted customer value as of the last fit: P(alive), expected orders, spend, 12-month CLV, next order date, days overdue, model';
CREATE FUNCTION ecpower.fit_models(
    as_of timestamptz DEFAULT pg_catalog.now(), unit text DEFAULT 'day',
    penalizer double precision DEFAULT 0, spend_model boolean DEFAULT true,
    model text DEFAULT 'bgnbd',
    OUT model text, OUT parameters jsonb, OUT log_likelihood double precision,
    OUT customers bigint, OUT converged boolean, OUT iterations integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'fit_models'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.fit_models(timestamptz, text, double precision, boolean, text) IS
    'maximum likelihood fit of a repeat-purchase model (bgnbd, mbgnbd, paretonbd) and Gamma-Gamma as of a date, without saving them';
CREATE FUNCTION ecpower.score_customers(
    as_of timestamptz, unit text,
    r double precision, alpha double precision, a double precision, b double precision,
    p double precision, q double precision, v double precision,
    discount_rate double precision DEFAULT 0.01, model text DEFAULT 'bgnbd',
    OUT customer_id bigint, OUT x integer, OUT t_x double precision,
    OUT t double precision, OUT monetary_value numeric,
    OUT p_alive double precision, OUT expected_orders_30d double precision,
    OUT expected_orders_90d double precision, OUT expected_orders_365d double precision,
    OUT expected_avg_spend numeric, OUT clv_365d numeric,
    OUT expected_next_order_date date, OUT days_overdue integer)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'score_customers'
LANGUAGE C STABLE PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.score_customers(timestamptz, text, double precision, double precision, double precision, double precision, double precision, double precision, double precision, double precision, text) IS
    'score every customer with given repeat-purchase model parameters (in unit; r, alpha, s, beta for paretonbd) and Gamma-Gamma parameters, without saving';
CREATE FUNCTION ecpower.predict_p_alive(
    model text, parameters jsonb,
    x double precision, t_x double precision, "T" double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'predict_p_alive'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.predict_p_alive(text, jsonb, double precision, double precision, double precision) IS
    'P(alive | x, t_x, T) under bgnbd, mbgnbd or paretonbd with parameters as in model_fits.parameters';
CREATE FUNCTION ecpower.predict_expected_purchases(
    model text, parameters jsonb, t double precision,
    x double precision, t_x double precision, "T" double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'predict_expected_purchases'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.predict_expected_purchases(text, jsonb, double precision, double precision, double precision, double precision) IS
    'E[Y(t) | x, t_x, T] under bgnbd, mbgnbd or paretonbd: expected purchases in the next t time units';
CREATE FUNCTION ecpower.predict_log_likelihood(
    model text, parameters jsonb,
    x double precision, t_x double precision, "T" double precision)
RETURNS double precision
AS 'MODULE_PATHNAME', 'predict_log_likelihood'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower.predict_log_likelihood(text, jsonb, double precision, double precision, double precision) IS
    'one customer''s log-likelihood of (x, t_x, T) under bgnbd, mbgnbd or paretonbd';
CREATE FUNCTION ecpower.compare_models(
    calibration_end timestamptz, holdout_end timestamptz DEFAULT pg_catalog.now(),
    unit text DEFAULT 'day', penalizer double precision DEFAULT 0,
    refit boolean DEFAULT false,
    OUT model text, OUT calibration_end timestamptz, OUT parameters jsonb,
    OUT log_likelihood double precision, OUT customers bigint,
    OUT converged boolean, OUT iterations integer,
    OUT holdout_actual bigint, OUT holdout_predicted double precision,
    OUT holdout_mae double precision, OUT holdout_log_likelihood double precision,
    OUT group_customers bigint[], OUT group_actual bigint[],
    OUT group_predicted double precision[], OUT selected boolean)
RETURNS SETOF record
AS 'MODULE_PATHNAME', 'compare_models'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.compare_models(timestamptz, timestamptz, text, double precision, boolean) IS
    'fit bgnbd, mbgnbd and paretonbd up to calibration_end (NULL: a third of the history before holdout_end, at most 365 days) and score each on the holdout: purchases, mean absolute error, log-likelihood, by calibration x; the converged model of lowest error is selected; with refit, also the selected model and Gamma-Gamma fitted to all data';
CREATE FUNCTION ecpower.fit_predictions(
    as_of timestamptz DEFAULT pg_catalog.now(), unit text DEFAULT 'day',
    penalizer double precision DEFAULT 0, discount_rate double precision DEFAULT 0.01,
    model text DEFAULT 'auto')
RETURNS SETOF ecpower.model_fits
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    fit     record;
    cmp     record;
    chosen  text;
    bg_id   bigint;
    gg_id   bigint;
    first_id bigint;
    bg      jsonb;
    gg      jsonb;
BEGIN
    IF as_of IS NULL THEN
        as_of := pg_catalog.now();
    END IF;
    IF discount_rate IS NULL OR discount_rate OPERATOR(pg_catalog.<) 0
       OR discount_rate OPERATOR(pg_catalog.=) 'Infinity'::float8
       OR discount_rate OPERATOR(pg_catalog.=) 'NaN'::float8 THEN
        RAISE EXCEPTION 'discount_rate must be a finite number >= 0, not %', discount_rate
            USING ERRCODE = '22023';
    END IF;
    IF penalizer IS NULL THEN
        penalizer := 0;
    END IF;
    model := COALESCE(model, 'auto');
    IF model OPERATOR(pg_catalog.<>) ALL (ARRAY['auto', 'bgnbd', 'mbgnbd', 'paretonbd']) THEN
        RAISE EXCEPTION 'unknown prediction model "%"', model
            USING ERRCODE = '22023',
                  HINT = 'Use "auto", "bgnbd", "mbgnbd" or "paretonbd".';
    END IF;
    /* one re-score at a time (readers are not blocked) */
    LOCK TABLE ecpower.prediction_scores IN SHARE ROW EXCLUSIVE MODE;

    chosen := model;
    IF model OPERATOR(pg_catalog.=) 'auto' THEN
        /*
         * Every model on the calibration period, scored on the holdout; the
         * selected one and Gamma-Gamma refitted to all data (one scan)
         */
        FOR cmp IN SELECT * FROM ecpower.compare_models(NULL, as_of, unit, penalizer, true) LOOP
            IF cmp.calibration_end IS NOT NULL THEN
                INSERT INTO ecpower.model_fits (model, as_of, unit, parameters, penalizer,
                                                log_likelihood, customers, converged,
                                                iterations, holdout_end, holdout_mae,
                                                holdout_log_likelihood, selected)
                VALUES (cmp.model, cmp.calibration_end, fit_predictions.unit, cmp.parameters,
                        fit_predictions.penalizer, cmp.log_likelihood, cmp.customers,
                        cmp.converged, cmp.iterations, fit_predictions.as_of, cmp.holdout_mae,
                        cmp.holdout_log_likelihood, cmp.selected)
                RETURNING fit_id INTO STRICT gg_id;
                first_id := COALESCE(first_id, gg_id);
                CONTINUE;
            END IF;
            IF NOT cmp.converged THEN
                RAISE EXCEPTION 'the % fit as of % did not converge', cmp.model, as_of
                    USING ERRCODE = '22000',
                          DETAIL = pg_catalog.format('Last parameters: %s, log-likelihood %s.',
                                                     cmp.parameters, cmp.log_likelihood),
                          HINT = 'Try a small penalizer such as 0.001, or a later as_of.';
            END IF;
            INSERT INTO ecpower.model_fits (model, as_of, unit, parameters, penalizer,
                                            log_likelihood, customers, converged, iterations)
            VALUES (cmp.model, fit_predictions.as_of, fit_predictions.unit, cmp.parameters,
                    fit_predictions.penalizer, cmp.log_likelihood, cmp.customers,
                    cmp.converged, cmp.iterations)
            RETURNING fit_id INTO STRICT gg_id;
            IF cmp.model OPERATOR(pg_catalog.<>) 'gammagamma' THEN
                bg_id := gg_id;
                bg := cmp.parameters;
                chosen := cmp.model;
            ELSE
                gg := cmp.parameters;
            END IF;
        END LOOP;
    ELSE
        FOR fit IN SELECT * FROM ecpower.fit_models(as_of, unit, penalizer, true, chosen) LOOP
            IF NOT fit.converged THEN
                RAISE EXCEPTION 'the % fit as of % did not converge', fit.model, as_of
                    USING ERRCODE = '22000',
                          DETAIL = pg_catalog.format('Last parameters: %s, log-likelihood %s.',
                                                     fit.parameters, fit.log_likelihood),
                          HINT = 'Try a small penalizer such as 0.001, or a later as_of.';
            END IF;
            INSERT INTO ecpower.model_fits (model, as_of, unit, parameters, penalizer,
                                            log_likelihood, customers, converged, iterations)
            VALUES (fit.model, fit_predictions.as_of, fit_predictions.unit, fit.parameters,
                    fit_predictions.penalizer, fit.log_likelihood, fit.customers,
                    fit.converged, fit.iterations)
            RETURNING fit_id INTO STRICT gg_id;
            IF fit.model OPERATOR(pg_catalog.<>) 'gammagamma' THEN
                bg_id := gg_id;
                bg := fit.parameters;
            ELSE
                gg := fit.parameters;
            END IF;
        END LOOP;
    END IF;

    DELETE FROM ecpower.prediction_scores;
    INSERT INTO ecpower.prediction_scores
    SELECT s.customer_id, bg_id, gg_id, s.x, s.t_x, s.t, s.monetary_value, s.p_alive,
           s.expected_orders_30d, s.expected_orders_90d, s.expected_orders_365d,
           s.expected_avg_spend, s.clv_365d, s.expected_next_order_date, s.days_overdue
      FROM ecpower.score_customers(
               fit_predictions.as_of, fit_predictions.unit,
               (bg OPERATOR(pg_catalog.->>) 'r')::float8,
               (bg OPERATOR(pg_catalog.->>) 'alpha')::float8,
               COALESCE(bg OPERATOR(pg_catalog.->>) 'a', bg OPERATOR(pg_catalog.->>) 's')::float8,
               COALESCE(bg OPERATOR(pg_catalog.->>) 'b', bg OPERATOR(pg_catalog.->>) 'beta')::float8,
               (gg OPERATOR(pg_catalog.->>) 'p')::float8,
               (gg OPERATOR(pg_catalog.->>) 'q')::float8,
               (gg OPERATOR(pg_catalog.->>) 'v')::float8,
               fit_predictions.discount_rate, chosen) s;

    RETURN QUERY SELECT * FROM ecpower.model_fits f
                  WHERE f.fit_id OPERATOR(pg_catalog.>=) COALESCE(first_id, bg_id)
                  ORDER BY f.fit_id;
END
$$;
COMMENT ON FUNCTION ecpower.fit_predictions(timestamptz, text, double precision, double precision, text) IS
    'fit a repeat-purchase model (auto: the one that best predicts a holdout) and Gamma-Gamma as of a date, record the fits, re-score every customer';
CREATE OR REPLACE FUNCTION ecpower.refresh_predictions(as_of timestamptz DEFAULT pg_catalog.now())
RETURNS boolean
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    s   ecpower.prediction_settings;
BEGIN
    SELECT * INTO s FROM ecpower.prediction_settings;
    IF NOT FOUND OR NOT s.refresh_enabled THEN
        RETURN false;
    END IF;
    /*
     * Too little data or no convergence must not stop the nightly refresh:
     * the previous scores stay, with a warning.
     */
    BEGIN
        PERFORM ecpower.fit_predictions(as_of, s.unit, s.penalizer, s.discount_rate, s.model);
    EXCEPTION WHEN SQLSTATE '22000' THEN
        RAISE WARNING 'predictions were not refreshed: %', SQLERRM
            USING HINT = 'The previous scores are kept; see ecpower.fit_models() for details.';
        RETURN false;
    END;
    RETURN true;
END
$$;
CREATE FUNCTION ecpower.backtest(
    calibration_end date, holdout_end date, unit text DEFAULT 'day',
    penalizer double precision DEFAULT 0,
    OUT repeat_purchases text, OUT customers bigint, OUT actual_purchases bigint,
    OUT bgnbd numeric, OUT mbgnbd numeric, OUT paretonbd numeric)
RETURNS SETOF record
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tz          text;
    cal_as_of   timestamptz;
    ho_as_of    timestamptz;
BEGIN
    IF calibration_end IS NULL OR holdout_end IS NULL
       OR NOT pg_catalog.isfinite(calibration_end) OR NOT pg_catalog.isfinite(holdout_end)
       OR holdout_end OPERATOR(pg_catalog.<=) calibration_end THEN
        RAISE EXCEPTION 'holdout_end (%) must be a date after calibration_end (%)',
            holdout_end, calibration_end
            USING ERRCODE = '22023',
                  HINT = 'The models are fitted up to calibration_end and scored on the days after it.';
    END IF;
    SELECT st.store_timezone INTO tz FROM ecpower.settings st;
    tz := COALESCE(tz, 'UTC');
    /* the end of each store-local day */
    cal_as_of := ((calibration_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                 OPERATOR(pg_catalog.-) interval '1 microsecond';
    ho_as_of := ((holdout_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                OPERATOR(pg_catalog.-) interval '1 microsecond';

    RETURN QUERY
    WITH c AS (
        SELECT * FROM ecpower.compare_models(cal_as_of, ho_as_of, unit, penalizer)
    ), g AS (
        SELECT c.model, k.i, k.n, c.group_actual[k.i] AS actual,
               c.group_predicted[k.i] AS predicted
          FROM c, LATERAL pg_catalog.unnest(c.group_customers)
                          WITH ORDINALITY AS k(n, i)
        UNION ALL
        SELECT c.model, 9, pg_catalog.sum(k.n)::bigint, c.holdout_actual, c.holdout_predicted
          FROM c, LATERAL pg_catalog.unnest(c.group_customers) AS k(n)
         GROUP BY c.model, c.holdout_actual, c.holdout_predicted
    )
    SELECT CASE WHEN g.i OPERATOR(pg_catalog.=) 9 THEN 'all'
                WHEN g.i OPERATOR(pg_catalog.=) 8 THEN '7+'
                ELSE (g.i OPERATOR(pg_catalog.-) 1)::text END,
           pg_catalog.min(g.n), pg_catalog.min(g.actual),
           pg_catalog.round(pg_catalog.min(g.predicted) FILTER
                            (WHERE g.model OPERATOR(pg_catalog.=) 'bgnbd')::numeric, 2),
           pg_catalog.round(pg_catalog.min(g.predicted) FILTER
                            (WHERE g.model OPERATOR(pg_catalog.=) 'mbgnbd')::numeric, 2),
           pg_catalog.round(pg_catalog.min(g.predicted) FILTER
                            (WHERE g.model OPERATOR(pg_catalog.=) 'paretonbd')::numeric, 2)
      FROM g
     GROUP BY g.i
     ORDER BY g.i;
END
$$;
COMMENT ON FUNCTION ecpower.backtest(date, date, text, double precision) IS
    'fit bgnbd, mbgnbd and paretonbd to orders up to calibration_end; actual and predicted repeat purchase days to holdout_end side by side, by calibration x (0..6, 7+) and overall';
CREATE OR REPLACE FUNCTION ecpower.backtest_bgnbd(
    calibration_end date, holdout_end date, unit text DEFAULT 'day',
    penalizer double precision DEFAULT 0,
    OUT repeat_purchases text, OUT customers bigint,
    OUT actual_purchases bigint, OUT predicted_purchases numeric,
    OUT actual_mean numeric, OUT predicted_mean numeric)
RETURNS SETOF record
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    tz          text;
    cal_as_of   timestamptz;
    ho_as_of    timestamptz;
    fit         record;
    days        double precision;
    horizon     double precision;
BEGIN
    IF calibration_end IS NULL OR holdout_end IS NULL
       OR NOT pg_catalog.isfinite(calibration_end) OR NOT pg_catalog.isfinite(holdout_end)
       OR holdout_end OPERATOR(pg_catalog.<=) calibration_end THEN
        RAISE EXCEPTION 'holdout_end (%) must be a date after calibration_end (%)',
            holdout_end, calibration_end
            USING ERRCODE = '22023';
    END IF;
    IF unit IS NULL THEN
        unit := 'day';
    END IF;
    days := CASE WHEN unit OPERATOR(pg_catalog.=) 'week' THEN 7 ELSE 1 END;
    horizon := (holdout_end OPERATOR(pg_catalog.-) calibration_end) OPERATOR(pg_catalog./) days;

    SELECT st.store_timezone INTO tz FROM ecpower.settings st;
    tz := COALESCE(tz, 'UTC');
    /* the end of each store-local day */
    cal_as_of := ((calibration_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                 OPERATOR(pg_catalog.-) interval '1 microsecond';
    ho_as_of := ((holdout_end OPERATOR(pg_catalog.+) 1)::timestamp AT TIME ZONE tz)
                OPERATOR(pg_catalog.-) interval '1 microsecond';

    SELECT * INTO STRICT fit FROM ecpower.fit_models(cal_as_of, unit, penalizer, false);
    IF NOT fit.converged THEN
        RAISE EXCEPTION 'the bgnbd fit as of % did not converge', calibration_end
            USING ERRCODE = '22000',
                  DETAIL = pg_catalog.format('Last parameters: %s.', fit.parameters),
                  HINT = 'Try a small penalizer such as 0.001.';
    END IF;
    -- a read: the fit is recorded only for a caller that may write
    -- model_fits (the refresher, the owner), so that a reader can backtest
    IF pg_catalog.has_table_privilege('ecpower.model_fits', 'INSERT') THEN
        INSERT INTO ecpower.model_fits (model, as_of, unit, parameters, penalizer,
                                        log_likelihood, customers, converged, iterations)
        VALUES (fit.model, cal_as_of, backtest_bgnbd.unit, fit.parameters,
                backtest_bgnbd.penalizer, fit.log_likelihood, fit.customers,
                fit.converged, fit.iterations);
    END IF;

    RETURN QUERY
    WITH cal AS (
        SELECT c.customer_id, c.x, c.t_x, c.t
          FROM ecpower.customer_summary(cal_as_of, backtest_bgnbd.unit) c
    ), holdout AS (
        SELECT o.customer_id,
               pg_catalog.count(DISTINCT (o.ordered_at AT TIME ZONE tz)::date) AS n
          FROM ecpower.orders o
         WHERE o.cancelled_at IS NULL
           AND o.ordered_at OPERATOR(pg_catalog.>) cal_as_of
           AND o.ordered_at OPERATOR(pg_catalog.<=) ho_as_of
         GROUP BY o.customer_id
    ), scored AS (
        SELECT LEAST(cal.x, 7) AS grp,
               COALESCE(h.n, 0) AS actual,
               ecpower.bgnbd_expected_purchases(
                   (fit.parameters OPERATOR(pg_catalog.->>) 'r')::float8,
                   (fit.parameters OPERATOR(pg_catalog.->>) 'alpha')::float8,
                   (fit.parameters OPERATOR(pg_catalog.->>) 'a')::float8,
                   (fit.parameters OPERATOR(pg_catalog.->>) 'b')::float8,
                   horizon, cal.x, cal.t_x, cal.t) AS predicted
          FROM cal
          LEFT JOIN holdout h ON h.customer_id OPERATOR(pg_catalog.=) cal.customer_id
    )
    SELECT CASE WHEN g.grp IS NULL THEN 'all'
                WHEN g.grp OPERATOR(pg_catalog.=) 7 THEN '7+'
                ELSE g.grp::text END,
           g.n, g.actual, pg_catalog.round(g.predicted::numeric, 2),
           pg_catalog.round(g.actual::numeric OPERATOR(pg_catalog./) g.n, 3),
           pg_catalog.round((g.predicted OPERATOR(pg_catalog./) g.n)::numeric, 3)
      FROM (SELECT scored.grp, pg_catalog.count(*) AS n,
                   pg_catalog.sum(scored.actual)::bigint AS actual,
                   pg_catalog.sum(scored.predicted) AS predicted
              FROM scored
             GROUP BY ROLLUP (scored.grp)) g
     ORDER BY g.grp NULLS LAST;
END
$$;

-- ==================== 90_restore.sql
/*
 * Parallel restore (README "Backups", docs/security.md "Restore").
 *
 * pg_restore -j loads the rows of ecpower's tables in parallel, in no
 * particular order, but CREATE EXTENSION has created their foreign keys
 * (orders -> customers, order_lines -> orders, membership -> segments ...)
 * before: a table may be loaded before the one it references.  The
 * documented command therefore runs with session_replication_role =
 * replica, in which foreign keys and ordinary triggers do not fire (the
 * rows come from a consistent dump).  The one-row guards must still fire,
 * so that the dumped row of a one-row table updates the row CREATE
 * EXTENSION made instead of adding a second one: they fire ALWAYS.
 */
ALTER TABLE ecpower.settings ENABLE ALWAYS TRIGGER settings_guard;
ALTER TABLE ecpower.refresh_state ENABLE ALWAYS TRIGGER refresh_state_guard;
ALTER TABLE ecpower.prediction_settings ENABLE ALWAYS TRIGGER prediction_settings_guard;

-- ==================== 99_privileges.sql
/*
 * Privileges: the map names the new objects; the new routines pin their
 * search_path; nothing is left to PUBLIC.  Grants to the ecpower roles are
 * made again by SELECT ecpower.grant_roles(...) after the update.
 */
CREATE OR REPLACE FUNCTION ecpower.privilege_map()
RETURNS TABLE (kind text, name text, class text)
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
VALUES
    -- input tables
    ('relation', 'customers', 'input'),
    ('relation', 'customer_key_seq', 'input'),
    ('relation', 'customer_keys', 'input'),
    ('relation', 'products', 'input'),
    ('relation', 'orders', 'input'),
    ('relation', 'order_lines', 'input'),
    ('relation', 'shopify_state', 'input'),
    ('relation', 'shopify_syncs', 'input'),
    ('relation', 'shopify_syncs_sync_id_seq', 'input'),
    ('relation', 'shopify_push_errors', 'input'),
    ('relation', 'shopify_push_errors_error_id_seq', 'input'),
    ('relation', 'acquisition_spend', 'input'),
    -- definitions and settings
    ('relation', 'settings', 'definition'),
    ('relation', 'segments', 'definition'),
    ('relation', 'segments_segment_id_seq', 'definition'),
    ('relation', 'segment_versions', 'audit'),
    ('relation', 'prediction_settings', 'definition'),
    -- refresh results and run log
    ('relation', 'refresh_runs', 'result'),
    ('relation', 'refresh_runs_run_id_seq', 'result'),
    ('relation', 'refresh_state', 'result'),
    ('relation', 'membership', 'result'),
    ('relation', 'rfm_blocks', 'result'),
    ('relation', 'order_cache', 'result'),
    ('relation', 'order_cache_state', 'result'),
    ('relation', 'timeline_values', 'result'),
    ('relation', 'timeline_dict', 'result'),
    ('relation', 'timeline_state', 'result'),
    ('relation', 'order_changes', 'result'),
    ('relation', 'order_changes_change_id_seq', 'result'),
    ('relation', 'kpi_snapshots', 'result'),
    ('relation', 'tag_changes', 'result'),
    ('relation', 'tag_changes_change_id_seq', 'result'),
    ('relation', 'tag_sync_state', 'result'),
    ('relation', 'model_fits', 'result'),
    ('relation', 'model_fits_fit_id_seq', 'result'),
    ('relation', 'prediction_scores', 'result'),
    -- locks
    ('relation', 'refresh_lock', 'refresh lock'),
    ('relation', 'definition_lock', 'lock'),
    -- views
    ('relation', 'templates', 'view'),
    ('relation', 'template_parameters', 'view'),
    ('relation', 'template_examples', 'view'),
    ('relation', '_templates_released', 'view'),
    ('relation', '_template_parameters_released', 'view'),
    ('relation', 'customer_rfm', 'view'),
    ('relation', 'rfm_groups', 'view'),
    ('relation', 'customer_predictions', 'view'),
    -- membership, reports, validation
    ('routine', 'segment_members', 'read'),
    ('routine', 'customer_segments', 'read'),
    ('routine', 'validate_definition', 'read'),
    ('routine', 'definition_filters', 'read'),
    ('routine', 'evaluate', 'read'),
    ('routine', 'segment_kpis', 'read'),
    ('routine', 'segment_history', 'read'),
    ('routine', 'ltv_window', 'read'),
    ('routine', 'compare_segments', 'read'),
    ('routine', 'segment_revenue', 'read'),
    ('routine', 'kpis', 'read'),
    ('routine', 'cohorts', 'read'),
    ('routine', 'cohort_summary', 'read'),
    ('routine', 'journey', 'read'),
    ('routine', 'feature_report', 'read'),
    ('routine', 'distribution', 'read'),
    ('routine', 'bought_together', 'read'),
    ('routine', 'acquisition_report', 'read'),
    ('routine', 'next_purchases', 'read'),
    ('routine', 'time_to_next_order', 'read'),
    ('routine', 'pending_tag_changes', 'read'),
    ('routine', 'segment_customers', 'read'),
    ('routine', 'customer_summary', 'read'),
    ('routine', 'score_customers', 'read'),
    ('routine', 'backtest_bgnbd', 'read'),
    ('routine', 'fit_models', 'read'),        -- computes, saves nothing
    ('routine', 'backtest', 'read'),
    ('routine', 'compare_models', 'read'),
    ('routine', 'predict_p_alive', 'read'),
    ('routine', 'predict_expected_purchases', 'read'),
    ('routine', 'predict_log_likelihood', 'read'),
    ('routine', 'bgnbd_expected_purchases', 'read'),
    ('routine', 'bgnbd_log_likelihood', 'read'),
    ('routine', 'bgnbd_p_alive', 'read'),
    ('routine', 'gammagamma_expected_spend', 'read'),
    ('routine', 'freshness', 'read'),
    ('routine', 'privilege_map', 'read'),
    ('routine', '_kpis_state_rows', 'read'),
    ('routine', '_template_fill', 'read'),
    ('routine', '_segment_member_since', 'read'),
    ('routine', '_rfm_unpack', 'read'),
    -- definitions
    ('routine', 'create_segment', 'define'),
    ('routine', 'update_segment', 'define'),
    ('routine', 'drop_segment', 'define'),
    ('routine', 'rename_segment', 'define'),
    ('routine', 'alter_segment', 'define'),
    ('routine', '_definition_rename_reference', 'define'),
    ('routine', 'create_segment_from_template', 'define'),
    ('routine', '_definition_references', 'define'),
    ('routine', '_segment_definition_check', 'define'),
    ('routine', '_segment_definition_syntax', 'define'),
    ('routine', '_segments_referencing', 'define'),
    ('routine', '_lock_definitions', 'define'),
    ('routine', '_segment_limits', 'define'),
    -- refresh
    ('routine', 'refresh', 'refresh'),
    ('routine', 'refresh_if_stale', 'refresh'),
    ('routine', 'reset_order_cache', 'refresh'),
    ('routine', 'schedule_refresh', 'refresh'),
    ('routine', 'unschedule_refresh', 'refresh'),
    ('routine', 'fit_predictions', 'refresh'),
    ('routine', 'refresh_predictions', 'refresh'),
    ('routine', '_require_pg_cron', 'refresh'),
    ('routine', '_refresh_can_commit', 'refresh'),
    ('routine', '_refresh_compute', 'refresh'),
    ('routine', '_refresh_run', 'refresh'),
    ('routine', '_refresh_start', 'refresh'),
    ('routine', '_refresh_busy', 'refresh'),
    ('routine', '_refresh_try_lock', 'refresh'),
    ('routine', '_snapshot_kpis', 'refresh'),
    ('routine', '_record_tag_changes', 'refresh'),
    ('routine', 'backfill', 'refresh'),
    ('routine', '_backfill_compute', 'refresh'),
    -- owner only
    ('routine', 'generate_demo_store', 'owner'),
    ('routine', 'import_shopify_customers', 'owner'),
    ('routine', 'import_shopify_orders', 'owner'),
    ('routine', 'shopify_pull', 'owner'),
    ('routine', 'shopify_push', 'owner'),
    ('routine', 'shopify_sync', 'owner'),
    ('routine', 'schedule_shopify', 'owner'),
    ('routine', 'unschedule_shopify', 'owner'),
    ('routine', '_shopify_pull', 'owner'),
    ('routine', '_shopify_push_batch', 'owner'),
    ('routine', '_shopify_sync_start', 'owner'),
    ('routine', '_shopify_sync_finish', 'owner'),
    ('routine', 'grant_statements', 'owner'),
    ('routine', 'grant_roles', 'owner'),
    -- called by the server only
    ('routine', '_settings_guard', 'internal'),
    ('routine', '_customer_key', 'internal'),
    ('routine', '_customer_key_register', 'internal'),
    ('routine', '_customer_keys_guard', 'internal'),
    ('routine', '_segments_truncate', 'internal'),
    ('routine', 'shopify_fdw_validator', 'internal'),
    ('routine', '_log_order_changes', 'internal'),
    ('routine', '_log_key_changes', 'internal'),
    ('routine', '_log_order_change_row', 'internal'),
    ('routine', '_log_key_change_row', 'internal'),
    ('routine', '_refresh_state_guard', 'internal'),
    ('routine', '_segments_guard', 'internal'),
    ('routine', '_segments_lock', 'internal'),
    ('routine', '_segments_history', 'internal'),
    ('routine', '_segments_check_references', 'internal'),
    ('routine', '_prediction_settings_guard', 'internal'),
    ('routine', '_acquisition_spend_check', 'internal'),
    ('routine', 'kpis_transfn', 'internal'),
    ('routine', 'kpis_combinefn', 'internal'),
    ('routine', 'kpis_serialfn', 'internal'),
    ('routine', 'kpis_deserialfn', 'internal'),
    ('routine', 'kpis_finalfn', 'internal'),
    ('routine', 'kpis_profit_transfn', 'internal'),
    ('routine', 'kpis_profit_finalfn', 'internal')
$$;
CREATE OR REPLACE FUNCTION ecpower.grant_statements(reader name, admin name, refresher name)
RETURNS SETOF text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
WITH roles (role, ord) AS (
    SELECT r, o FROM (VALUES (reader, 1), (admin, 2), (refresher, 3)) AS v (r, o)
     WHERE r IS NOT NULL
), map AS (
    SELECT m.kind, m.name, m.class FROM ecpower.privilege_map() AS m
), rel AS (
    SELECT c.oid, c.relname, c.relkind, m.class
      FROM pg_catalog.pg_class AS c
      JOIN map AS m ON m.kind OPERATOR(pg_catalog.=) 'relation'
                   AND m.name OPERATOR(pg_catalog.=) c.relname::text
     WHERE c.relnamespace OPERATOR(pg_catalog.=) 'ecpower'::pg_catalog.regnamespace
), fn AS (
    SELECT p.oid, m.class
      FROM pg_catalog.pg_proc AS p
      JOIN map AS m ON m.kind OPERATOR(pg_catalog.=) 'routine'
                   AND m.name OPERATOR(pg_catalog.=) p.proname::text
     WHERE p.pronamespace OPERATOR(pg_catalog.=) 'ecpower'::pg_catalog.regnamespace
)
SELECT s FROM (
    SELECT 1 AS part, r.ord, ''::text AS obj,
           pg_catalog.format('GRANT USAGE ON SCHEMA ecpower TO %I', r.role) AS s
      FROM roles AS r
    UNION ALL
    SELECT 2, r.ord, rel.relname::text,
           pg_catalog.format('GRANT %s ON %s TO %I',
                             CASE WHEN rel.relkind OPERATOR(pg_catalog.=) 'S'::"char"
                                  THEN CASE WHEN (rel.class OPERATOR(pg_catalog.=) 'definition'
                                                  AND r.ord OPERATOR(pg_catalog.=) 2)
                                              OR (rel.class OPERATOR(pg_catalog.=) 'result'
                                                  AND r.ord OPERATOR(pg_catalog.=) 3)
                                            THEN 'SELECT, USAGE' ELSE 'SELECT' END
                                  WHEN (rel.class OPERATOR(pg_catalog.=) 'definition'
                                        AND r.ord OPERATOR(pg_catalog.=) 2)
                                    OR (rel.class OPERATOR(pg_catalog.=) 'result'
                                        AND r.ord OPERATOR(pg_catalog.=) 3)
                                  THEN 'SELECT, INSERT, UPDATE, DELETE'
                                  WHEN rel.class OPERATOR(pg_catalog.=) 'audit'
                                   AND r.ord OPERATOR(pg_catalog.=) 2
                                  THEN 'SELECT, INSERT'
                                  WHEN (rel.class OPERATOR(pg_catalog.=) 'lock'
                                        AND r.ord OPERATOR(pg_catalog.>) 1)
                                    OR (rel.class OPERATOR(pg_catalog.=) 'refresh lock'
                                        AND r.ord OPERATOR(pg_catalog.=) 3)
                                  THEN 'SELECT, UPDATE'
                                  ELSE 'SELECT' END,
                             rel.oid::pg_catalog.regclass, r.role)
      FROM rel, roles AS r
    UNION ALL
    SELECT 3, r.ord, fn.oid::pg_catalog.regprocedure::text,
           pg_catalog.format('GRANT EXECUTE ON ROUTINE %s TO %I',
                             fn.oid::pg_catalog.regprocedure, r.role)
      FROM fn, roles AS r
     WHERE fn.class OPERATOR(pg_catalog.=) 'read'
        OR (fn.class OPERATOR(pg_catalog.=) 'define' AND r.ord OPERATOR(pg_catalog.=) 2)
        OR (fn.class OPERATOR(pg_catalog.=) 'refresh' AND r.ord OPERATOR(pg_catalog.=) 3)
) AS g
ORDER BY g.part, g.ord, g.obj COLLATE "C"
$$;
ALTER FUNCTION ecpower.fit_models(timestamptz, text, double precision, boolean, text)
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ecpower.score_customers(timestamptz, text, double precision, double precision,
                                       double precision, double precision, double precision,
                                       double precision, double precision, double precision,
                                       text)
    SET search_path = pg_catalog, pg_temp;

REVOKE ALL ON SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA ecpower FROM PUBLIC;
