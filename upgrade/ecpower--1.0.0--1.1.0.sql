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
