/*
 * Segments (README "Segments"): validation, definition management and live evaluation.
 *
 * The definition language is parsed and compiled in C (src/segments/definition.c).
 * Triggers on ecpower.segments validate every stored definition, so no
 * invalid one (bad syntax, unknown or cyclic segment references) is ever
 * committed, and record every change in ecpower.segment_versions.
 *
 * Restores (pg_dump keeps segments and segment_versions, both configuration
 * tables of the extension) load rows in an order of their own: a segment may
 * come before the segments it references, and segment_versions before or
 * after segments.  So the row trigger checks only the syntax; whether the
 * referenced segments exist and form no cycle is checked by a DEFERRABLE
 * INITIALLY DEFERRED constraint trigger at commit, when every row is there
 * (create_segment and update_segment also check at once, so their errors
 * come from the call).  The history trigger writes no 'create' version for a
 * row that already existed before this transaction (a restore brings the
 * history along) nor for a state the history already holds.
 */

CREATE FUNCTION ecpower.validate_definition(definition jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'validate_definition'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.validate_definition(jsonb) IS
    'raises the first problem of a segment definition (SQLSTATE 22023, with its JSON path)';

CREATE FUNCTION ecpower._segment_definition_check(definition jsonb, slug text)
RETURNS void
AS 'MODULE_PATHNAME', 'segment_definition_check'
LANGUAGE C STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._segment_definition_check(jsonb, text) IS
    'internal: validates the definition of segment slug, rejecting reference cycles';

CREATE FUNCTION ecpower._segment_definition_syntax(definition jsonb)
RETURNS void
AS 'MODULE_PATHNAME', 'segment_definition_syntax'
LANGUAGE C IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower._segment_definition_syntax(jsonb) IS
    'internal: validates a definition''s syntax, without looking up the segments it references';

CREATE FUNCTION ecpower._definition_references(definition jsonb)
RETURNS text[]
AS 'MODULE_PATHNAME', 'definition_references'
LANGUAGE C IMMUTABLE STRICT PARALLEL SAFE;
COMMENT ON FUNCTION ecpower._definition_references(jsonb) IS
    'internal: slugs of the segments a definition references';

CREATE FUNCTION ecpower.evaluate(definition jsonb, as_of timestamptz DEFAULT pg_catalog.now())
RETURNS SETOF bigint
AS 'MODULE_PATHNAME', 'evaluate_definition'
LANGUAGE C STABLE PARALLEL RESTRICTED
SET search_path = pg_catalog, pg_temp;
COMMENT ON FUNCTION ecpower.evaluate(jsonb, timestamptz) IS
    'customer ids matching a definition as of as_of, ascending, evaluated live (nothing stored)';

/* segments referencing a slug (for drops and renames) */
CREATE FUNCTION ecpower._segments_referencing(p_slug text, p_except integer)
RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.string_agg(s.slug, ', ' ORDER BY s.slug COLLATE "C")
      FROM ecpower.segments AS s
     WHERE s.segment_id OPERATOR(pg_catalog.<>) p_except
       AND p_slug OPERATOR(pg_catalog.=) ANY (ecpower._definition_references(s.definition))
$$;
COMMENT ON FUNCTION ecpower._segments_referencing(text, integer) IS
    'internal: comma-separated slugs of the segments whose definition references p_slug';

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

CREATE FUNCTION ecpower._segments_guard() RETURNS trigger
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
COMMENT ON FUNCTION ecpower._segments_guard() IS
    'validates the syntax of segment definitions on write and protects referenced segments';
CREATE TRIGGER segments_guard BEFORE INSERT OR UPDATE OR DELETE ON ecpower.segments
    FOR EACH ROW EXECUTE FUNCTION ecpower._segments_guard();

/*
 * At commit: the segments a written definition references exist, and none
 * of them leads back to it.  The row is read again, so a row changed or
 * deleted later in the transaction is checked as it is at commit.  The lock
 * serialises the check with create/update/drop_segment and with other
 * committing writers, so two transactions cannot close a cycle between them.
 */
CREATE FUNCTION ecpower._segments_check_references() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_slug text;
    v_definition jsonb;
BEGIN
    SELECT s.slug, s.definition INTO v_slug, v_definition
      FROM ecpower.segments AS s
     WHERE s.segment_id OPERATOR(pg_catalog.=) NEW.segment_id;
    IF NOT FOUND
       OR pg_catalog.cardinality(ecpower._definition_references(v_definition)) OPERATOR(pg_catalog.=) 0 THEN
        RETURN NULL;
    END IF;
    PERFORM ecpower._lock_definitions();
    PERFORM ecpower._segment_definition_check(v_definition, v_slug);
    RETURN NULL;
END
$$;
COMMENT ON FUNCTION ecpower._segments_check_references() IS
    'at commit: the segments a definition references exist and form no cycle';
CREATE CONSTRAINT TRIGGER segments_references
    AFTER INSERT OR UPDATE OF slug, definition ON ecpower.segments
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ecpower._segments_check_references();

CREATE FUNCTION ecpower._segments_history() RETURNS trigger
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
CREATE TRIGGER segments_history AFTER INSERT OR UPDATE OR DELETE ON ecpower.segments
    FOR EACH ROW EXECUTE FUNCTION ecpower._segments_history();

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

CREATE FUNCTION ecpower._lock_definitions() RETURNS void
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

CREATE FUNCTION ecpower.create_segment(slug text, name text, definition jsonb,
                                       description text DEFAULT NULL)
RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    v_id integer;
BEGIN
    IF slug IS NULL OR slug OPERATOR(pg_catalog.!~) '^[a-z0-9][a-z0-9_-]{0,62}$' THEN
        RAISE EXCEPTION 'invalid segment slug "%"', slug
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'A slug is 1 to 63 characters: lower-case letters, digits, "_" and "-", starting with a letter or digit.';
    END IF;
    IF name IS NULL THEN
        RAISE EXCEPTION 'segment name must not be null' USING ERRCODE = 'invalid_parameter_value';
    END IF;
    PERFORM ecpower._lock_definitions();
    IF EXISTS (SELECT 1 FROM ecpower.segments AS s WHERE s.slug OPERATOR(pg_catalog.=) create_segment.slug) THEN
        RAISE EXCEPTION 'segment "%" already exists', slug USING ERRCODE = 'duplicate_object';
    END IF;
    PERFORM ecpower.validate_definition(definition);
    PERFORM ecpower._segment_definition_check(definition, slug);
    INSERT INTO ecpower.segments (slug, name, description, definition)
    VALUES (create_segment.slug, create_segment.name, create_segment.description,
            create_segment.definition)
    RETURNING segment_id INTO v_id;
    RETURN v_id;
END
$$;
COMMENT ON FUNCTION ecpower.create_segment(text, text, jsonb, text) IS
    'creates a segment from a validated definition; returns its segment_id';

CREATE FUNCTION ecpower.update_segment(slug text, definition jsonb)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ecpower._lock_definitions();
    PERFORM ecpower.validate_definition(definition);
    PERFORM ecpower._segment_definition_check(definition, slug);
    UPDATE ecpower.segments AS s SET definition = update_segment.definition
     WHERE s.slug OPERATOR(pg_catalog.=) update_segment.slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', slug USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION ecpower.update_segment(text, jsonb) IS
    'replaces a segment''s definition (the old one stays in segment_versions)';

CREATE FUNCTION ecpower.drop_segment(slug text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
    PERFORM ecpower._lock_definitions();
    DELETE FROM ecpower.segments AS s WHERE s.slug OPERATOR(pg_catalog.=) drop_segment.slug;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'segment "%" does not exist', slug USING ERRCODE = 'undefined_object';
    END IF;
END
$$;
COMMENT ON FUNCTION ecpower.drop_segment(text) IS
    'drops a segment with its membership history and its KPI snapshots (its versions are kept)';
