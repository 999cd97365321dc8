#!/usr/bin/env bash
# The cold `make run` of bench/RESULTS.md ("Lean runtime"): in CLONE, a fresh `git clone` of the
# repository with no .venv yet, run `make run PORT=PORT` with pip's cache off, and print the
# seconds until the example project answers GET /admin/login/, the virtualenv's size and how
# many packages it holds; then stop the server.
#
# usage: bench/cold_install.sh CLONE PORT
set -u
if [ $# -ne 2 ]; then
  echo "usage: $0 CLONE PORT" >&2
  exit 2
fi
dir=$1
port=$2
if [ -e "$dir/.venv" ]; then
  echo "$dir/.venv exists: a cold run needs a fresh clone" >&2
  exit 2
fi
cd "$dir" || exit 2
start=$(date +%s.%N)
# Its own process group (setsid), so that stopping it stops runserver and its reloader too.
PIP_NO_CACHE_DIR=1 setsid make run PORT="$port" >"$dir.makerun.log" 2>&1 &
pid=$!
trap 'kill -- -$pid 2>/dev/null' EXIT
until curl -s -o /dev/null "http://127.0.0.1:$port/admin/login/"; do
  sleep 0.2
  if ! kill -0 "$pid" 2>/dev/null; then
    echo "make run stopped; see $dir.makerun.log" >&2
    exit 1
  fi
done
end=$(date +%s.%N)
awk -v start="$start" -v end="$end" 'BEGIN { printf "seconds: %.1f\n", end - start }'
du -sh "$dir/.venv"
echo "packages: $("$dir/.venv/bin/pip" list 2>/dev/null | tail -n +3 | wc -l)"
