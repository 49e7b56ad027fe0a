-- tools/load.sh: the whole store's KPI row
SELECT * FROM ecpower.segment_kpis(NULL);
