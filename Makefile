# Common tasks. `make test` is what CI runs (through .ci/run).
GO ?= go
BIN ?= bin

.PHONY: build test demo generate check-generated tools bench fmt vet fuzz release-check

build:
	$(GO) build -trimpath -o $(BIN)/alicloud-image-family ./cmd/alicloud-image-family
	$(GO) build -trimpath -o $(BIN)/packer-plugin-alicloud-image-family ./cmd/packer-plugin-alicloud-image-family

test:
	bash scripts/test.sh

demo:
	$(GO) run ./cmd/alicloud-image-family demo

generate:
	$(GO) generate ./...

check-generated:
	bash scripts/check-generated.sh

tools:
	bash scripts/tools.sh

bench:
	bash scripts/bench.sh

fmt:
	gofmt -w $$(git ls-files '*.go')

vet:
	$(GO) vet ./...
	cd bench && $(GO) vet ./...

fuzz:
	bash scripts/fuzz.sh

release-check:
	bash scripts/release-check.sh
