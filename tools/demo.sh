#!/usr/bin/env bash
# demo.sh - what `make demo` runs: start the bundled exchange simulator with a
# frozen clock, then drive the real aggtrades binary through the examples of
# the specification. The lake is left in ./demo-data for a look around.
#
#   tools/demo.sh [path/to/aggtrades]      (default: build/aggtrades)
#
# Environment: AGT_DEMO_ROOT (default ./demo-data), AGT_DEMO_NOW (the frozen
# exchange clock, default 2024-03-01T12:34:56Z), PYTHON (default python3).
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
bin=${1:-$here/build/aggtrades}
root=${AGT_DEMO_ROOT:-./demo-data}
now=${AGT_DEMO_NOW:-2024-03-01T12:34:56Z}
python=${PYTHON:-python3}

if [[ ! -x $bin ]]; then
    echo "demo: no binary at '$bin' (run 'make build' first)" >&2
    exit 2
fi

# the simulator: its first line is "listening on http://127.0.0.1:PORT"
simlog=$(mktemp)
"$python" "$here/tools/binance_sim.py" --port 0 --now "$now" >"$simlog" 2>/dev/null &
sim_pid=$!
cleanup() {
    kill "$sim_pid" 2>/dev/null || true
    wait "$sim_pid" 2>/dev/null || true
    rm -f "$simlog"
}
trap cleanup EXIT INT TERM

url=
for _ in $(seq 100); do
    line=$(head -n 1 "$simlog" 2>/dev/null || true)
    if [[ $line == "listening on "* ]]; then
        url=${line#listening on }
        break
    fi
    kill -0 "$sim_pid" 2>/dev/null || break
    sleep 0.1
done
if [[ -z $url ]]; then
    echo "demo: the simulator did not start" >&2
    exit 1
fi

# the simulator serves the archive zips too, so nothing reaches the real hosts
export AGT_API_URL=$url AGT_ARCHIVE_URL=$url AGT_ROOT=$root
rm -rf "$root"

# print a command as it would be typed (quoting what needs it), then run it
bold=$'\033[1m' plain=$'\033[0m'
if [[ -n ${NO_COLOR:-} || ! -t 1 ]]; then bold= plain=; fi
step() {
    local shown= a
    for a in "$@"; do
        if [[ $a =~ ^[A-Za-z0-9_./:=,@+-]+$ ]]; then shown+=" $a"; else shown+=" \"$a\""; fi
    done
    printf '\n%s$%s%s\n' "$bold" "$shown" "$plain"
    "$@"
}

echo "simulated exchange at $url, clock frozen at $now; lake in $root"
cli() { "$bin" "$@"; }

step cli download BTCUSDT ETHUSDT --start 2024-02-26 --end 2024-02-28
step cli download BTCUSDT ETHUSDT --start 2024-02-26 --end 2024-02-28   # complete: no request
step cli update ETHUSDT
step cli update ETHUSDT --force
step cli query BTCUSDT --start 2024-02-26 --end 2024-02-28 --stats
step cli query BTCUSDT --start "2024-02-27 12:30:00.500" --end "2024-02-27 12:35:00" --output csv --limit 12
step cli query ETHUSDT --start 2024-02-27T12:00:00Z --end 2024-02-27T13:00:00Z
step cli verify BTCUSDT
step cli retry

echo
echo "the lake is in $root:"
find "$root" -maxdepth 5 -type d -name 'day=*' | sort | head -n 8
du -sh "$root"
