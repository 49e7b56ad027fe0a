-- journey(slugs, from, to) between refreshed days (README "KPIs, cohorts and journeys"), against a
-- plain-SQL oracle built on segment_members(slug, day)
\i test/fixtures/setup.sql
\set ECHO none
\i test/kpi_oracle.sql
\set ECHO all
\set VERBOSITY terse
UPDATE ecpower.settings SET store_timezone = 'America/New_York';

SELECT pg_temp.o_fixture(1000, 400, 0.11);
SELECT ecpower.create_segment('recent', 'Recent', '{"orders": {"period": {"last_days": 90}}}') > 0 AS ok;
SELECT ecpower.create_segment('repeat', 'Repeat', '{"orders": {}, "count": {"gte": 2}}') > 0 AS ok;
SELECT ecpower.create_segment('lapsed', 'Lapsed',
    '{"all": [{"orders": {}}, {"not": {"orders": {"period": {"last_days": 90}}}}]}') > 0 AS ok;

CALL ecpower.refresh('2024-03-31 12:00+00');
CALL ecpower.refresh('2024-07-31 12:00+00');
SELECT ecpower.create_segment('late', 'Created later', '{"orders": {}}') > 0 AS ok;
CALL ecpower.refresh('2024-08-31 12:00+00');

SELECT * FROM ecpower.journey(ARRAY['recent', 'lapsed'], '2024-03-31', '2024-07-31');
SELECT sum(customers) AS customers FROM ecpower.journey(ARRAY['recent', 'lapsed'], '2024-03-31', '2024-07-31');

-- against the oracle: no row means every pair matches
SELECT x.* FROM (VALUES (ARRAY['recent', 'lapsed'], date '2024-03-31', date '2024-07-31'),
                        (ARRAY['recent', 'repeat', 'lapsed'], '2024-03-31', '2024-08-31'),
                        (ARRAY['repeat'], '2024-07-31', '2024-08-31'),
                        (ARRAY['recent'], '2024-07-31', '2024-07-31'),
                        (ARRAY['lapsed', 'recent'], '2024-03-31', '2024-08-31')) v(slugs, f, t)
  CROSS JOIN LATERAL (
    (SELECT * FROM ecpower.journey(v.slugs, v.f, v.t)
     EXCEPT ALL SELECT * FROM pg_temp.o_journey(v.slugs, v.f, v.t))
    UNION ALL
    (SELECT * FROM pg_temp.o_journey(v.slugs, v.f, v.t)
     EXCEPT ALL SELECT * FROM ecpower.journey(v.slugs, v.f, v.t))) x;

-- the same day on both sides: everyone stays, no revenue
SELECT * FROM ecpower.journey(ARRAY['repeat'], '2024-07-31', '2024-07-31');

-- errors: a day without a refresh, a segment created after a day, bad arguments
SELECT * FROM ecpower.journey(ARRAY['recent'], '2024-04-01', '2024-07-31');
SELECT * FROM ecpower.journey(ARRAY['late'], '2024-03-31', '2024-08-31');
SELECT * FROM ecpower.journey(ARRAY['recent'], '2024-07-31', '2024-03-31');
SELECT * FROM ecpower.journey(ARRAY['recent', 'recent'], '2024-03-31', '2024-07-31');
SELECT * FROM ecpower.journey(ARRAY['recent', NULL], '2024-03-31', '2024-07-31');
SELECT * FROM ecpower.journey(ARRAY['nope'], '2024-03-31', '2024-07-31');
SELECT * FROM ecpower.journey(ARRAY['recent'], NULL, '2024-07-31');
SELECT count(*) FROM ecpower.journey(ARRAY[]::text[], '2024-03-31', '2024-07-31');
