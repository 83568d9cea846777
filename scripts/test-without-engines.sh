#!/usr/bin/env bash
# Runs `npm test` as on a machine with only Node: TEST_DATABASE_ADMIN_URL and TEST_REDIS_URL point at
# closed loopback ports and PATH hides redis-server, redis-cli, shellcheck and PostgreSQL's programs.
# The run must pass on embedded engines, print which ones, and list the suites it skipped.
#   scripts/test-without-engines.sh            # as a developer's machine (must pass)
#   scripts/test-without-engines.sh --ci       # the same with CI=true (must FAIL, naming what to start)
# Further arguments go to jest, e.g. --selectProjects services.
set -euo pipefail
cd "$(dirname "$0")/.."

ci=false
if [ "${1:-}" = "--ci" ]; then ci=true; shift; fi

# A PATH of links to every program on the current one except the engines'.
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  for program in "$dir"/*; do
    name=$(basename "$program")
    case $name in
      redis-* | shellcheck | psql | pg_* | postgres | initdb | createdb | dropdb) continue ;;
    esac
    if [ -f "$program" ] && [ -x "$program" ] && [ ! -e "$bin/$name" ]; then ln -s "$program" "$bin/$name"; fi
  done
done

# Ports nothing listens on: bound by the kernel's choice, then released.
closed_port() { node -e 'const s = require("net").createServer().listen(0, "127.0.0.1", () => { console.log(s.address().port); s.close(); })'; }

unset SURGE_TEST_ENGINES SURGE_TEST_ENGINE_NOTICE
if $ci; then export CI=true; else unset CI; fi
PATH="$bin" \
  TEST_DATABASE_ADMIN_URL="postgres://postgres@127.0.0.1:$(closed_port)/postgres" \
  TEST_REDIS_URL="redis://127.0.0.1:$(closed_port)" \
  npm test -- "$@"
