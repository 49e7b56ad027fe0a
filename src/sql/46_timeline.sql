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
