/*
 * Privileges (README "Roles").  The install script creates no roles and grants
 * nothing to PUBLIC: everything is revoked from PUBLIC at the end of this
 * file.  ecpower.privilege_map() says which role gets what; a DBA grants it
 * with SELECT ecpower.grant_roles('ecpower_reader', 'ecpower_admin',
 * 'ecpower_refresher') (README "Roles").
 *
 * Every function, procedure, aggregate, table, view and sequence of ecpower
 * must appear in the map (by name; overloads share their class): the test
 * test/sql/privileges.sql fails naming any object that does not.
 *
 * Routine classes:
 *   read      reports, membership, validation: reader, admin and refresher
 *   define    segment definitions and settings: admin
 *   refresh   refresh, its scheduling and its internal steps: refresher
 *   owner     loading and granting: the extension owner only
 *   internal  trigger and aggregate support functions: nobody (the server
 *             calls them; EXECUTE is not checked there)
 * Relation classes (every role may SELECT every relation):
 *   input       the store's data: written by the owner (loads, imports)
 *   definition  definitions and settings: written by admin
 *   result      refresh results and the run log: written by refresher
 *   view        read only
 *   audit       the definitions' history: admin may add (the history
 *               trigger runs as the admin), nobody but the owner may change
 *               or delete
 *   lock        the empty table whose lock serialises definition changes:
 *               UPDATE (which LOCK TABLE needs) for admin and refresher
 *   refresh lock  the empty table whose lock keeps refreshes one at a
 *               time: UPDATE for the refresher only
 *               (no other role can take those locks)
 */

CREATE FUNCTION ecpower.privilege_map()
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
COMMENT ON FUNCTION ecpower.privilege_map() IS
    'which role class gets which ecpower object (README "Roles"); see grant_roles()';

/*
 * The GRANT statements that give the three roles their privileges, in a
 * stable order.  Roles must exist; NULL skips a role.
 */
CREATE FUNCTION ecpower.grant_statements(reader name, admin name, refresher name)
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
COMMENT ON FUNCTION ecpower.grant_statements(name, name, name) IS
    'the GRANT statements grant_roles() runs for a reader, an admin and a refresher role';

CREATE FUNCTION ecpower.grant_roles(reader name DEFAULT 'ecpower_reader',
                                    admin name DEFAULT 'ecpower_admin',
                                    refresher name DEFAULT 'ecpower_refresher')
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    stmt text;
    n integer := 0;
BEGIN
    FOR stmt IN SELECT g FROM ecpower.grant_statements(reader, admin, refresher) AS g LOOP
        EXECUTE stmt;
        n := n OPERATOR(pg_catalog.+) 1;
    END LOOP;
    RETURN n;
END
$$;
COMMENT ON FUNCTION ecpower.grant_roles(name, name, name) IS
    'grants ecpower_reader, ecpower_admin and the refresher role their privileges (run again after ALTER EXTENSION UPDATE)';

/*
 * Hardening of objects released in 0.1.0 (their scripts are frozen: changes
 * go here, where both a fresh install and the update from 0.1.0 run them).
 */
ALTER FUNCTION ecpower.generate_demo_store(integer, integer)
    SET search_path = pg_catalog, pg_temp;
/* every VOLATILE C function pins its path too (test/sql/security.sql lints it) */
ALTER FUNCTION ecpower._refresh_can_commit()
    SET search_path = pg_catalog, pg_temp;
ALTER FUNCTION ecpower.customer_summary(timestamptz, text)
    SET search_path = pg_catalog, pg_temp;
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
