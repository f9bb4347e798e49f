# mtciwf — every target works on a fresh machine with only Go installed.
GO       ?= go
BIN      := bin
PKI      := dev/pki
VERSION  ?= $(shell git describe --tags --always --dirty 2>/dev/null || echo dev)
COMMIT   ?= $(shell git rev-parse --short HEAD 2>/dev/null || echo dev)
LDFLAGS  := -X main.version=$(VERSION) -X main.commit=$(COMMIT)
FUZZTIME ?= 60s

.PHONY: all build pki run test test-short lint fmt-check vet staticcheck bench fuzz clean

all: build

build:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/...

pki: build
	$(BIN)/devpki -dir $(PKI)

# make run: build, make the throwaway dev PKI, start coresim (HSS + SMS-SC)
# and the daemon on its embedded defaults, connect the test SCS over mutual
# TLS, send one device trigger and show its DAA and delivery report, then
# stop the daemon with SIGTERM and show how it went down (scripts/run-demo.sh).
run: pki
	./scripts/run-demo.sh

# make test: the whole suite (lint included), with the race detector. Fuzz
# seed corpora under */testdata/fuzz run as ordinary tests here.
test: fmt-check vet staticcheck
	$(GO) test -race -count=1 -timeout 20m ./...

test-short:
	$(GO) test -count=1 ./...

lint: fmt-check vet staticcheck

fmt-check:
	@out="$$(gofmt -l $$(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))"; \
	if [ -n "$$out" ]; then echo "gofmt would change:"; echo "$$out"; exit 1; fi

vet:
	$(GO) vet ./...

# staticcheck is pinned as a tool in go.mod (go get -tool), so no separate install.
staticcheck:
	$(GO) tool staticcheck ./...

# make bench: build, then the end-to-end benchmark (cmd/benchrun): coresim, the
# daemon (bbolt on disk, fsync) and a bare go-diameter baseline, all on
# 127.0.0.1, driven by scs load; prints one table and writes BENCHMARKS.md.
# About 5 minutes (1,000,000 open triggers); BENCH_FLAGS=-quick for ~3.
bench: build
	$(GO) run ./cmd/benchrun -bin $(BIN) $(BENCH_FLAGS)

# make bench-go: the Go micro-benchmarks (go test -bench).
.PHONY: bench-go
bench-go:
	$(GO) test -run '^$$' -bench . -benchmem -count 1 ./...

# make fuzz: run every native fuzz target for FUZZTIME each (default 60s).
fuzz:
	@for pkg in $$($(GO) list ./...); do \
	  for t in $$($(GO) test -list '^Fuzz' $$pkg 2>/dev/null | grep '^Fuzz'); do \
	    echo "== $$pkg $$t"; $(GO) test -run '^$$' -fuzz "^$$t$$" -fuzztime $(FUZZTIME) $$pkg || exit 1; \
	  done; \
	done

clean:
	rm -rf $(BIN) dev

# make install [DESTDIR=/stage] [PREFIX=/usr/local]: the mtciwf, coresim, scs and devpki binaries
# into $(PREFIX)/bin, the example configs into /etc/mtciwf (an existing file is never overwritten;
# the new one is always written as *.example), the systemd unit and its sysusers.d user. Needs no
# root with DESTDIR set. See packaging/install.sh and README "Installing".
PREFIX ?= /usr/local
.PHONY: install
install:
	$(GO) build -ldflags "$(LDFLAGS)" -o $(BIN)/ ./cmd/mtciwf ./cmd/coresim ./cmd/scs ./cmd/devpki
	DESTDIR="$(DESTDIR)" PREFIX="$(PREFIX)" BIN="$(BIN)" sh packaging/install.sh
