# podshim: a CRI v1 runtime on containerd, runc and CNI.
#
#   make run    install what podshim needs (Debian packages), build, start
#               a containerd for podshim if none is reachable, and run
#               podshimd in the foreground
#   make test   every test: unit, integration (real containerd, runc, CNI),
#               the critest conformance suite and the kubelet end-to-end tests
#   make bench  the performance benchmark (not part of make test)
#   make install  podshimd, pause and crictl into /usr/local/bin, the systemd
#               unit podshim.service, and (where none exists) the default
#               /etc/podshim/config.toml and an /etc/crictl.yaml for podshim's
#               socket; PREFIX, BINDIR, SYSCONFDIR, SYSTEMD_UNIT_DIR and
#               DESTDIR are honoured
#
# STACK=debian (default) runs on Debian's containerd and runc; STACK=current
# on containerd and runc built from their Go modules at the versions in
# stack/versions.env (stack/build.sh, cached in stack/_bin/). `make test`
# runs the integration tests, critest and the kubelet tests on both.

SHELL := /bin/bash
GO ?= go
BIN := $(CURDIR)/bin
export PATH := /usr/local/go/bin:$(PATH)

DEB_PACKAGES := containerd runc containernetworking-plugins iptables busybox-static libseccomp-dev systemd crun

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

.PHONY: all build deps stack run test test-stack unit integration chaos soak clean install uninstall

all: build

build: $(BIN)/podshimd $(BIN)/pause

# podshimd --version reports the commit it was built from ("-dirty" when
# the work tree had changes); a plain go build says "unknown".
GIT_COMMIT := $(shell c=$$(git rev-parse --short=12 HEAD 2>/dev/null) && { git diff --quiet HEAD 2>/dev/null || c=$$c-dirty; echo $$c; } || echo unknown)
PODSHIMD_LDFLAGS := -X github.com/podshim/podshim/version.Commit=$(GIT_COMMIT)

# Always handed to go build: its cache knows better than make what changed.
.PHONY: $(BIN)/podshimd $(BIN)/pause
$(BIN)/podshimd:
	$(GO) build -ldflags '$(PODSHIMD_LDFLAGS)' -o $@ ./cmd/podshimd

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
UNIT_PKGS := ./cri/... ./sandbox/... ./server/ ./cmd/podshimd/ ./validate/ ./internal/... ./features/ ./userns/
UNIT_PKGS += ./metrics/ ./tracing/... ./instance/ ./selfcheck/ ./checkpoint/ ./listpage/ ./podresources/ ./podmetrics/
UNIT_PKGS += ./faultpoint/ ./bench/
UNIT_PKGS += ./soak/
UNIT_PKGS += ./critest/catalog/ ./critest/testimage/ ./critest/containerdconf/
UNIT_PKGS += ./node-e2e/images/ ./node-e2e/helpers/curl/ ./node-e2e/helpers/nc/ ./node-e2e/helpers/nmeter/
UNIT_PKGS += ./runtimes/ ./shimgroup/

# integration: real containerd, runc and CNI plugins. One package at a time:
# they share the host's cgroups, iptables and CNI state dir.
INTEGRATION_PKGS := ./network/ ./image/ ./cri/spec/ ./cmd/podshimd/integration/ ./selfcheck/ ./deploy/

# The unit tests run with the race detector. First: every package with
# tests is in UNIT_PKGS or INTEGRATION_PKGS (the kubelet e2e tests have
# their own target), or its tests would never run in make test.
unit:
	@missing=$$($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' $(UNIT_PKGS) $(INTEGRATION_PKGS) | sort -u | \
		comm -13 - <($(GO) list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{end}}' ./... | sort -u)); \
	if [ -n "$$missing" ]; then echo "packages with tests in neither UNIT_PKGS nor INTEGRATION_PKGS: $$missing" >&2; exit 1; fi
	$(GO) test -race -short -count=1 $(UNIT_PKGS)

# RACE=1 builds the podshimd the integration suite runs with -race; the
# suite fails when it reports a data race.
RACE ?= 0
# TestSoak (3 minutes of churn) runs on the current stack only, without
# the race detector, whose memory figures mean little.
ifeq ($(STACK),current)
INTEGRATION_SKIP :=
else
INTEGRATION_SKIP := -skip '^TestSoak$$'
endif
integration: deps build $(STACK_DEPS)
	PODSHIM_RACE=$(RACE) $(GO) test -count=1 -p 1 -timeout 30m $(INTEGRATION_SKIP) $(INTEGRATION_PKGS)

# chaos: CHAOS_N (default 200) SIGKILLs of podshimd at random moments of
# concurrent pod churn, each followed by a restart and the removal of
# everything listed; the leftovers per kind must all be zero (TestChaos,
# which `integration` runs with a handful of kills). Not part of make test.
CHAOS_N ?= 200
chaos: deps build $(STACK_DEPS)
	PODSHIM_CHAOS_KILLS=$(CHAOS_N) $(GO) test -count=1 -p 1 -timeout 120m -v -run '^TestChaos$$' ./cmd/podshimd/integration/

# soak: SOAK_DURATION (default 30m) of kubelet-like pod churn against one
# podshimd (TestSoak, which `integration` runs for 3 minutes on the current
# stack). It logs a table of podshimd's RSS, heap, goroutines and open fds
# with each one's least-squares slope per hour and writes it, with the
# samples as CSV, to soak/_results/; goroutines, fds and the heap after a
# GC must come back to their baseline and no host object may be left.
SOAK_DURATION ?= 30m
soak: deps build $(STACK_DEPS)
	PODSHIM_SOAK_DURATION=$(SOAK_DURATION) $(GO) test -count=1 -p 1 -timeout 0 -v -run '^TestSoak$$' ./cmd/podshimd/integration/

# test runs everything on Debian's stack (its integration suite against a
# -race podshimd), then on the current one.
test: unit
	$(MAKE) STACK=debian RACE=1 test-stack
	$(MAKE) STACK=current test-stack

# test-stack: what runs on each stack. node-e2e-subset: Kubernetes' node
# conformance specs of node-e2e/subset.txt (node-e2e/node-e2e.mk).
test-stack: integration critest kubelet-e2e-all node-e2e-subset

# The conformance harness, the kubelet end-to-end tests and the benchmark
# have their own make files.
-include critest/critest.mk kubelet/kubelet.mk bench/bench.mk node-e2e/node-e2e.mk

# install: see the top of this file. Existing config files are kept, and
# crictl.yaml points at the listen address of the installed config.
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
SYSCONFDIR ?= /etc
SYSTEMD_UNIT_DIR ?= $(PREFIX)/lib/systemd/system
DESTDIR ?=

install: build critest-tools
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SYSTEMD_UNIT_DIR) $(DESTDIR)$(SYSCONFDIR)/podshim
	install -m 0755 $(BIN)/podshimd $(BIN)/pause $(CRITEST_TOOLS)/crictl $(DESTDIR)$(BINDIR)/
	sed -e 's#/usr/local/bin/#$(BINDIR)/#g' -e 's#/etc/podshim/#$(SYSCONFDIR)/podshim/#g' \
		deploy/systemd/podshim.service >$(DESTDIR)$(SYSTEMD_UNIT_DIR)/podshim.service.tmp
	chmod 0644 $(DESTDIR)$(SYSTEMD_UNIT_DIR)/podshim.service.tmp
	mv $(DESTDIR)$(SYSTEMD_UNIT_DIR)/podshim.service.tmp $(DESTDIR)$(SYSTEMD_UNIT_DIR)/podshim.service
	@cfg=$(DESTDIR)$(SYSCONFDIR)/podshim/config.toml; \
	if [ -e "$$cfg" ]; then echo "kept $$cfg"; \
	else $(BIN)/podshimd config default >"$$cfg.tmp" && mv "$$cfg.tmp" "$$cfg" && echo "wrote $$cfg"; fi
	@yaml=$(DESTDIR)$(SYSCONFDIR)/crictl.yaml; \
	if [ -e "$$yaml" ]; then echo "kept $$yaml"; \
	else \
		listen=$$($(BIN)/podshimd config dump --config $(DESTDIR)$(SYSCONFDIR)/podshim/config.toml | awk -F"'" '/^listen = /{ print $$2 }'); \
		[ -n "$$listen" ] || { echo "no listen address in $(DESTDIR)$(SYSCONFDIR)/podshim/config.toml" >&2; exit 1; }; \
		case "$$listen" in unix://*) ;; *) listen="unix://$$listen" ;; esac; \
		printf 'runtime-endpoint: %s\nimage-endpoint: %s\ntimeout: 10\n' "$$listen" "$$listen" >"$$yaml.tmp" && mv "$$yaml.tmp" "$$yaml" && \
		echo "wrote $$yaml (crictl talks to $$listen)"; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# uninstall removes what install put in place except the config files.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/podshimd $(DESTDIR)$(BINDIR)/pause $(DESTDIR)$(BINDIR)/crictl \
		$(DESTDIR)$(SYSTEMD_UNIT_DIR)/podshim.service
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

clean:
	rm -rf $(BIN)
