#!/usr/bin/env bash
# `make docs`: the book (docs/, mdBook) into target/book, and the API docs (rustdoc) into
# target/doc with every warning an error (broken intra-doc links among them). mdBook and its
# Mermaid preprocessor are installed from crates.io at the versions below when missing or
# other (a few minutes on two cores the first time).
set -euo pipefail
cd "$(dirname "$0")/.."
MDBOOK=0.5.4
MDBOOK_MERMAID=0.17.1
version_of() { "$1" --version 2>/dev/null | awk '{print $NF}' | sed 's/^v//'; }
if [ "$(version_of mdbook)" != "$MDBOOK" ]; then
  cargo install --locked --quiet "mdbook@$MDBOOK"
fi
if [ "$(version_of mdbook-mermaid)" != "$MDBOOK_MERMAID" ]; then
  cargo install --locked --quiet "mdbook-mermaid@$MDBOOK_MERMAID"
fi
# Writes mermaid.min.js and mermaid-init.js into docs/ (git-ignored); book.toml already names them.
RUST_LOG=warn mdbook-mermaid install docs >/dev/null
mdbook build docs
echo "the book: target/book/index.html" >&2
RUSTDOCFLAGS="-D warnings" cargo doc --no-deps --workspace --locked
echo "the API docs: target/doc/alexa_smart_home/index.html" >&2
