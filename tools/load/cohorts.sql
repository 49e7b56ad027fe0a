-- tools/load.sh: the store's cohort table
SELECT count(*) FROM ecpower.cohorts(NULL);
