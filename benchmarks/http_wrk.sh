#!/usr/bin/env bash
# benchmarks/http_wrk.sh PORT CONNECTIONS SECONDS: the outside reference of `benchmarks/run http`.
# Runs Debian's wrk with one thread against http://127.0.0.1:PORT/ and prints
# {"connections": C, "rps": <wrk's Requests/sec>}. Fails if wrk saw socket errors or non-2xx
# responses, since its figure would then not count what it seems to.
set -euo pipefail
if [ $# -ne 3 ] || ! [[ $1 =~ ^[0-9]+$ && $2 =~ ^[0-9]+$ && $3 =~ ^[0-9]+$ ]]; then
    echo "usage: benchmarks/http_wrk.sh PORT CONNECTIONS SECONDS" >&2
    exit 2
fi
port=$1 connections=$2 seconds=$3
if ! command -v wrk >/dev/null; then
    echo "http_wrk.sh: wrk is not installed (apt-get install -y wrk)" >&2
    exit 1
fi
out=$(wrk -t1 -c"$connections" -d"${seconds}s" "http://127.0.0.1:$port/")
if grep -qE '^ *(Socket errors|Non-2xx or 3xx responses):' <<<"$out"; then
    printf '%s\n' "$out" >&2
    echo "http_wrk.sh: wrk reported errors" >&2
    exit 1
fi
rps=$(awk '$1 == "Requests/sec:" { print $2 }' <<<"$out")
if ! [[ $rps =~ ^[0-9]+(\.[0-9]+)?$ ]]; then
    printf '%s\n' "$out" >&2
    echo "http_wrk.sh: no Requests/sec in wrk's output" >&2
    exit 1
fi
printf '{"connections": %d, "rps": %s}\n' "$connections" "$rps"
