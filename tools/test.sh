#!/usr/bin/env bash
#
# Run every ecpower test against a throwaway cluster:
#   pg_regress   test/sql/*.sql + test/expected/*.out (make installcheck)
#   isolation    test/specs/*.spec + test/expected/*.out (make installcheck)
#   pgTAP        test/pgtap/*.sql                     (pg_prove)
#   TAP          test/t/*.pl                          (prove; may start own nodes;
#                                                      800_upgrade.pl runs the 0.2.0
#                                                      library built in tmp_release/)
#   layout       tools/check_layout.sh                (includes point down a layer,
#                                                      no C file past 1,200 lines)
#   docs         tools/check_docs.sh                  (every routine documented
#                                                      under docs/)
#
# Installs missing Debian packages when run as root, builds with
# -Wall -Wextra -Werror, installs into a private copy of PostgreSQL
# (tmp_install/) and runs the cluster as the postgres user when root.
# Exits non-zero on any failure; the last line is "ecpower: N passed, M failed".
#
# Environment: ECP_PORT (default 55432; the next free port is taken),
# ECP_TESTS="regress pgtap tap" to run a subset, ECP_TAP="test/t/NAME.pl ..."
# to run only those TAP tests.
set -u
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"

TESTS=${ECP_TESTS:-regress pgtap tap}
install_deps || exit 1
build_stage || exit 1

dir=$ECP_ROOT/tmp_check
cluster_start "$dir" || exit 1
trap 'cluster_stop "$dir"' EXIT

passed=0
failed=0

# the shape of src/: layers include downwards only, no C file past 1,200 lines
log "src/ layout"
if bash tools/check_layout.sh; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# every routine of the install script documented under docs/, no process words
log "documentation"
if bash tools/check_docs.sh; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
fi

# pg_regress and isolation tests
if [[ " $TESTS " == *" regress "* ]]; then
    log "pg_regress and isolation tests"
    rm -f regression.diffs output_iso/regression.diffs
    make -s installcheck PG_CONFIG="pg_config" >tmp_check/installcheck.log 2>&1
    rc=$?
    cat tmp_check/installcheck.log
    p=$(grep -cE '^(test|     ) .* \.\.\. +ok' tmp_check/installcheck.log)
    f=$(grep -cE '\.\.\. +FAILED' tmp_check/installcheck.log)
    passed=$((passed + p)); failed=$((failed + f))
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
        failed=$((failed + 1))
    fi
    for d in regression.diffs output_iso/regression.diffs; do
        if [ -s "$d" ]; then
            echo "---------------- $d ----------------"
            cat "$d"
        fi
    done
    if [ "$p" -eq 0 ] && [ "$f" -eq 0 ]; then
        echo "pg_regress ran no test" >&2
        failed=$((failed + 1))
    fi
fi

# pgTAP tests, each in its own transaction in database ecpower_test
if [[ " $TESTS " == *" pgtap "* ]] && compgen -G "test/pgtap/*.sql" >/dev/null; then
    log "pgTAP tests"
    psql -X -q -d postgres -c "CREATE DATABASE ecpower_test" >/dev/null
    psql -X -q -d ecpower_test -c "CREATE EXTENSION pgtap" >/dev/null
    pg_prove -d ecpower_test --failures test/pgtap/*.sql >tmp_check/pgtap.log 2>&1
    cat tmp_check/pgtap.log
    t=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+).*/\1/p' tmp_check/pgtap.log)
    f=$(sed -nE 's/.*Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' tmp_check/pgtap.log | awk '{s+=$1} END {print s+0}')
    bad=$(grep -cE '(Wstat: [1-9]|Bad plan|No plan found|Parse errors)' tmp_check/pgtap.log)
    t=${t:-0}
    passed=$((passed + t - f)); failed=$((failed + f + bad))
    if [ "$t" -eq 0 ]; then
        echo "pg_prove ran no test" >&2
        failed=$((failed + 1))
    fi
fi

# TAP tests that start and kill servers of their own
if [[ " $TESTS " == *" tap "* ]] && compgen -G "test/t/*.pl" >/dev/null; then
    log "TAP tests"
    # the library of the previous release, for the upgrade test
    stage_020=$(stage_release 07f86e0 0.2.0) || stage_020=""
    mkdir -p tmp_check/tap
    [ "$(id -u)" = 0 ] && chown -R postgres: tmp_check/tap
    as_pg env PATH="$(stage_bindir):$PATH" \
        PERL5LIB="$(pg_config --pkglibdir)/pgxs/src/test/perl:$ECP_ROOT/test/perl" \
        TESTDIR="$ECP_ROOT/tmp_check/tap" TESTDATADIR="$ECP_ROOT/tmp_check/tap/data" \
        TESTLOGDIR="$ECP_ROOT/tmp_check/tap/log" \
        PG_REGRESS="$(pg_config --pkglibdir)/pgxs/src/test/regress/pg_regress" \
        ECP_ROOT="$ECP_ROOT" ECP_STAGE_0_2_0="$stage_020" \
        prove -v --ext .pl ${ECP_TAP:-test/t/} >tmp_check/tap.log 2>&1
    cat tmp_check/tap.log
    t=$(sed -nE 's/^Files=[0-9]+, Tests=([0-9]+).*/\1/p' tmp_check/tap.log)
    f=$(sed -nE 's/.*Failed ([0-9]+)\/[0-9]+ subtests.*/\1/p' tmp_check/tap.log | awk '{s+=$1} END {print s+0}')
    bad=$(grep -cE '(Wstat: [1-9]|Bad plan|No plan found|Parse errors)' tmp_check/tap.log)
    t=${t:-0}
    passed=$((passed + t - f)); failed=$((failed + f + bad))
fi

echo "ecpower: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
