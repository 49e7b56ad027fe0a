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
