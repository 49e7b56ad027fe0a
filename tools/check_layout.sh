#!/usr/bin/env bash
#
# Check the shape of src/: every C file and header lives in a layer folder,
# no file includes a header of a higher layer, and no C file is longer than
# 1,200 lines.  Layers, lowest first:
#
#   core  timeline  predict  segments  reports|activation  refresh|io
#
# Prints one line per violation and exits 1 if there is any.
set -u
cd "$(dirname "$0")/../src"

rank() {
    case $1 in
        core) echo 0 ;; timeline) echo 1 ;; predict) echo 2 ;; segments) echo 3 ;;
        reports|activation) echo 4 ;; refresh|io) echo 5 ;; *) echo "" ;;
    esac
}

bad=0
for f in */*.c */*.h; do
    layer=${f%%/*}
    [ "$layer" = sql ] && continue
    r=$(rank "$layer")
    if [ -z "$r" ]; then
        echo "$f: not in a known layer folder"; bad=1; continue
    fi
    while read -r inc; do
        il=${inc%%/*}
        ir=$(rank "$il")
        [ -z "$ir" ] && continue            # a PostgreSQL header
        if [ "$ir" -gt "$r" ] || { [ "$ir" -eq "$r" ] && [ "$il" != "$layer" ]; }; then
            echo "$f includes $inc (layer $il above $layer)"; bad=1
        fi
    done < <(sed -nE 's/^#include "([a-z_]+\/[a-z_]+\.h)".*/\1/p' "$f")
    if [ "${f##*.}" = c ]; then
        n=$(wc -l < "$f")
        if [ "$n" -gt 1200 ]; then
            echo "$f: $n lines (more than 1,200)"; bad=1
        fi
    fi
done
for f in *.c *.h; do
    [ -e "$f" ] || continue
    [ "$f" = ecpower.c ] && continue
    echo "$f: outside a layer folder"; bad=1
done
[ "$bad" = 0 ] && echo "src/ layout: ok"
exit $bad
