#!/usr/bin/env bash
#
# The main job: install what is missing, build, install into a private copy
# of PostgreSQL, start a local cluster (pg_cron preloaded), create the
# extension, generate a demo store, refresh and print reports
# (tools/demo.sql).  The cluster keeps running afterwards; the script prints
# how to connect and how to stop it.
#
# Environment: ECP_DEMO_CUSTOMERS (default 20000), ECP_PORT (default 55432).
set -eu
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"

install_deps
build_stage
dir=$ECP_ROOT/tmp_demo
cluster_start "$dir"
psql -X -q -d postgres -c "CREATE DATABASE ecpower_test" >/dev/null
psql -X -v ON_ERROR_STOP=1 -d ecpower_test \
    -v customers="${ECP_DEMO_CUSTOMERS:-20000}" -f tools/demo.sql
cat <<MSG

The demo cluster is still running:
    psql -h 127.0.0.1 -p $PGPORT -U postgres ecpower_test
Stop it with:
    $(stage_bindir)/pg_ctl -D $dir/data stop   (as the postgres user when root)
MSG
