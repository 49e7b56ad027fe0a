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
 * Customers loaded by 0.1.0: it kept no history in keys yet, so their keys
 * can be made dense (0.1.0 took a key for every upsert).  Two steps keep
 * customers.ckey unique at every row.
 */
INSERT INTO ecpower.customer_keys (customer_id, ckey)
SELECT c.customer_id, pg_catalog.row_number() OVER (ORDER BY c.ckey)
  FROM ecpower.customers AS c;
UPDATE ecpower.customers AS c SET ckey = OPERATOR(pg_catalog.-) k.ckey
  FROM ecpower.customer_keys AS k
 WHERE k.customer_id OPERATOR(pg_catalog.=) c.customer_id;
UPDATE ecpower.customers SET ckey = OPERATOR(pg_catalog.-) ckey;
SELECT pg_catalog.setval('ecpower.customer_key_seq'::pg_catalog.regclass,
                         GREATEST(pg_catalog.count(*), 1), pg_catalog.count(*) OPERATOR(pg_catalog.>) 0)
  FROM ecpower.customer_keys;

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
