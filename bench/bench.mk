# bench/bench.mk: podshim's benchmark targets, included by the top-level
# Makefile (which defines GO, BIN, deps and build).
#
#   make bench                      the micro-benchmarks, then podshim side by
#                                   side with containerd's CRI plugin on the
#                                   current stack (containerd v2.4.2, the
#                                   anchor) and on Debian's (1.6.20)
#   make bench BENCH_ARGS=-quick    the same with small counts
#   make bench BENCH_ARGS="-variant 'density=--some-flag'"
#                                   one more column: podshimd with these
#                                   flags, on the current stack
#   make bench-micro                only the go test -bench micro-benchmarks
#
# The side-by-side run holds the host-wide heavy lock
# (/tmp/podshim-heavy.lock) so that other heavy runs do not distort it.
# Results: bench/_results/<timestamp>/{result.md,result.json,latency.svg}
# (all runs side by side) and one subdirectory per run with its own tables,
# logs and profiles. See bench/README.md for what is measured and how.

BENCH_ARGS ?=
# Packages with performance-sensitive paths and their Benchmark functions
# (spec generation, log writer, store lookups, poll calls through gRPC,
# cold pull against a private containerd).
BENCH_MICRO_PKGS ?= ./cri/... ./image/ ./server/

.PHONY: bench bench-micro bench-compare

bench: bench-micro bench-compare

bench-micro:
	$(GO) test -run '^$$' -bench . -benchmem $(BENCH_MICRO_PKGS)

BENCH_LOCK ?= /tmp/podshim-heavy.lock

bench-compare: deps build stack
	$(GO) build -o $(BIN)/podshim-bench ./bench
	flock $(BENCH_LOCK) $(BIN)/podshim-bench -podshimd $(BIN)/podshimd -pause $(BIN)/pause -current-bin $(STACK_BIN) $(BENCH_ARGS)
