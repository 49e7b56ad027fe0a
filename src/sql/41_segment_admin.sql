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
