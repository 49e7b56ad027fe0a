#!/usr/bin/env bash
#
# Run the pg_regress and isolation suites (make installcheck: every test/sql/*.sql
# and test/specs/*.spec) against a server running under valgrind memcheck, and
# report every valgrind error, split into those with a frame in ecpower's
# own C code (src/*.c) and the rest.
#
# Builds and stages the extension like tools/test.sh, starts its own cluster
# in tmp_valgrind/ on $ECP_PORT (default 55432; the next free port is taken)
# and leaves the logs in tmp_valgrind/vg/ (one per process).
#
# Environment: ECP_PORT; ECP_VALGRIND_TESTS="tables demo ..." runs only those
# pg_regress files (and no isolation test); ECP_NICE (default 10) is the nice
# level of the server.
#
# Exits non-zero when a test fails or any valgrind error has an ecpower frame.
set -u
. "$(dirname "$0")/lib.sh"
cd "$ECP_ROOT"

install_deps || exit 1
command -v valgrind >/dev/null || { echo "valgrind is not installed" >&2; exit 1; }
build_stage || exit 1

dir=$ECP_ROOT/tmp_valgrind
bin=$(stage_bindir)
while port_in_use "$ECP_PORT"; do ECP_PORT=$((ECP_PORT + 1)); done
[ -f "$dir/postmaster.pid" ] && kill "$(head -1 "$dir/postmaster.pid")" 2>/dev/null
rm -rf "$dir"
mkdir -p "$dir/vg"
[ "$(id -u)" = 0 ] && chown -R postgres: "$dir"
log "initdb in $dir, port $ECP_PORT"
as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync \
    -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; exit 1; }
cat >>"$dir/data/postgresql.conf" <<CONF
port = $ECP_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = '128MB'
jit = off
max_parallel_workers_per_gather = 2
log_min_messages = warning
CONF

# The server and every backend it forks run under memcheck.
log "starting postgres under valgrind"
as_pg nice -n "${ECP_NICE:-10}" valgrind --trace-children=yes --track-origins=yes \
    --read-var-info=yes --num-callers=30 --error-limit=no \
    --suppressions="$ECP_ROOT/tools/valgrind.supp" \
    --log-file="$dir/vg/%p.log" \
    "$bin/postgres" -D "$dir/data" >"$dir/server.log" 2>&1 &
pgpid=$!
export PGHOST=127.0.0.1 PGPORT=$ECP_PORT PGUSER=postgres
for _ in $(seq 600); do
    "$bin/pg_isready" -q && break
    sleep 1
done
"$bin/pg_isready" -q || { echo "server did not start" >&2; cat "$dir/server.log"; exit 1; }

start=$(date +%s)
rm -f regression.diffs output_iso/regression.diffs
if [ -n "${ECP_VALGRIND_TESTS:-}" ]; then
    log "make installcheck REGRESS=\"$ECP_VALGRIND_TESTS\" (no isolation tests)"
    make -s installcheck PG_CONFIG=pg_config REGRESS="$ECP_VALGRIND_TESTS" ISOLATION= \
        >"$dir/installcheck.log" 2>&1
else
    log "make installcheck (every test/sql/ and test/specs/ test)"
    make -s installcheck PG_CONFIG=pg_config >"$dir/installcheck.log" 2>&1
fi
rc=$?
secs=$(( $(date +%s) - start ))
cat "$dir/installcheck.log"

log "stopping the server"
as_pg "$bin/pg_ctl" -D "$dir/data" -m fast -w -t 600 stop >/dev/null 2>&1
wait "$pgpid" 2>/dev/null

# Every error record in the logs, split by whether a frame is in src/*.c.
ours=$(cd src && ls *.c | paste -sd'|')
total=0
mine=0
for f in "$dir"/vg/*.log; do
    n=$(sed -nE 's/.*ERROR SUMMARY: ([0-9]+) errors.*/\1/p' "$f" | tail -1)
    total=$((total + ${n:-0}))
    # error records are blank-line separated blocks starting "==PID== <kind>"
    m=$(awk -v re="[(](${ours}):[0-9]+[)]" '
        /^==[0-9]+== $/ { if (blk ~ re && blk !~ /ERROR SUMMARY|HEAP SUMMARY|LEAK SUMMARY/) c++; blk = ""; next }
        { blk = blk "\n" $0 }
        END { if (blk ~ re && blk !~ /ERROR SUMMARY|HEAP SUMMARY|LEAK SUMMARY/) c++; print c + 0 }' "$f")
    mine=$((mine + m))
    [ "$m" -gt 0 ] && echo "ecpower frame in $f" >&2
done
ran=$(grep -cE '\.\.\. +(ok|FAILED)' "$dir/installcheck.log")
bad=$(grep -cE '\.\.\. +FAILED' "$dir/installcheck.log")
echo "valgrind: $ran tests ($bad failed) in ${secs}s; $(ls "$dir"/vg/*.log | wc -l) processes;" \
     "$total valgrind errors, $mine with an ecpower frame (logs: $dir/vg/)"
# what the remaining reports are: kind and the first three frames, counted
cat "$dir"/vg/*.log | awk '
    /^==[0-9]+== (Conditional|Use of|Invalid|Syscall|Source|Mismatched|Argument)/ {
        rec = 1; sig = $0; sub(/^==[0-9]+== /, "", sig); n = 0; next }
    rec && /^==[0-9]+== +(at|by) / {
        if (n < 3) { f = $0; sub(/^==[0-9]+== +(at|by) 0x[0-9A-F]+: /, "", f);
                     sub(/ [(]in [^)]*[)]/, "", f); sig = sig " | " f; n++ }
        next }
    rec { print sig; rec = 0 }' | sort | uniq -c | sort -rn
[ "$rc" -eq 0 ] && [ "$mine" -eq 0 ]
