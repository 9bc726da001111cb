#!/usr/bin/env bash
# Builds the skill, stream, shadow bridge and reconcile Lambdas as deployment zips (release profile, cargo-lambda) and
# prints their sizes: package size is what the upload limit and cold starts care about.
#   scripts/package-size.sh [arm64|x86_64 ...] [-- CARGO_LAMBDA_BUILD_FLAGS...]
# Default: both architectures. Try a profile variant without editing Cargo.toml, and keep
# the build apart from target/:
#   CARGO_TARGET_DIR=/tmp/sizes-target CARGO_PROFILE_RELEASE_LTO=fat scripts/package-size.sh arm64
# cargo-lambda adds `--config profile.release.panic="abort"` (and strip/lto/codegen-units
# when Cargo.toml leaves them unset) plus a target-cpu (arm64: neoverse-n1, x86_64: haswell).
# --config beats CARGO_PROFILE_RELEASE_* variables, so the deployed build is panic=abort and
# CARGO_PROFILE_RELEASE_PANIC has no effect; to build with unwinding:
#   RUSTFLAGS="-C target-cpu=neoverse-n1" scripts/package-size.sh arm64 -- --disable-optimizations
set -euo pipefail
cd "$(dirname "$0")/.."

CARGO_LAMBDA_VERSION=1.9.2
BINS=(skill stream bridge reconcile)
ARCHS=()
while [ $# -gt 0 ] && [ "$1" != -- ]; do ARCHS+=("$1"); shift; done
if [ $# -gt 0 ]; then shift; fi # the --
EXTRA_FLAGS=("$@")
[ ${#ARCHS[@]} -gt 0 ] || ARCHS=(arm64 x86_64)

# Check the arguments before installing or building anything.
for arch in "${ARCHS[@]}"; do
  case "$arch" in
    arm64 | x86_64) ;;
    *) echo "usage: $0 [arm64|x86_64 ...] [-- CARGO_LAMBDA_BUILD_FLAGS...]" >&2; exit 2 ;;
  esac
done

# cargo-lambda is a binary wheel on PyPI and brings zig, which links the arm64 build;
# it goes into the project's .venv unless one is already on PATH.
if ! command -v cargo-lambda >/dev/null; then
  [ -x .venv/bin/python ] || python3 -m venv .venv
  [ -x .venv/bin/cargo-lambda ] ||
    .venv/bin/pip install --quiet --disable-pip-version-check "cargo-lambda==$CARGO_LAMBDA_VERSION"
  export PATH="$PWD/.venv/bin:$PATH"
fi

# The arm64 build needs the Rust standard library for that target.
if [[ " ${ARCHS[*]} " == *" arm64 "* ]] &&
  ! rustup target list --installed | grep -qx aarch64-unknown-linux-gnu; then
  rustup target add aarch64-unknown-linux-gnu
fi

# Honours CARGO_TARGET_DIR; one output directory per architecture, because cargo-lambda
# writes <dir>/<bin>/bootstrap.zip and the second build would overwrite the first.
TARGET_DIR=$(cargo metadata --format-version 1 --no-deps |
  python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')
OUT="$TARGET_DIR/lambda-size"

BIN_ARGS=()
for bin in "${BINS[@]}"; do BIN_ARGS+=(--bin "$bin"); done

# Say which profile overrides were in effect, so the numbers can be told apart.
overrides=$(env | grep -E '^(CARGO_PROFILE_RELEASE_|RUSTFLAGS=)' | sort | tr '\n' ' ' || true)
echo "release profile from Cargo.toml; overrides: ${overrides:-none}; extra flags: ${EXTRA_FLAGS[*]:-none}" >&2

for arch in "${ARCHS[@]}"; do
  case "$arch" in arm64) flag=--arm64 ;; x86_64) flag=--x86-64 ;; esac
  # A failed build must not leave an older zip behind to be measured.
  rm -rf "${OUT:?}/$arch"
  start=$SECONDS
  cargo lambda build --release "$flag" --output-format zip --lambda-dir "$OUT/$arch" \
    "${BIN_ARGS[@]}" ${EXTRA_FLAGS[@]+"${EXTRA_FLAGS[@]}"}
  echo "$arch: built in $((SECONDS - start)) s" >&2
done

printf '%-8s %-8s %12s %9s %16s\n' binary arch "zip bytes" "zip MiB" "bootstrap bytes"
for bin in "${BINS[@]}"; do
  for arch in "${ARCHS[@]}"; do
    zip="$OUT/$arch/$bin/bootstrap.zip"
    [ -f "$zip" ] || { echo "missing $zip" >&2; exit 1; }
    zip_bytes=$(wc -c <"$zip")
    # The size Lambda unpacks (and that counts against the 250 MB unzipped limit).
    raw_bytes=$(python3 -c 'import sys, zipfile; print(zipfile.ZipFile(sys.argv[1]).getinfo("bootstrap").file_size)' "$zip")
    printf '%-8s %-8s %12d %9.2f %16d\n' "$bin" "$arch" "$zip_bytes" \
      "$(awk -v b="$zip_bytes" 'BEGIN { printf "%.2f", b / 1048576 }')" "$raw_bytes"
  done
done
