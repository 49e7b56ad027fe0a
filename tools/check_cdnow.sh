#!/usr/bin/env bash
#
# Reproduce the published CDNOW figures (Fader, Hardie & Lee 2005; lifetimes):
# build, install into tmp_install/, start a throwaway cluster in tmp_cdnow/,
# load the 2,357-customer CDNOW sample into ecpower.customers and orders (one
# customer per sample_id, one order per row, ordered_at = the day at 00:00
# UTC, total = dollars), fit BG/NBD, MBG/NBD, Pareto/NBD and Gamma-Gamma
# with calibration to 1997-09-30 in weeks and print the reproduction table,
# the comparison with lifetimes' per-customer summary, the holdout
# backtests, the top CLVs and the automatic model choice as of 1998-06-30
# (tools/check_cdnow.sql).  The data is not part of the project.
#
# Environment: ECP_CDNOW_DIR (default /work/shared/data/cdnow), ECP_PORT.
set -eu
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"

data=${ECP_CDNOW_DIR:-/work/shared/data/cdnow}
if [ ! -r "$data/CDNOW_sample.txt" ]; then
    echo "CDNOW_sample.txt not found in $data (set ECP_CDNOW_DIR)" >&2
    exit 1
fi

install_deps
build_stage
dir=$ECP_ROOT/tmp_cdnow
cluster_start "$dir"
trap 'cluster_stop "$dir"' EXIT

# the server reads the files (COPY FROM file): give it absolute paths
sample=$(cd "$data" && pwd)/CDNOW_sample.txt
summary=$(cd "$data" && pwd)/cdnow_customers_summary_with_transactions.csv
args=(-v sample="$sample")
[ -r "$summary" ] && args+=(-v summary="$summary")
psql -X -q -d postgres -c "CREATE DATABASE ecpower_cdnow" >/dev/null
psql -X -q -d ecpower_cdnow "${args[@]}" -f tools/check_cdnow.sql
