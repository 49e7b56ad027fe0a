/*
 * Privileges (SPEC 10): nothing is granted to PUBLIC.  The install script
 * creates no roles; the README shows the grants for ecpower_reader,
 * ecpower_admin and the refresher role.
 */
REVOKE ALL ON SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL TABLES IN SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL SEQUENCES IN SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL FUNCTIONS IN SCHEMA ecpower FROM PUBLIC;
REVOKE ALL ON ALL PROCEDURES IN SCHEMA ecpower FROM PUBLIC;
