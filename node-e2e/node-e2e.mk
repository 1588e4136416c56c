# node-e2e/node-e2e.mk: Kubernetes' own node conformance suite (test/e2e_node,
# focus [NodeConformance]), included by the top-level Makefile. See
# node-e2e/run.sh.
#
#   make node-e2e-bin   build kubelet, e2e_node.test, agnhost and the ginkgo
#                       CLI at KUBELET_VERSION (kubelet/kubelet.mk: one pin
#                       for all; ginkgo at the version its go.mod requires)
#   make node-e2e       run the suite against podshim (bin/podshimd on its own
#                       containerd); NODE_E2E_RUNTIME=containerd runs it
#                       against containerd's own CRI plugin
#                       (RUNTIME=containerd works too)
#   make node-e2e-subset  the same with only node-e2e/subset.txt's specs
#                       (test-stack runs it: see the top-level Makefile)
#
# FOCUS=<regex> runs only the matching specs; NODE_E2E_PROCS (default 4) is
# the number of ginkgo processes of the parallel pass. Each run prints
# "N passed, M failed, K skipped" last and fails when a spec failed.

NODE_E2E_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
NODE_E2E_RUNTIME ?= $(or $(RUNTIME),podshim)

.PHONY: node-e2e node-e2e-bin node-e2e-subset

node-e2e-bin:
	KUBELET_VERSION=$(KUBELET_VERSION) kubelet/build.sh kubelet e2e_node.test agnhost ginkgo >/dev/null

# `build` (bin/podshimd) comes from the top-level Makefile; critest-tools
# builds the crictl the harness waits for the runtime with.
node-e2e: node-e2e-bin critest-tools $(STACK_DEPS) $(if $(filter podshim,$(NODE_E2E_RUNTIME)),build)
	RUNTIME=$(NODE_E2E_RUNTIME) KUBELET_VERSION=$(KUBELET_VERSION) PODSHIMD=$(CURDIR)/bin/podshimd \
		flock /tmp/podshim-nodee2e.lock $(NODE_E2E_DIR)/run.sh

node-e2e-subset:
	$(MAKE) --no-print-directory node-e2e SUBSET=1
