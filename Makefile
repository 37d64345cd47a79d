# itsm-connector — every developer and CI task. Needs only Go; tools are
# pinned in go.mod and run with `go tool`.

GO        ?= go
BIN       := bin
PLUGINS   := file servicenow jira rest
VERSION   ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
LDFLAGS   := -s -w -X main.version=$(VERSION)
CONFIG    ?= examples/quickstart/connector.hcl
FUZZTIME  ?= 50000x

.PHONY: all build plugins run test test-short lint fmt proto check-proto fuzz bench clean

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

## test: the whole suite (race detector on), the example plugin's own module
test:
	$(GO) test -race -count=1 ./...
	cd examples/plugin-hello && $(GO) vet ./... && $(GO) test -count=1 ./...

test-short:
	$(GO) test -short ./...

## lint: formatting, go.mod tidiness, vet and staticcheck
lint:
	@$(GO) mod tidy -diff >/dev/null || (echo "go.mod/go.sum are not tidy: run go mod tidy and commit"; $(GO) mod tidy -diff; exit 1)
	@out=$$(gofmt -l $$(git ls-files '*.go')); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	$(GO) vet ./...
	$(GO) tool staticcheck ./...

fmt:
	gofmt -w $$(git ls-files '*.go')

## proto: regenerate the plugin protocol's Go code from sdk/proto
proto:
	$(GO) tool buf generate

## check-proto: fail when the checked-in generated code is stale
check-proto: proto
	@test -z "$$(git status --porcelain -- sdk/internal)" || (git status --short -- sdk/internal; echo "generated protobuf code is stale: run make proto and commit"; exit 1)

## fuzz: a short run of every fuzz target. FUZZTIME is an execution count,
## not a duration: a duration races Go 1.26's fuzz coordinator at its deadline
## (Go issue 75804, fixed in 1.27) and can fail a run that found nothing.
fuzz:
	$(GO) test -run='^$$' -fuzz=FuzzVerify -fuzztime=$(FUZZTIME) ./host/entra
	$(GO) test -run='^$$' -fuzz=FuzzDecode -fuzztime=$(FUZZTIME) ./host/commonschema

## bench: the benchmarks recorded in docs/benchmarks.md
bench:
	$(GO) test -run='^$$' -bench=. -benchmem ./...

clean:
	rm -rf $(BIN)
