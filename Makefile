# podshim: a CRI v1 runtime on containerd, runc and CNI.
#
#   make run    install what podshim needs (Debian packages), build, start
#               a containerd for podshim if none is reachable, and run
#               podshimd in the foreground
#   make test   every test: unit, integration (real containerd, runc, CNI),
#               the critest conformance suite and the kubelet end-to-end tests
#   make bench  the performance benchmark (not part of make test)
#
# STACK=debian (default) runs on Debian's containerd and runc; STACK=current
# on containerd and runc built from their Go modules at the versions in
# stack/versions.env (stack/build.sh, cached in stack/_bin/). `make test`
# runs the integration tests, critest and the kubelet tests on both.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := /usr/local/go/bin:$(PATH)

DEB_PACKAGES := containerd runc containernetworking-plugins iptables busybox-static libseccomp-dev

include stack/versions.env
STACK ?= debian
STACK_BIN := $(CURDIR)/stack/_bin/containerd-$(CONTAINERD_VERSION)_runc-$(RUNC_VERSION)
ifeq ($(STACK),current)
# containerd finds its shim, and the shim finds runc, on PATH.
export PATH := $(STACK_BIN):$(PATH)
STACK_DEPS := stack
else ifneq ($(STACK),debian)
$(error STACK must be debian or current, not $(STACK))
endif
export STACK

.PHONY: all build deps stack run test test-stack unit integration clean

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

# stack builds the current stack's containerd, shim, ctr and runc once.
stack: deps
	stack/build.sh >/dev/null

run: deps build $(STACK_DEPS)
	./hack/run.sh

# unit: pure logic, no daemons (tests that need containerd, runc or CNI
# skip under -short and run in `integration`).
UNIT_PKGS := ./cri/... ./sandbox/... ./server/ ./cmd/podshimd/ ./critest/catalog/ ./critest/testimage/ ./bench/ ./node-e2e/images/ ./node-e2e/helpers/curl/

# integration: real containerd, runc and CNI plugins. One package at a time:
# they share the host's cgroups, iptables and CNI state dir.
INTEGRATION_PKGS := ./network/ ./image/ ./cri/spec/ ./cmd/podshimd/integration/

unit:
	$(GO) test -short -count=1 $(UNIT_PKGS)

integration: deps build $(STACK_DEPS)
	$(GO) test -count=1 -p 1 -timeout 25m $(INTEGRATION_PKGS)

# test runs everything on Debian's stack, then on the current one.
test: unit
	$(MAKE) STACK=debian test-stack
	$(MAKE) STACK=current test-stack

# test-stack: what runs on each stack.
test-stack: integration critest kubelet-e2e-all

# The conformance harness, the kubelet end-to-end tests and the benchmark
# have their own make files.
-include critest/critest.mk kubelet/kubelet.mk bench/bench.mk node-e2e/node-e2e.mk

clean:
	rm -rf $(BIN)
