#!/usr/bin/env bash
# What a first `make test` costs on this machine, and a rebuild after one source file changes
# (the book's testing page quotes it): from a clean target/ each round, the build of every test
# target, then running them (`make test`), the disk target/ takes, and the rebuild after
# touching src/handlers/control.rs. Run it on a quiet machine: it measures wall-clock time.
#   scripts/measure-test-build.sh [ROUNDS]     (default 3)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
make schema >/dev/null
scripts/venv.sh tools/requirements.txt >/dev/null
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { print b - a }'; }
for round in $(seq 1 "$rounds"); do
  rm -rf target
  t0=$(now)
  cargo test --workspace --all-targets --no-run >/dev/null 2>&1
  t1=$(now)
  make test >/dev/null 2>&1
  t2=$(now)
  disk=$(du -sm target | cut -f1)
  binaries=$(find target/debug/deps -maxdepth 1 -type f -executable | wc -l)
  touch src/handlers/control.rs
  t3=$(now)
  cargo test --workspace --all-targets --no-run >/dev/null 2>&1
  t4=$(now)
  printf 'round %s: build %.0f s, tests %.0f s (first make test %.0f s), target/ %s MB, %s executables; rebuild after touching src/handlers/control.rs %.1f s\n' \
    "$round" "$(secs "$t0" "$t1")" "$(secs "$t1" "$t2")" "$(secs "$t0" "$t2")" "$disk" "$binaries" "$(secs "$t3" "$t4")"
done
