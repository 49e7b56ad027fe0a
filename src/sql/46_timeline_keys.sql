/*
 * The timeline's customer keys (src/timeline/keystore.c, docs/timeline.md):
 * every customer's (ckey, customer_id) as the last refresh evaluated them,
 * in checksummed chunks, so that a report does not scan ecpower.customers
 * to learn which customers exist.  The customers inserted or deleted since
 * are logged in ecpower.order_changes (customer_id, ckey; order_id NULL)
 * and looked up again by every reader; the next refresh stores the map
 * anew and takes them off the log.  A statement of more than 20,000
 * customers logs one row asking readers to scan instead (ckey 0).  A
 * change of customer keys, a TRUNCATE or reset_order_cache() logs the
 * order cache's NULL row, which readers also answer with a scan.  Like the
 * order cache, nothing here is dumped, and the table is WAL-logged.
 */

ALTER TABLE ecpower.order_changes
    ADD COLUMN customer_id bigint,
    ADD COLUMN ckey integer;
COMMENT ON COLUMN ecpower.order_changes.customer_id IS
    'a customer inserted or deleted since the last refresh (order_id is then NULL)';
COMMENT ON COLUMN ecpower.order_changes.ckey IS
    'the customer''s key when logged; 0 asks readers to scan ecpower.customers';

CREATE TABLE ecpower.timeline_keys (
    chunk   integer PRIMARY KEY,
    data    bytea NOT NULL
);
ALTER TABLE ecpower.timeline_keys ALTER COLUMN data SET STORAGE PLAIN;
COMMENT ON TABLE ecpower.timeline_keys IS
    'internal: every customer''s key as of the last refresh, in checksummed chunks (src/timeline/keystore.c)';

/*
 * Runs as the writing role, like the order triggers: a role that inserts
 * or deletes customers needs INSERT on ecpower.order_changes.
 */
CREATE FUNCTION ecpower._log_customer_changes() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF (SELECT pg_catalog.count(*) FROM (SELECT 1 FROM changed LIMIT 20001) AS s)
       OPERATOR(pg_catalog.>) 20000 THEN
        INSERT INTO ecpower.order_changes (customer_id, ckey) VALUES (NULL, 0);
    ELSE
        INSERT INTO ecpower.order_changes (customer_id, ckey)
        SELECT c.customer_id, c.ckey FROM changed AS c;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._log_customer_changes() IS
    'internal: logs the customers a statement inserted or deleted, for the timeline''s customer keys';

CREATE TRIGGER timeline_keys_insert AFTER INSERT ON ecpower.customers
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_customer_changes();
CREATE TRIGGER timeline_keys_delete AFTER DELETE ON ecpower.customers
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_customer_changes();

-- the same for sessions in replica mode, a row at a time
CREATE FUNCTION ecpower._log_customer_change_row() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'DELETE' THEN
        INSERT INTO ecpower.order_changes (customer_id, ckey) VALUES (OLD.customer_id, OLD.ckey);
    ELSE
        INSERT INTO ecpower.order_changes (customer_id, ckey) VALUES (NEW.customer_id, NEW.ckey);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._log_customer_change_row() IS
    'internal: logs a customer a replicated row insert or delete touched, for the timeline''s customer keys';

CREATE TRIGGER timeline_keys_replica AFTER INSERT OR DELETE ON ecpower.customers
    FOR EACH ROW EXECUTE FUNCTION ecpower._log_customer_change_row();
ALTER TABLE ecpower.customers ENABLE REPLICA TRIGGER timeline_keys_replica;
