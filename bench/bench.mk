# bench/bench.mk: podshim's benchmark targets, included by the top-level
# Makefile (which defines GO, BIN, deps and build).
#
#   make bench                      the micro-benchmarks, then podshim side by
#                                   side with containerd's CRI plugin (full
#                                   counts, < 30 minutes on a 2-core machine)
#   make bench BENCH_ARGS=-quick    the same with small counts (~2 minutes)
#   make bench-micro                only the go test -bench micro-benchmarks
#
# Results: bench/_results/<timestamp>/result.{md,json} and the daemons' logs.
# See bench/README.md for what is measured and how.

BENCH_ARGS ?=
# Packages with performance-sensitive paths and their Benchmark functions
# (spec generation, log writer, store lookups, poll calls through gRPC,
# cold pull against a private containerd).
BENCH_MICRO_PKGS ?= ./cri/... ./image/ ./server/

.PHONY: bench bench-micro bench-compare

bench: bench-micro bench-compare

bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem $(BENCH_MICRO_PKGS)

bench-compare: deps build
	$(GO) build -o $(BIN)/podshim-bench ./bench
	$(BIN)/podshim-bench -podshimd $(BIN)/podshimd -pause $(BIN)/pause $(BENCH_ARGS)
