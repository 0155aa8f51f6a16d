#!/usr/bin/env bash
# Runs every lab N times (default 20), two at a time, half of the runs in
# Chinese, and fails on the first lab run whose expectations do not all pass.
# CI runs it after `cargo test`.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-20}
bin=${WIRELAB_BIN:-target/release/wirelab}
[ -x "$bin" ] || cargo build --release --quiet
ids=$("$bin" lab list --format jsonl | python3 -c 'import sys,json; print(" ".join(json.loads(l)["id"] for l in sys.stdin))')
log=$(mktemp -d)
start=$(date +%s)
# Round by round, so the two runs at a time are always two different labs
# (the dns lab binds UDP port 53 on a loopback address: one at a time).
for i in $(seq 1 "$n"); do
  for id in $ids; do echo "$id $i"; done
done | xargs -P 2 -n 2 sh -c '
  # Odd runs judged from JSON lines, even runs through the Chinese terminal view.
  if [ $(( $3 % 2 )) -eq 1 ]; then view=""; fmt="--format jsonl"; else view="--lang zh --width 80"; fmt=""; fi
  if ! "$0" $view lab run "$2" $fmt > "$1/$2-$3.jsonl" 2> "$1/$2-$3.err"; then
    echo "FLAKE: lab $2 run $3 ($view $fmt) failed:"; grep "\"pass\":false\|✗" "$1/$2-$3.jsonl" || true; cat "$1/$2-$3.err"; exit 255
  fi' "$bin" "$log" || { echo "labs-repeat: a lab failed"; exit 1; }
runs=$(ls "$log"/*.jsonl | wc -l)
echo "labs-repeat: $runs lab runs ($n × $(echo $ids | wc -w) labs), all expectations passed, $(( $(date +%s) - start )) s"
rm -rf "$log"
