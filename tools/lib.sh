# Shared shell functions of the ecpower scripts (sourced, not run).
#
# install_deps     apt-get what the project needs (root only, only if missing)
# build_stage      build and install the extension into ./tmp_install, a
#                  private copy of the PostgreSQL installation, so that tests
#                  never touch (or depend on) the system's extension directory
# stage_release REV VERSION
#                  build the extension as the release commit REV had it and
#                  install it into tmp_release/VERSION/, a private copy of
#                  PostgreSQL of its own (kept between runs); prints the
#                  installation's directory (bin/ and lib/ under it)
# cluster_start D  initdb + start a throwaway cluster in directory D on
#                  $ECP_PORT with pg_cron preloaded; sets PGHOST/PGPORT/PGUSER
# cluster_stop D   stop it
# as_pg CMD...     run CMD as the cluster owner (postgres when we are root)

ECP_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ECP_PORT=${ECP_PORT:-55432}
ECP_PKGS="postgresql-15 postgresql-server-dev-15 postgresql-15-cron postgresql-15-pgtap libtap-parser-sourcehandler-pgtap-perl libroaring-dev libipc-run-perl libcurl4-openssl-dev python3 openssl curl pgbouncer make gcc"

log() { printf '==> %s\n' "$*" >&2; }

install_deps() {
    local missing=""
    for p in $ECP_PKGS; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
    done
    [ -z "$missing" ] && return 0
    if [ "$(id -u)" != 0 ]; then
        echo "missing Debian packages:$missing (run as root, or install them)" >&2
        return 1
    fi
    log "installing:$missing"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
}

pg_bindir() { pg_config --bindir; }

# The staged installation mirrors the system one under $ECP_ROOT/tmp_install.
# PostgreSQL finds share/ and lib/ relative to its binary, so the staged
# postgres loads the staged ecpower files.
stage_bindir() { echo "$ECP_ROOT/tmp_install$(pg_config --bindir)"; }

build_stage() {
    local stage="$ECP_ROOT/tmp_install"
    log "building"
    make -C "$ECP_ROOT" -s -j2 >/dev/null
    if [ ! -x "$(stage_bindir)/postgres" ]; then
        log "staging a private copy of PostgreSQL in tmp_install/"
        rm -rf "$stage"
        local verdir sharedir
        verdir=$(dirname "$(pg_config --bindir)")     # /usr/lib/postgresql/15
        sharedir=$(pg_config --sharedir)              # /usr/share/postgresql/15
        mkdir -p "$stage$(dirname "$verdir")" "$stage$(dirname "$sharedir")"
        cp -a "$verdir" "$stage$(dirname "$verdir")/"
        cp -a "$sharedir" "$stage$(dirname "$sharedir")/"
    fi
    make -C "$ECP_ROOT" -s install DESTDIR="$stage" >/dev/null
    chmod -R a+rX "$stage"
}

stage_release() {
    local rev=$1 ver=$2 dir="$ECP_ROOT/tmp_release/$2" verdir sharedir
    verdir=$(dirname "$(pg_config --bindir)")     # /usr/lib/postgresql/15
    sharedir=$(pg_config --sharedir)              # /usr/share/postgresql/15
    if [ ! -f "$dir/built-$rev" ]; then
        git -C "$ECP_ROOT" cat-file -e "$rev^{commit}" 2>/dev/null || {
            log "release $ver: commit $rev is not in this clone"
            return 1
        }
        log "building release $ver (commit $rev) into tmp_release/$ver/"
        rm -rf "$dir"
        mkdir -p "$dir/src" "$dir/stage$(dirname "$verdir")" "$dir/stage$(dirname "$sharedir")"
        git -C "$ECP_ROOT" archive "$rev" | tar -x -C "$dir/src" || return 1
        make -C "$dir/src" -s -j2 >"$dir/build.log" 2>&1 || { cat "$dir/build.log"; return 1; }
        cp -a "$verdir" "$dir/stage$(dirname "$verdir")/"
        cp -a "$sharedir" "$dir/stage$(dirname "$sharedir")/"
        rm -f "$dir/stage$sharedir/extension/ecpower"* "$dir/stage$verdir/lib/ecpower.so"
        make -C "$dir/src" -s install DESTDIR="$dir/stage" >/dev/null || return 1
        chmod -R a+rX "$dir"
        touch "$dir/built-$rev"
    fi
    echo "$dir/stage$verdir"
}

as_pg() {
    if [ "$(id -u)" = 0 ]; then
        runuser -u postgres -- env PATH="$PATH" "$@"
    else
        "$@"
    fi
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

cluster_start() {
    local dir=$1 bin
    bin=$(stage_bindir)
    while port_in_use "$ECP_PORT"; do ECP_PORT=$((ECP_PORT + 1)); done
    as_pg "$bin/pg_ctl" -D "$dir/data" stop -m immediate >/dev/null 2>&1 || true
    rm -rf "$dir"
    mkdir -p "$dir"
    [ "$(id -u)" = 0 ] && chown postgres: "$dir"
    log "starting a throwaway cluster in $dir on port $ECP_PORT"
    as_pg "$bin/initdb" -D "$dir/data" -U postgres --auth=trust --no-sync \
        -E UTF8 --locale=C >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log"; return 1; }
    cat >>"$dir/data/postgresql.conf" <<CONF
port = $ECP_PORT
listen_addresses = '127.0.0.1'
unix_socket_directories = '$dir'
shared_preload_libraries = 'pg_cron'
cron.database_name = 'ecpower_test'
cron.use_background_workers = on
max_worker_processes = 16
fsync = off
synchronous_commit = off
full_page_writes = off
shared_buffers = '${ECP_SHARED_BUFFERS:-512MB}'
work_mem = '64MB'
maintenance_work_mem = '256MB'
max_wal_size = '4GB'
jit = off
log_min_messages = warning
CONF
    as_pg "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start >/dev/null \
        || { cat "$dir/server.log"; return 1; }
    export PGHOST=127.0.0.1 PGPORT=$ECP_PORT PGUSER=postgres
    export ECP_CLUSTER_DIR=$dir ECP_BINDIR=$bin
}

cluster_stop() {
    local dir=$1
    as_pg "$(stage_bindir)/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null 2>&1 || true
}
