#!/usr/bin/env bash
#
# Check the user documentation against the install script:
#
#   - every function, procedure and aggregate the install script creates in
#     schema ecpower is documented on a page under docs/: its name appears in
#     backticks, as `ecpower.NAME...`, `NAME(...` or `NAME`;
#   - README.md and docs/ speak of the project itself only: no words about
#     how it is being built (the patterns below).
#
# Reads the install script of the version ecpower.control installs
# (ecpower--VERSION.sql, which make builds from src/sql; built here if missing).  Prints one line per problem and
# exits 1 if there is any.
set -u
cd "$(dirname "$0")/.."

version=$(sed -nE "s/^default_version[[:space:]]*=[[:space:]]*'([^']+)'.*/\1/p" ecpower.control)
script=ecpower--$version.sql
# the install script is a concatenation of src/sql: build it when missing
[ -n "$version" ] && [ ! -s "$script" ] && make -s "$script" >/dev/null
if [ -z "$version" ] || [ ! -s "$script" ]; then
    echo "check_docs: no install script $script (make $script failed)"
    exit 1
fi

bad=0

# every routine created in schema ecpower, once per name (overloads share a page)
routines=$(grep -oiE '^[[:space:]]*CREATE[[:space:]]+(OR[[:space:]]+REPLACE[[:space:]]+)?(FUNCTION|PROCEDURE|AGGREGATE)[[:space:]]+ecpower\.[a-z_][a-z_0-9]*' "$script" \
           | sed -E 's/.*ecpower\.//' | tr 'A-Z' 'a-z' | sort -u)
if [ -z "$routines" ]; then
    echo "check_docs: no routine found in $script"
    exit 1
fi

# every backtick span of every page under docs/
spans=$(mktemp)
trap 'rm -f "$spans"' EXIT
find docs -name '*.md' -print0 | xargs -0 cat | grep -oE '`[^`]+`' > "$spans"

n=0
for r in $routines; do
    n=$((n + 1))
    if ! grep -qE "^\`(.*[^a-z_0-9])?ecpower\.$r([^a-z_0-9].*)?\`\$|^\`$r(\(.*)?\`\$" "$spans"; then
        echo "not documented under docs/: ecpower.$r (write \`ecpower.$r(...)\` on the page of its area)"
        bad=1
    fi
done

# words about how the project is made, not about what it does
process_words='\bSPEC\b|[Ii]ssue #|[Ii]ssues? [0-9]|Targets of issue|\b(the|a|another) helper (ran|wrote|session)|\bhelper session|\b(the|my|this) brief\b|\bthe lead\b|\bworktree\b|\bother developers\b'
hits=$(grep -rnE "$process_words" README.md docs --include='*.md')
if [ -n "$hits" ]; then
    echo "README.md and docs/ must speak of ecpower itself, not of how it is being built:"
    echo "$hits"
    bad=1
fi

[ "$bad" = 0 ] && echo "docs: ok ($n routines of $script documented)"
exit $bad
