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
