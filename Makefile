# podshim: a CRI v1 runtime on containerd, runc and CNI.
#
#   make run    install what podshim needs (Debian packages), build, start
#               a containerd for podshim if none is reachable, and run
#               podshimd in the foreground
#   make test   every test: unit, integration (real containerd, runc, CNI),
#               the critest conformance suite and the kubelet end-to-end tests
#   make bench  the performance benchmark (not part of make test)

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := /usr/local/go/bin:$(PATH)

DEB_PACKAGES := containerd runc containernetworking-plugins iptables busybox-static

.PHONY: all build deps run test unit integration clean

all: build

build: $(BIN)/podshimd $(BIN)/pause

# Always handed to go build: its cache knows better than make what changed.
.PHONY: $(BIN)/podshimd $(BIN)/pause
$(BIN)/podshimd:
	$(GO) build -o $@ ./cmd/podshimd

$(BIN)/pause:
	CGO_ENABLED=0 $(GO) build -ldflags '-s -w' -o $@ ./cmd/pause

# deps installs the Debian packages podshim runs on, when one is missing.
deps:
	@missing=""; for p in $(DEB_PACKAGES); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
		echo "installing:$$missing"; \
		apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing; \
	fi

run: deps build
	./hack/run.sh

# unit: pure logic, no daemons (tests that need containerd, runc or CNI
# skip under -short and run in `integration`).
UNIT_PKGS := ./cri/... ./sandbox/... ./server/ ./cmd/podshimd/ ./critest/catalog/ ./critest/testimage/ ./bench/

# integration: real containerd, runc and CNI plugins. One package at a time:
# they share the host's cgroups, iptables and CNI state dir.
INTEGRATION_PKGS := ./network/ ./image/ ./cri/spec/ ./cmd/podshimd/integration/

unit:
	$(GO) test -short -count=1 $(UNIT_PKGS)

integration: deps build
	$(GO) test -count=1 -p 1 -timeout 25m $(INTEGRATION_PKGS)

test: unit integration critest kubelet-e2e

# The conformance harness, the kubelet end-to-end tests and the benchmark
# have their own make files.
-include critest/critest.mk kubelet/kubelet.mk bench/bench.mk

clean:
	rm -rf $(BIN)
