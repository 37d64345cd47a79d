# itsm-connector — every developer and CI task. Needs only Go; tools are
# pinned in go.mod and run with `go tool`.

GO        ?= go
BIN       := bin
PLUGINS   := file servicenow jira rest
# The connector's releases are the v* tags; the SDK's are sdk/v* (its own
# module), which must never name a host build.
VERSION   ?= $(shell git describe --tags --match 'v[0-9]*' --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
CONFIG    ?= examples/quickstart/connector.hcl
FUZZTIME  ?= 50000x
# The Go modules checked and tested: the host (the repository's root), the
# plugin SDK (sdk/, released on its own with sdk/vX.Y.Z tags) and the example
# plugin, which depends on the SDK alone. A module's `./...` never descends
# into another module, so every target loops over them. The frozen old SDK
# under host/pluginhost/testdata is built by its test, never changed.
MODULES   := . sdk examples/plugin-hello

.PHONY: all build plugins run test test-short lint fmt proto check-proto check-breaking fuzz bench clean \
	static image-context image print-image-builder release

# Container image and release archives (docs/operations.md, "Containers and
# Kubernetes" and "Release artifacts"). Output goes under dist/.
DIST           := dist
RELEASE_TOOL   := $(DIST)/.tools/release
RELEASE_ARCHES := amd64 arm64
IMAGE          ?= itsm-connector:$(VERSION)
IMAGE_ARCH     ?= $(shell $(GO) env GOARCH)
# The first builder that works: podman, buildah, or docker with a running engine.
IMAGE_BUILDER  ?= $(shell if command -v podman >/dev/null 2>&1; then echo podman; \
	elif command -v buildah >/dev/null 2>&1; then echo buildah; \
	elif command -v docker >/dev/null 2>&1 && docker info >/dev/null 2>&1; then echo docker; fi)
export SOURCE_DATE_EPOCH ?= $(shell git log -1 --format=%ct 2>/dev/null || echo 0)

all: build

## build: the host binary and every plugin into ./bin
build: plugins
	$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/itsm-connector ./cmd/itsm-connector

plugins:
	@mkdir -p $(BIN)/plugins
	@for p in $(PLUGINS); do \
		if [ -f plugins/$$p/main.go ]; then \
			$(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(BIN)/plugins/itsm-connector-plugin-$$p ./plugins/$$p || exit 1; \
		fi; \
	done

## run: start the connector in dev mode with the quickstart config
run: build
	./$(BIN)/itsm-connector serve -dev -config $(CONFIG)

## test: the whole suite of every module (race detector on)
test:
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && $(GO) test -race -count=1 ./...); done

test-short:
	@set -e; for m in $(MODULES); do echo "== $$m"; (cd $$m && $(GO) test -short ./...); done

## lint: formatting, and in every module go.mod tidiness, vet and staticcheck
## (staticcheck is pinned in the root go.mod and run in each module)
lint:
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@set -e; staticcheck=$$($(GO) tool -n staticcheck); for m in $(MODULES); do \
		echo "== $$m"; \
		(cd $$m && ($(GO) mod tidy -diff >/dev/null || (echo "$$m: go.mod/go.sum are not tidy: run go mod tidy there and commit"; $(GO) mod tidy -diff; exit 1)) && \
			$(GO) vet ./... && $$staticcheck ./...); \
	done

fmt:
	gofmt -w $$(git ls-files '*.go')

## proto: regenerate the plugin protocol's Go code from sdk/proto
proto:
	$(GO) tool buf generate

## check-proto: fail when the checked-in generated code is stale, or does not
## build in the SDK module on its own (the generators are the root module's
## tools; the code must build with the SDK's own protobuf and grpc versions)
check-proto: proto
	@test -z "$$(git status --porcelain -- sdk/internal)" || (git status --short -- sdk/internal; echo "generated protobuf code is stale: run make proto and commit"; exit 1)
	cd sdk && $(GO) build ./...

## check-breaking: fail when sdk/proto breaks the last released protocol,
## kept in sdk/proto-released (refreshing it at a release: its README.md)
check-breaking:
	$(GO) tool buf breaking sdk/proto --against sdk/proto-released

## fuzz: a short run of every fuzz target. FUZZTIME is an execution count,
## not a duration: a duration races Go 1.26's fuzz coordinator at its deadline
## (Go issue 75804, fixed in 1.27) and can fail a run that found nothing.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzVerify -fuzztime=$(FUZZTIME) ./host/entra
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./host/commonschema

## bench: the benchmarks recorded in docs/benchmarks.md
bench:
	@set -e; for m in . sdk; do (cd $$m && $(GO) test -run='^$$' -bench=. -benchmem ./...); done

clean:
	rm -rf $(BIN) $(DIST)

# static: linux binaries without cgo (the SQLite driver is pure Go) for
# STATIC_ARCH: the host into STATIC_DIR, the plugins into STATIC_DIR/plugins.
static:
	@test -n "$(STATIC_DIR)" && test -n "$(STATIC_ARCH)" || (echo "usage: make static STATIC_ARCH=amd64 STATIC_DIR=dir"; exit 1)
	@mkdir -p $(STATIC_DIR)/plugins
	CGO_ENABLED=0 GOOS=linux GOARCH=$(STATIC_ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(STATIC_DIR)/itsm-connector ./cmd/itsm-connector
	@for p in $(PLUGINS); do \
		echo "CGO_ENABLED=0 GOOS=linux GOARCH=$(STATIC_ARCH) $(GO) build … -o $(STATIC_DIR)/plugins/itsm-connector-plugin-$$p ./plugins/$$p"; \
		CGO_ENABLED=0 GOOS=linux GOARCH=$(STATIC_ARCH) $(GO) build -trimpath -ldflags '$(LDFLAGS)' -o $(STATIC_DIR)/plugins/itsm-connector-plugin-$$p ./plugins/$$p || exit 1; \
	done

$(RELEASE_TOOL): FORCE
	@mkdir -p $(dir $@)
	$(GO) build -o $@ ./internal/tools/release

## image-context: the container image's build context in dist/image (no builder needed)
image-context: $(RELEASE_TOOL)
	@rm -rf $(DIST)/image
	$(MAKE) --no-print-directory static VERSION=$(VERSION) STATIC_ARCH=$(IMAGE_ARCH) STATIC_DIR=$(DIST)/image/bin
	$(RELEASE_TOOL) image-context -bin $(DIST)/image/bin -template deploy/image/connector.hcl.tmpl -o $(DIST)/image/context

## image: the container image $(IMAGE) from Containerfile, with podman, buildah or docker
image: image-context
	@test -n "$(IMAGE_BUILDER)" || (echo "no image builder: install podman or buildah, or start docker's engine"; exit 1)
	$(IMAGE_BUILDER) build --build-arg VERSION=$(VERSION) -f Containerfile -t $(IMAGE) $(DIST)/image/context
	@echo "plugin blocks of $(IMAGE) (linux/$(IMAGE_ARCH)):"
	@$(RELEASE_TOOL) pins $(DIST)/image/bin/plugins

print-image-builder:
	@echo $(IMAGE_BUILDER)

## release: versioned tar.gz archives for linux/amd64 and linux/arm64, SBOMs and SHA256SUMS in dist/release
release: $(RELEASE_TOOL)
	@rm -rf $(DIST)/release
	@set -e; for a in $(RELEASE_ARCHES); do \
		name=itsm-connector_$(VERSION)_linux_$$a; dir=$(DIST)/release/stage/$$name; \
		$(MAKE) --no-print-directory static VERSION=$(VERSION) STATIC_ARCH=$$a STATIC_DIR=$$dir; \
		mkdir -p $$dir/docs $$dir/examples; \
		cp README.md connector.hcl.example $$dir/; \
		cp docs/*.md $$dir/docs/; \
		cp -R examples/deploy examples/grafana examples/prometheus $$dir/examples/; \
		$(RELEASE_TOOL) sbom -o $(DIST)/release/$$name.cdx.json -version $(VERSION) $$dir/itsm-connector $$dir/plugins/*; \
		$(RELEASE_TOOL) archive -o $(DIST)/release/$$name.tar.gz -prefix $$name $$dir; \
	done
	cd $(DIST)/release && ../../$(RELEASE_TOOL) sums -o SHA256SUMS *.tar.gz *.cdx.json
	@for a in $(RELEASE_ARCHES); do \
		echo; echo "linux/$$a plugin blocks:"; \
		$(RELEASE_TOOL) pins $(DIST)/release/stage/itsm-connector_$(VERSION)_linux_$$a/plugins; \
	done
	@echo; ls -l $(DIST)/release

FORCE:
