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

CREATE TABLE ecpower.order_cache (
    chunk   integer PRIMARY KEY,
    data    bytea NOT NULL
);
ALTER TABLE ecpower.order_cache ALTER COLUMN data SET STORAGE PLAIN;
COMMENT ON TABLE ecpower.order_cache IS
    'internal: chunks of cached orders written by refresh (src/timeline/ordercache.c)';

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

CREATE TABLE ecpower.order_changes (
    change_id   bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    order_id    bigint
);
COMMENT ON TABLE ecpower.order_changes IS
    'internal: orders changed since the last refresh (NULL: rebuild the order cache)';

/*
 * The triggers run as the writing role, like every ecpower function (none
 * is SECURITY DEFINER): a role that writes orders or order_lines, other
 * than the owner, also needs INSERT on ecpower.order_changes (README
 * "Roles").
 */
CREATE FUNCTION ecpower._log_order_changes() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    -- (nested: a TRUNCATE trigger has no transition table to name)
    IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        INSERT INTO ecpower.order_changes (order_id) VALUES (NULL);
    ELSIF (SELECT pg_catalog.count(*) FROM (SELECT 1 FROM changed LIMIT 50001) AS s)
          OPERATOR(pg_catalog.>) 50000 THEN
        INSERT INTO ecpower.order_changes (order_id) VALUES (NULL);
    ELSIF TG_OP OPERATOR(pg_catalog.=) 'UPDATE' THEN
        INSERT INTO ecpower.order_changes (order_id)
        SELECT c.order_id FROM changed AS c
        UNION
        SELECT o.order_id FROM changed_old AS o;
    ELSE
        INSERT INTO ecpower.order_changes (order_id)
        SELECT DISTINCT c.order_id FROM changed AS c;
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._log_order_changes() IS
    'internal: logs the orders a statement on orders or order_lines touched, for the order cache';

CREATE TRIGGER order_cache_insert AFTER INSERT ON ecpower.orders
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_order_changes();
CREATE TRIGGER order_cache_update AFTER UPDATE ON ecpower.orders
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_order_changes();
CREATE TRIGGER order_cache_delete AFTER DELETE ON ecpower.orders
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_order_changes();
CREATE TRIGGER order_cache_truncate AFTER TRUNCATE ON ecpower.orders
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_order_changes();
CREATE TRIGGER order_cache_insert AFTER INSERT ON ecpower.order_lines
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_order_changes();
CREATE TRIGGER order_cache_update AFTER UPDATE ON ecpower.order_lines
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_order_changes();
CREATE TRIGGER order_cache_delete AFTER DELETE ON ecpower.order_lines
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_order_changes();
CREATE TRIGGER order_cache_truncate AFTER TRUNCATE ON ecpower.order_lines
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_order_changes();

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

/*
 * Cached filter bits depend on product attributes (product_type, vendor,
 * tags, title) and cached orders name customers by ckey: a statement that
 * changes either asks for a rebuild.  (Deleting a product or a customer
 * that orders refer to is refused by the foreign keys; others do not
 * matter.)  Upserts that rewrite products with
 * the same values (the Shopify import) change nothing and log nothing.
 */
CREATE FUNCTION ecpower._log_key_changes() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    IF TG_OP OPERATOR(pg_catalog.=) 'TRUNCATE' THEN
        INSERT INTO ecpower.order_changes (order_id) VALUES (NULL);
    ELSIF TG_TABLE_NAME OPERATOR(pg_catalog.=) 'products' THEN
        IF EXISTS (SELECT o.product_id, o.title, o.product_type, o.vendor, o.tags FROM changed_old AS o
                   EXCEPT
                   SELECT n.product_id, n.title, n.product_type, n.vendor, n.tags FROM changed AS n) THEN
            INSERT INTO ecpower.order_changes (order_id) VALUES (NULL);
        END IF;
    ELSIF EXISTS (SELECT o.customer_id, o.ckey FROM changed_old AS o
                  EXCEPT
                  SELECT n.customer_id, n.ckey FROM changed AS n) THEN
        INSERT INTO ecpower.order_changes (order_id) VALUES (NULL);
    END IF;
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._log_key_changes() IS
    'internal: asks for an order cache rebuild when product attributes or customer keys change';

CREATE TRIGGER order_cache_update AFTER UPDATE ON ecpower.products
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_key_changes();
CREATE TRIGGER order_cache_truncate AFTER TRUNCATE ON ecpower.products
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_key_changes();
CREATE TRIGGER order_cache_update AFTER UPDATE ON ecpower.customers
    REFERENCING OLD TABLE AS changed_old NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_key_changes();
CREATE TRIGGER order_cache_truncate AFTER TRUNCATE ON ecpower.customers
    FOR EACH STATEMENT EXECUTE FUNCTION ecpower._log_key_changes();

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

CREATE FUNCTION ecpower.reset_order_cache()
RETURNS void
LANGUAGE sql
SET search_path = pg_catalog, pg_temp
AS $$
    INSERT INTO ecpower.order_changes (order_id) VALUES (NULL);
$$;
COMMENT ON FUNCTION ecpower.reset_order_cache() IS
    'makes the next refresh read the whole store and rebuild the order cache';
