# One command surface for people and CI. Every target installs what it needs first.
SHELL := /bin/bash
.DEFAULT_GOAL := help

HOST ?= 127.0.0.1
PORT ?= 8000
# make run's emulated AWS, for make forget, make redrive and aws --endpoint-url
EMULATOR_PORT ?= 8001
# none (open, like the dev stage) or jwt (the local JWT authorizer; tokens from `make token`)
AUTH ?= none
STAGE ?= dev
# make run FRESH=1 starts with an empty emulated table instead of the one kept in .local/emulator
FRESH ?=
# Extra CDK context, e.g. CDK_ARGS='-c authorization=iam -c snapStart=true'
CDK_ARGS ?=
UV_VERSION := 0.13.9

# Use uv from PATH when present; otherwise install a pinned copy into .tools/ (no sudo).
# cdk.json's app command calls uv too, so the bootstrapped copy goes on PATH for every recipe.
export PATH := $(CURDIR)/.tools/uv/bin:$(PATH)
UV := $(shell command -v uv 2>/dev/null)
ifeq ($(UV),)
UV := .tools/uv/bin/uv
endif
RUN := $(UV) run --frozen

# The Lambda asset (infra/asset.py), rebuilt when one of its inputs is newer than it.
# `-c bundleBoto3=true` in CDK_ARGS takes the variant that ships the lock's boto3.
WITH_BOTO3 := $(findstring bundleBoto3=true,$(CDK_ARGS))
ASSET := build/lambda$(if $(WITH_BOTO3),-with-boto3)
ASSET_INPUTS := uv.lock pyproject.toml infra/asset.py infra/asset_contents.py \
	infra/constructs/function.py \
	$(shell find handler.py donations schema resolvers -type f -not -path '*/__pycache__/*')

.PHONY: help run token test lint format bench fuzz load asset synth deploy destroy smoke redrive forget schema documents clean

help: ## List the commands
	@grep -E '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  make %-9s %s\n", $$1, $$2}'

.tools/uv/bin/uv:
	@echo "==> installing uv $(UV_VERSION) into .tools/uv"
	@python3 -m venv .tools/uv
	@.tools/uv/bin/pip install --quiet --disable-pip-version-check "uv==$(UV_VERSION)"

.venv/.synced: pyproject.toml uv.lock | $(UV)
	@echo "==> syncing Python dependencies (uv.lock)"
	@$(UV) sync --frozen --quiet
	@touch $@

node_modules/.installed: package.json package-lock.json
	@echo "==> installing Node tools (package-lock.json)"
	@npm ci --no-audit --no-fund --loglevel=error
	@touch $@

deps: .venv/.synced

# node_modules holds the GraphiQL scripts make run serves, so the page works offline.
run: .venv/.synced node_modules/.installed ## Serve the API and GraphiQL on http://127.0.0.1:8000/graphql (HOST=, PORT=, AUTH=jwt, FRESH=1)
	@HOST=$(HOST) PORT=$(PORT) EMULATOR_PORT=$(EMULATOR_PORT) AUTH=$(AUTH) FRESH=$(FRESH) $(RUN) python -m local.server

token: .venv/.synced ## Print a local bearer token: make token SCOPES="donations/write" or DONOR=donor-42
	@$(RUN) python -m local.token --host "$(HOST)" --port "$(PORT)" --scopes "$(SCOPES)" --donor "$(DONOR)"

test: .venv/.synced node_modules/.installed $(ASSET) ## Run every test (unit, integration, infra, e2e)
	@$(RUN) pytest

lint: .venv/.synced ## Format check, lint and strict type check
	@$(RUN) ruff format --check .
	@$(RUN) ruff check .
	@$(RUN) mypy

format: .venv/.synced ## Apply formatting and safe lint fixes
	@$(RUN) ruff format .
	@$(RUN) ruff check --fix .

schema: .venv/.synced ## Re-export schema/schema.graphql and Apollo's schema/possible-types.json
	@$(RUN) python -m schema schema/schema.graphql --possible-types schema/possible-types.json
	@echo "==> wrote schema/schema.graphql and schema/possible-types.json"

documents: .venv/.synced ## Build schema/trusted-documents.json from documents/ (.graphql, manifests)
	@$(RUN) python -m scripts.documents

bench: .venv/.synced $(ASSET) ## Measure warm overhead, cold start, round trips and asset size
	@$(RUN) python -m bench

fuzz: .venv/.synced ## Long property-based fuzzing run through the real handler
	@FUZZ_EXAMPLES=$${FUZZ_EXAMPLES:-2000} $(RUN) pytest tests/integration/test_fuzz.py -q -s

load: .venv/.synced ## 20 clients, 10,000 donations seeded, every count checked (AUTH=jwt too)
	@AUTH=$(AUTH) $(RUN) python -m scripts.load $(ARGS)

asset: $(ASSET) ## Build the Lambda asset (arm64 wheels, our code, bytecode) into build/

$(ASSET): $(ASSET_INPUTS) | .venv/.synced
	@echo "==> building the Lambda asset into $@/"
	@$(RUN) python -m infra.asset $(if $(WITH_BOTO3),--bundle-boto3) $@

synth: .venv/.synced node_modules/.installed $(ASSET) ## Synthesise the CDK app with the real CDK CLI
	@npx --no-install cdk synth --quiet -c stage=$(STAGE) $(CDK_ARGS)

deploy: .venv/.synced node_modules/.installed $(ASSET) ## Deploy the stack (STAGE=dev|prod) to your AWS account
	@npx --no-install cdk deploy -c stage=$(STAGE) $(CDK_ARGS) --require-approval broadening --outputs-file cdk.out/outputs-$(STAGE).json

destroy: .venv/.synced node_modules/.installed $(ASSET) ## Delete the stack (the table is kept outside dev)
	@npx --no-install cdk destroy -c stage=$(STAGE) $(CDK_ARGS)

smoke: .venv/.synced ## Check a live endpoint: make smoke URL=https://.../graphql [TOKEN=...]
	@test -n "$(URL)" || { echo "usage: make smoke URL=https://<api>/graphql [TOKEN=<writer token>]"; exit 2; }
	@SMOKE_TOKEN="$(TOKEN)" $(RUN) python -m scripts.smoke "$(URL)"

redrive: .venv/.synced ## Thank donors who crossed the threshold but were never thanked
	@EMULATOR_PORT=$(EMULATOR_PORT) $(RUN) python -m scripts.redrive $(ARGS)

forget: .venv/.synced ## Erase a donor: make forget DONOR=<id> (runbook in the README)
	@test -n "$(DONOR)" || { echo "usage: make forget DONOR=<donor id>"; exit 2; }
	@EMULATOR_PORT=$(EMULATOR_PORT) $(RUN) python -m scripts.forget "$(DONOR)"

clean: ## Remove build output and caches (keeps .venv)
	@rm -rf build cdk.out .pytest_cache .mypy_cache .ruff_cache .hypothesis bench/results
