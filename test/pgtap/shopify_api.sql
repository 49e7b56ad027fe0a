-- Shopify Admin API connection (docs/shopify.md) without a network: the
-- options the ecpower_shopify wrapper accepts and refuses (never echoing
-- the token), the errors of a missing server, user mapping or token, an
-- unreachable shop, and the pg_cron job of schedule_shopify().  The pulls
-- and pushes themselves are tested against a stand-in in
-- test/t/740_shopify_api.pl.
BEGIN;
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS ecpower;
SET TimeZone = 'UTC';
SELECT plan(27);

SELECT ok(EXISTS (SELECT FROM pg_foreign_data_wrapper WHERE fdwname = 'ecpower_shopify' AND fdwvalidator = 'ecpower.shopify_fdw_validator'::regproc), 'the wrapper ecpower_shopify with its validator');
SELECT lives_ok($$CREATE SERVER tshop FOREIGN DATA WRAPPER ecpower_shopify
                  OPTIONS (shop 'brand.myshopify.com', api_version '2025-01', timeout '30',
                           connect_timeout '5', max_retries '0', poll_interval '0.5', max_response_mb '64')$$,
                'a server with every documented option');
SELECT throws_ok($$CREATE SERVER bad1 FOREIGN DATA WRAPPER ecpower_shopify OPTIONS (shop 'brand.myshopify.com', token 'x')$$,
                 'HV00D', 'invalid option "token"', 'an unknown server option: HV00D');
SELECT throws_ok($$CREATE SERVER bad2 FOREIGN DATA WRAPPER ecpower_shopify OPTIONS (shop 'https://brand.myshopify.com/')$$,
                 '22023', NULL, 'shop must be a domain');
SELECT throws_ok($$CREATE SERVER bad3 FOREIGN DATA WRAPPER ecpower_shopify OPTIONS (shop 'b.myshopify.com', api_version 'latest')$$,
                 '22023', 'option "api_version" must be an Admin API version such as "2025-01", not "latest"',
                 'api_version must look like 2025-01');
SELECT throws_ok($$CREATE SERVER bad4 FOREIGN DATA WRAPPER ecpower_shopify OPTIONS (endpoint 'http://proxy.example/graphql.json')$$,
                 '22023', NULL, 'a plain-http endpoint off this machine is refused');
SELECT lives_ok($$CREATE SERVER loop FOREIGN DATA WRAPPER ecpower_shopify
                  OPTIONS (endpoint 'http://127.0.0.1:9/admin/api/2025-01/graphql.json', max_retries '0', connect_timeout '2')$$,
                'a plain-http endpoint on 127.0.0.1 is accepted');
SELECT throws_ok($$CREATE SERVER bad5 FOREIGN DATA WRAPPER ecpower_shopify OPTIONS (shop 'b.myshopify.com', timeout '0')$$,
                 '22023', 'option "timeout" must be a whole number from 1 to 86400, not "0"', 'timeout range');
SELECT throws_ok($$CREATE SERVER bad6 FOREIGN DATA WRAPPER ecpower_shopify OPTIONS (shop 'b.myshopify.com', ca_file 'ca.pem')$$,
                 '22023', NULL, 'ca_file must be absolute');
SELECT throws_ok($$CREATE USER MAPPING FOR CURRENT_USER SERVER tshop OPTIONS (password 'shpat_abc')$$,
                 'HV00D', 'invalid option "password"', 'a user mapping takes access_token only');
SELECT throws_ok($$CREATE USER MAPPING FOR CURRENT_USER SERVER tshop OPTIONS (access_token 'shpat_bad token')$$,
                 '22023', 'option "access_token" may hold printable ASCII characters only',
                 'a malformed token is refused without showing it');
SELECT throws_ok($$ALTER SERVER tshop OPTIONS (ADD access_token 'shpat_abc')$$,
                 'HV00D', 'invalid option "access_token"', 'the token is not a server option');

-- errors before any request
SELECT throws_ok($$CALL ecpower.shopify_pull('nosuch')$$, '42704', 'no Shopify server "nosuch"',
                 'an unknown server: 42704');
CREATE FOREIGN DATA WRAPPER other_fdw;
CREATE SERVER other FOREIGN DATA WRAPPER other_fdw;
SELECT throws_ok($$SELECT ecpower._shopify_pull('other')$$, '22023',
                 'server "other" belongs to foreign-data wrapper "other_fdw", not ecpower_shopify',
                 'a server of another wrapper: 22023');
SELECT throws_ok($$CALL ecpower.shopify_pull('tshop')$$, '42704', NULL, 'no user mapping: 42704');
CREATE USER MAPPING FOR CURRENT_USER SERVER tshop;
SELECT throws_ok($$CALL ecpower.shopify_push('tshop')$$, '28000', NULL, 'a user mapping without access_token: 28000');
CREATE USER MAPPING FOR CURRENT_USER SERVER loop OPTIONS (access_token 'shpat_0123456789abcdef');
SELECT throws_like($$CALL ecpower.shopify_pull('loop')$$, '%failed after 1 attempts: the transfer failed%',
                   'an unreachable shop fails after its retries');
SELECT throws_ok($$CALL ecpower.shopify_pull('loop')$$, 'HV00N', NULL, 'with SQLSTATE HV00N');
SELECT is((SELECT count(*)::int FROM ecpower.shopify_syncs
            WHERE server = 'loop'), 0,
          'called in a transaction block, the failed pull leaves no log row (it shares the transaction)');

-- the token is hidden from other roles
CREATE ROLE ecp_test_other;
GRANT USAGE ON FOREIGN SERVER loop TO ecp_test_other;
SET LOCAL ROLE ecp_test_other;
SELECT is((SELECT umoptions FROM pg_user_mappings WHERE srvname = 'loop'), NULL,
          'pg_user_mappings hides the token from another role');
RESET ROLE;

-- scheduling
DROP EXTENSION IF EXISTS pg_cron;
SELECT throws_ok($$SELECT ecpower.schedule_shopify('tshop')$$, '55000', NULL, 'schedule_shopify without pg_cron: 55000');
CREATE EXTENSION pg_cron;
SELECT throws_ok($$SELECT ecpower.schedule_shopify('nosuch')$$, '42704', 'no Shopify server "nosuch"',
                 'schedule_shopify of an unknown server: 42704');
SELECT ok(ecpower.schedule_shopify('tshop') > 0, 'schedule_shopify returns the job id');
SELECT is((SELECT command || ' @ ' || schedule FROM cron.job WHERE jobname = 'ecpower-shopify-tshop'),
          'CALL ecpower.shopify_sync(''tshop'') @ 0 3 * * *', 'one job: pull, refresh, push at 03:00');
SELECT lives_ok($$SELECT ecpower.schedule_shopify('tshop', '15 2 * * *')$$, 'rescheduling');
SELECT is((SELECT count(*)::int || ' ' || min(schedule) FROM cron.job WHERE jobname = 'ecpower-shopify-tshop'),
          '1 15 2 * * *', 'rescheduling replaces the job');
SELECT ok(ecpower.unschedule_shopify('tshop') AND NOT ecpower.unschedule_shopify('tshop'),
          'unschedule_shopify removes it (true), then finds none (false)');

SELECT * FROM finish();
ROLLBACK;
