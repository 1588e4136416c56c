# critest/critest.mk: the CRI conformance harness (critest, cri-tools),
# included by the top-level Makefile. See critest/README.md.
#
#   make critest-tools       build crictl and critest once per cri-tools version
#   make critest             run the suite against podshim (builds bin/podshimd first)
#   make critest-containerd  run the same harness against containerd's own CRI plugin
#
# FOCUS=<regex> runs only the matching specs. Each run prints
# "N passed, M failed, K skipped" last and fails when a spec failed.

CRITEST_DIR := $(patsubst %/,%,$(dir $(lastword $(MAKEFILE_LIST))))
CRITEST_VERSION := $(shell awk '$$1 == "require" && $$2 == "sigs.k8s.io/cri-tools" { print $$3 }' $(CRITEST_DIR)/tools/go.mod)
CRITEST_TOOLS := $(CRITEST_DIR)/_tools/$(CRITEST_VERSION)

.PHONY: critest critest-containerd critest-tools

critest-tools: $(CRITEST_TOOLS)/.version

$(CRITEST_TOOLS)/.version: $(CRITEST_DIR)/tools/go.mod $(CRITEST_DIR)/tools/go.sum
	$(CRITEST_DIR)/tools/build.sh $(CRITEST_TOOLS)

# `build` (bin/podshimd) comes from the top-level Makefile.
critest: critest-tools build $(STACK_DEPS)
	RUNTIME=podshim PODSHIMD=$(CURDIR)/bin/podshimd $(CRITEST_DIR)/run.sh

critest-containerd: critest-tools $(STACK_DEPS)
	RUNTIME=containerd $(CRITEST_DIR)/run.sh
