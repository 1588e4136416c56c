# kubelet.mk: the kubelet end-to-end tests (issue 4), included by the main
# Makefile.
#
#   make kubelet-bin   build kubelet from the Kubernetes module, once per
#                      version (cached in kubelet/_bin/<version>/kubelet)
#   make kubelet-e2e   run the scenarios with a real standalone kubelet on
#                      KUBELET_E2E_RUNTIME: podshim (bin/podshimd on a private
#                      containerd, the default) or containerd (containerd's own
#                      CRI plugin, which proves the harness itself)

KUBELET_VERSION ?= v1.34.4
# The kubelet versions `make test` runs the scenarios with, per stack
# (kubelet-e2e-all): the oldest supported one on both, the newest on the
# current stack, which catches what newer kubelets ask of the CRI.
KUBELET_VERSIONS_debian := v1.34.4
KUBELET_VERSIONS_current := v1.34.4 v1.36.3
KUBELET_BINARY := $(CURDIR)/kubelet/_bin/$(KUBELET_VERSION)/kubelet
KUBELET_E2E_RUNTIME ?= podshim
KUBELET_E2E_PODSHIMD ?= $(CURDIR)/bin/podshimd
KUBELET_E2E_FLAGS ?= -v
GO ?= go

.PHONY: kubelet-bin kubelet-e2e kubelet-e2e-all

kubelet-bin:
	KUBELET_VERSION=$(KUBELET_VERSION) kubelet/build.sh >/dev/null

# The tests carry the build tag kubelet_e2e, which keeps them out of a plain
# `go test ./...`; here they run, and fail (never skip) when kubelet or the
# runtime is missing.
kubelet-e2e: kubelet-bin $(STACK_DEPS) $(if $(filter podshim,$(KUBELET_E2E_RUNTIME)),$(KUBELET_E2E_PODSHIMD))
	RUNTIME=$(KUBELET_E2E_RUNTIME) KUBELET_BIN=$(KUBELET_BINARY) PODSHIMD_BIN=$(KUBELET_E2E_PODSHIMD) \
		$(GO) test -tags kubelet_e2e -count=1 -timeout 20m $(KUBELET_E2E_FLAGS) ./kubelet/e2e/

# kubelet-e2e-all runs the scenarios with each kubelet version of the stack.
kubelet-e2e-all:
	@for v in $(KUBELET_VERSIONS_$(STACK)); do \
		echo "== kubelet $$v on the $(STACK) stack"; \
		$(MAKE) --no-print-directory kubelet-e2e KUBELET_VERSION=$$v || exit 1; \
	done
