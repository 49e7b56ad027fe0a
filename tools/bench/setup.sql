-- Benchmark bookkeeping (tools/bench.sh): not part of the extension.
-- bench_start(label) / bench_stop(label) bracket one measured statement in
-- the same session: wall time from clock_timestamp(), CPU time (user +
-- system) of this backend from /proc/self/schedstat, so that the figures stay
-- meaningful on a machine shared with other work.
CREATE SCHEMA IF NOT EXISTS bench;
CREATE TABLE IF NOT EXISTS bench.results (
    label   text NOT NULL,
    size    integer NOT NULL,
    rep     integer NOT NULL,
    wall_s  double precision NOT NULL,
    cpu_s   double precision NOT NULL,
    at      timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE TABLE IF NOT EXISTS bench.facts (
    label   text NOT NULL,
    size    integer NOT NULL,
    value   text
);
-- equal results: ecpower's answer against the plain-SQL one (what =
-- 'segment' or 'report') and against DuckDB's ('duckdb'): row counts and
-- mismatching rows
CREATE TABLE IF NOT EXISTS bench.verify (
    size        integer,
    what        text,
    name        text,
    ours        bigint,
    plain       bigint,
    mismatches  bigint
);
CREATE UNLOGGED TABLE IF NOT EXISTS bench.open (
    pid     integer PRIMARY KEY,
    label   text,
    t0      timestamptz,
    cpu0    double precision
);

-- CPU seconds (user + system) of this backend: the nanoseconds on CPU of
-- /proc/self/schedstat where the kernel keeps them, else the clock ticks
-- (1/100 s) of /proc/self/stat
CREATE OR REPLACE FUNCTION bench.cpu() RETURNS double precision
LANGUAGE sql AS $$
    SELECT coalesce(
        nullif(split_part(pg_read_file('/proc/self/schedstat', 0, 200, true), ' ', 1), '')::bigint / 1e9,
        (SELECT (f[12]::bigint + f[13]::bigint)::double precision / 100.0
           FROM (SELECT string_to_array(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ') AS f) s))
$$;

CREATE OR REPLACE FUNCTION bench.start(p_label text) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO bench.open VALUES (pg_backend_pid(), p_label, clock_timestamp(), bench.cpu())
    ON CONFLICT (pid) DO UPDATE SET label = excluded.label, t0 = excluded.t0, cpu0 = excluded.cpu0
$$;

CREATE OR REPLACE FUNCTION bench.stop(p_label text, p_size integer, p_rep integer) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO bench.results (label, size, rep, wall_s, cpu_s)
    SELECT p_label, p_size, p_rep,
           extract(epoch FROM clock_timestamp() - o.t0), bench.cpu() - o.cpu0
      FROM bench.open o WHERE o.pid = pg_backend_pid() AND o.label = p_label
$$;
