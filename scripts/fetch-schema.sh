#!/usr/bin/env bash
# `make schema`: makes sure the official Alexa message schema the tests validate against is
# there, looking where tests/support/schema.rs looks, in its order: ALEXA_SCHEMA_PATH (only there
# when set), ../shared/alexa/ beside the repository, the git-ignored cache .cache/alexa-schema/.
# Found: says where, changes nothing (a cached copy must have the pinned SHA-256, else it is
# deleted). Found nowhere: downloads the pinned copy into a temporary file, checks its SHA-256
# and only then moves it into the cache. ALEXA_SCHEMA_URL overrides the URL (a mirror, or
# file:///path/to/a/copy); the hash is checked all the same.
set -euo pipefail
cd "$(dirname "$0")/.."

name=alexa_smart_home_message_schema.json
# Pinned commit, hash and size: shared/alexa/README.md.
sha256_expected=8a3794fdaff83a9687c564a11d2a273d7b32a8eb644f4eb4736f18e62c4fddda
pinned_url=https://raw.githubusercontent.com/alexa-samples/alexa-smarthome/d592bcfa2576eefe8dc3d29efc33142f276698ad/validation_schemas/$name
url=${ALEXA_SCHEMA_URL:-$pinned_url}
shared=../shared/alexa/$name
cache_dir=.cache/alexa-schema
cache=$cache_dir/$name

sha256() {
  if command -v sha256sum >/dev/null; then sha256sum "$1"; else shasum -a 256 "$1"; fi | cut -d' ' -f1
}

how_to() {
  cat >&2 <<EOF
The tests validate every message the skill produces against this schema and cannot run without it.
Provide it in one of three ways:
  - make schema (ALEXA_SCHEMA_PATH unset) where $pinned_url
    can be reached, or with ALEXA_SCHEMA_URL set to a mirror or to file:///path/to/$name;
  - ALEXA_SCHEMA_PATH=/path/to/$name for make test and cargo test;
  - the shared/ folder beside this repository: $(cd .. && pwd)/shared/alexa/$name
EOF
}

if [ -n "${ALEXA_SCHEMA_PATH:-}" ]; then
  if [ -f "$ALEXA_SCHEMA_PATH" ]; then
    echo "schema: $ALEXA_SCHEMA_PATH (ALEXA_SCHEMA_PATH)" >&2
    exit 0
  fi
  echo "fetch-schema: ALEXA_SCHEMA_PATH is set to $ALEXA_SCHEMA_PATH, which does not exist;" \
    "when it is set, the tests look nowhere else." >&2
  how_to
  exit 1
fi
if [ -f "$shared" ]; then
  echo "schema: $shared" >&2
  exit 0
fi
if [ -f "$cache" ]; then
  if [ "$(sha256 "$cache")" = "$sha256_expected" ]; then
    echo "schema: $cache" >&2
    exit 0
  fi
  echo "fetch-schema: the cached $cache does not have the pinned SHA-256;" \
    "deleted it, fetching it again." >&2
  rm -f "$cache"
fi

mkdir -p "$cache_dir"
tmp=$(mktemp "$cache_dir/.download.XXXXXX")
trap 'rm -f "$tmp"' EXIT
echo "fetch-schema: downloading $url" >&2
if ! curl --fail --silent --show-error --location --connect-timeout 10 --max-time 60 \
  --output "$tmp" "$url"; then
  echo "fetch-schema: could not fetch the official Alexa message schema from $url" >&2
  how_to
  exit 1
fi
sha256_got=$(sha256 "$tmp")
if [ "$sha256_got" != "$sha256_expected" ]; then
  echo "fetch-schema: the download from $url has SHA-256 $sha256_got," \
    "not the pinned $sha256_expected; deleted it, nothing cached." >&2
  how_to
  exit 1
fi
mv -f "$tmp" "$cache"
echo "schema: $cache (downloaded, SHA-256 checked)" >&2
