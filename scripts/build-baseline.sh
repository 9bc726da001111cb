#!/usr/bin/env bash
# Builds the release `skill` and `stream` of another commit, for the side-by-side bench
# (`make bench-compare BASELINE=REV`), and prints the folder that holds them.
#   scripts/build-baseline.sh REV
# The commit's tree is exported with `git archive` (no worktree to clean up) and built with a
# target folder of its own under .local/, shared by all baselines so that dependencies are
# compiled once. A baseline already built is reused.
set -euo pipefail
cd "$(dirname "$0")/.."
rev=${1:?usage: $0 REV}
sha=$(git rev-parse --verify "$rev^{commit}")
out=".local/baseline/$sha"
if [ -x "$out/skill" ] && [ -x "$out/stream" ]; then
  echo "$PWD/$out"
  exit 0
fi
src=".local/baseline-src/$sha"
rm -rf "$src"
mkdir -p "$src" "$out"
git archive "$sha" | tar -x -C "$src"
echo "building the baseline $rev ($sha) in $src" >&2
(cd "$src" && CARGO_TARGET_DIR="$PWD/../../baseline-target" cargo build --release --locked --bin skill --bin stream >&2)
cp ".local/baseline-target/release/skill" ".local/baseline-target/release/stream" "$out/"
rm -rf "$src"
echo "$PWD/$out"
