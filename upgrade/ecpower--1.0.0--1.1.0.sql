/*
 * ecpower update script 1.0.0 -> 1.1.0 (docs/upgrades.md).
 *
 * Written for this one step and frozen once released: every object added,
 * changed or removed between 1.0.0 and 1.1.0, in the order of the install
 * sources they come from (src/sql/NN_*.sql, named in the section lines).
 * test/sql/upgrade.sql checks that 0.1.0 -> 0.2.0 -> 1.0.0 -> 1.1.0 ends
 * with the catalog of a fresh 1.1.0 install, object by object.
 *
 * House rules as in src/sql/00_header.sql: everything schema-qualified,
 * search_path pinned, nothing granted to PUBLIC.
 */

-- complain if script is sourced in psql, rather than via ALTER EXTENSION
\echo Use "ALTER EXTENSION ecpower UPDATE TO '1.1.0'" to load this file. \quit

-- ==================== 46_timeline_keys.sql
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

-- ==================== 49_timeline_summary.sql
/*
 * Per-customer facts of the timeline (src/timeline/summary.c,
 * docs/timeline.md "Readers"): the counted orders of each customer inside
 * a window of time, summed up.  segment_customers() and the holdout of
 * backtest_bgnbd() read the orders through it; like the reports, it reads
 * the order cache and the orders changed since, or the tables when there
 * is no usable cache.
 */

CREATE FUNCTION ecpower._customer_orders(customer_ids bigint[], after timestamptz,
                                         up_to timestamptz)
RETURNS TABLE (customer_id bigint, orders bigint, revenue numeric,
               first_order_at timestamptz, last_order_at timestamptz,
               order_days bigint)
AS 'MODULE_PATHNAME', 'customer_orders'
LANGUAGE C STABLE PARALLEL RESTRICTED ROWS 1000
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._customer_orders(bigint[], timestamptz, timestamptz) IS
    'internal: per customer of customer_ids (NULL: every customer), its counted orders with after < ordered_at <= up_to (NULL: open): count, net revenue, first and last ordered_at, distinct store-local days';
REVOKE ALL ON FUNCTION ecpower._customer_orders(bigint[], timestamptz, timestamptz) FROM PUBLIC;

-- ==================== 72_activation.sql
/* segment_customers() reads the orders through ecpower._customer_orders() */
CREATE OR REPLACE FUNCTION ecpower.segment_customers(slug text)
RETURNS TABLE (customer_id bigint, email text, tags text[], country text,
               orders bigint, revenue numeric, first_order_at timestamptz,
               last_order_at timestamptz, member_since date)
LANGUAGE sql STABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$
    WITH m AS MATERIALIZED (
        SELECT s.customer_id, s.member_since
          FROM ecpower._segment_member_since(slug) AS s
    )
    SELECT c.customer_id, c.email, c.tags, c.country,
           COALESCE(o.orders, 0::bigint), COALESCE(o.revenue, 0.00),
           o.first_order_at, o.last_order_at, m.member_since
      FROM m
      JOIN ecpower.customers AS c
        ON c.customer_id OPERATOR(pg_catalog.=) m.customer_id
      LEFT JOIN ecpower._customer_orders(
                (SELECT COALESCE(pg_catalog.array_agg(x.customer_id), '{}'::bigint[])
                   FROM m AS x),
                NULL,
                (SELECT r.as_of FROM ecpower.refresh_state AS s
                   JOIN ecpower.refresh_runs AS r
                     ON r.run_id OPERATOR(pg_catalog.=) s.current_run_id)) AS o
        ON o.customer_id OPERATOR(pg_catalog.=) c.customer_id
     ORDER BY c.customer_id
$$;

-- ==================== 85_predict.sql
/* the holdout of backtest_bgnbd() reads the orders through ecpower._customer_orders() */
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
        SELECT h.customer_id, h.order_days AS n
          FROM ecpower._customer_orders(NULL, cal_as_of, ho_as_of) AS h
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

-- ==================== 99_privileges.sql
/*
 * Privileges: the map names the new objects; nothing is left to PUBLIC.
 * Grants to the ecpower roles are made again by
 * SELECT ecpower.grant_roles(...) after the update.
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
    ('relation', 'timeline_keys', 'result'),
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
    ('routine', '_customer_orders', 'read'),
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
    ('routine', '_log_customer_changes', 'internal'),
    ('routine', '_log_customer_change_row', 'internal'),
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

REVOKE ALL ON ALL TABLES IN SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA ecpower FROM PUBLIC;
