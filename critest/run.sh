#!/usr/bin/env bash
# Runs the CRI validation suite (critest, cri-tools v1.36.0) against a runtime
# started here, and prints "N passed, M failed, K skipped" as its last line.
# It exits 0 only when no spec failed.
#
#   RUNTIME=podshim    critest/run.sh   # bin/podshimd on its own containerd (CRI plugin off)
#   RUNTIME=containerd critest/run.sh   # containerd's own CRI plugin, separate instance
#
# Environment:
#   RUNTIME         podshim (default) or containerd
#   FOCUS           optional ginkgo focus regex (to run a few specs while iterating)
#   CRITEST_DIR     work directory (default /tmp/critest-h); everything it starts lives there
#   STACK           debian (default) or current: only names the results
#                   directory; containerd and runc are the ones on PATH
#                   (`make STACK=current` puts the current stack first)
#   CRITEST_RESULTS results directory (default critest/_results/$RUNTIME-$STACK)
#   PODSHIMD        podshimd binary (default bin/podshimd)
#   CRITEST_ARGS    extra arguments for critest
#
# What it does: builds crictl/critest (critest/tools/build.sh), fetches the
# Debian packages the images are made of (critest/debs.sh), builds the static
# helpers and critest-registry, starts critest-registry (all test images on
# 127.0.0.1, hosts.toml files mapping registry.k8s.io, k8s.gcr.io, gcr.io and
# public.ecr.aws to it), writes the CNI network podshim-critest (bridge
# cni-crit0, 10.89.0.0/16), starts containerd and the runtime under test, runs
# critest with the skip list critest/skip.txt, and stops and removes
# everything it started, on success, failure or interrupt.
#
# Starting containerd and the runtime, the CNI and containerd configs and the
# teardown are shared with the other harness: hack/lib/runtime.sh.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
crit=$repo/critest
RUNTIME=${RUNTIME:-podshim}
H=${CRITEST_DIR:-/tmp/critest-h}
STACK=${STACK:-debian}
results=${CRITEST_RESULTS:-$crit/_results/$RUNTIME-$STACK}
podshimd=${PODSHIMD:-$repo/bin/podshimd}
tools=$crit/_tools
bin=$tools/bin

# The sandbox image configured for containerd's CRI plugin (critest/catalog
# SandboxImage): a pause tag the specs never remove.
sandbox_image=registry.k8s.io/pause:3.10
cni_network=podshim-critest
cni_bridge=cni-crit0
cni_subnet=10.89.0.0/16
stream_ports="10350 10450"
cri_extra='  max_container_log_line_size = 16384'

log() { echo "critest/run.sh: $*" >&2; }

source "$repo/hack/lib/runtime.sh"
rt_check_runtime || exit 2

# ---------------------------------------------------------------- cleanup --

critest_pid=""

cleanup() {
	[[ $cleaned == 1 ]] && return 0
	cleaned=1
	set +e
	log "cleaning up"
	stop_pid "$critest_pid" critest
	rt_stop_runtime
	rt_release_host
	stop_pid "$registry_pid" critest-registry
	# Keep the logs; drop the runtimes' data once nothing is mounted there.
	if ! grep -qF " $H/" /proc/self/mountinfo; then
		rm -rf "$H/cni/ipam" "$H/containerd/root" "$H/containerd/state" "$H/containerd/runc" "$H/podshim"
	fi
}

trap cleanup EXIT
trap on_signal INT TERM

# ------------------------------------------------------------------ build --


cri_version=$(awk '$1 == "require" && $2 == "sigs.k8s.io/cri-tools" { print $3 }' "$crit/tools/go.mod")
"$crit/tools/build.sh" || die "building crictl and critest failed"
critest_bin=$tools/$cri_version/critest
crictl_bin=$tools/$cri_version/crictl

"$crit/debs.sh" "$tools/debs" || die "fetching the Debian packages failed"

mkdir -p "$bin/helpers"
(
	cd "$repo" || exit 1
	rt_build_static_helpers "$bin/helpers" critest/helpers/{pgrep,ipcs,webserver,pause,nnp} || exit 1
	go build -o "$bin/critest-registry" ./critest/cmd/critest-registry || exit 1
) || die "building the critest helpers failed"


if [[ $RUNTIME == podshim && ! -x "$podshimd" ]]; then
	die "$podshimd does not exist: build podshim first (make build)"
fi

# ------------------------------------------------------------------ start --

# Leftovers of an earlier, killed run.
rt_reclaim_dir
rm -rf "$H"
mkdir -p "$H"/{tmp,cni/net.d,cni/ipam,registry-hosts,containerd,podshim/root,podshim/state,logs} "$results" ||
	die "cannot create $H"
rm -f "$results"/*
rt_record_netns

rt_require_free_ports "host port %s (used by critest's port mapping specs) is in use" 12000 12001 12002 12003

rt_start_registry critest-registry 30 "$bin/critest-registry" \
	--busybox-dir "$tools/debs/busybox" --libc-dir "$tools/debs/libc6" --helpers-dir "$bin/helpers" \
	--hosts-dir "$H/registry-hosts" --addr-file "$H/registry.addr" --request-log "$results/registry-requests.log"
rt_write_cni_conflist
rt_write_containerd_config
rt_start_containerd
rt_start_runtime
rt_wait_ready

# ------------------------------------------------------------------- test --

rt_read_skip_list "$crit/skip.txt" -ginkgo.skip


focus_args=()
[[ -n "${FOCUS:-}" ]] && focus_args=("-ginkgo.focus=$FOCUS")

log "running critest $cri_version (${#skip_args[@]} skip entries${FOCUS:+, focus '$FOCUS'})"
start=$(date +%s)
# critest runs in the background (so a signal to this script stops it and
# cleans up at once); its output goes to the log and, live, to stderr.
(
	cd "$H/tmp" || exit 1
	# critest's HTTP checks go straight to pod IPs and 127.0.0.1.
	unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY
	# shellcheck disable=SC2086
	TMPDIR=$H/tmp exec "$critest_bin" \
		-runtime-endpoint "$endpoint" \
		-image-endpoint "$endpoint" \
		-ginkgo.no-color \
		-ginkgo.junit-report "$results/junit.xml" \
		"${skip_args[@]}" "${focus_args[@]}" ${CRITEST_ARGS:-}
) >"$results/critest.log" 2>&1 &
critest_pid=$!
tail -n +1 -f --pid="$critest_pid" "$results/critest.log" >&2 &
tail_pid=$!
wait "$critest_pid"
critest_rc=$?
critest_pid=""
wait "$tail_pid"
elapsed=$(($(date +%s) - start))

cp "$H/logs/"*.log "$results/" 2>/dev/null
cleanup

summary=$(grep -E '^(SUCCESS|FAIL)! -- [0-9]+ Passed \| [0-9]+ Failed' "$results/critest.log" | tail -1)
if [[ -z "$summary" ]]; then
	log "critest (exit $critest_rc) printed no summary; see $results/critest.log"
	echo "harness error: critest did not finish"
	exit 2
fi
passed=$(sed -E 's/.* ([0-9]+) Passed.*/\1/' <<<"$summary")
failed=$(sed -E 's/.* ([0-9]+) Failed.*/\1/' <<<"$summary")
skipped=$(sed -E 's/.* ([0-9]+) Skipped.*/\1/' <<<"$summary")
{
	echo "runtime: $RUNTIME"
	echo "stack: $STACK (containerd $("$containerd_bin" --version | awk '{ print $3 }'), runc $(runc --version | awk 'NR == 1 { print $3 }'))"
	echo "critest: $cri_version"
	echo "elapsed: ${elapsed}s"
	echo "$summary"
	awk '/^Summarizing [0-9]+ Failure/ { on = 1 } on && /^  \[FAIL\]/ { print }' "$results/critest.log"
} >"$results/summary.txt"
log "critest took ${elapsed}s; results in $results"
if [[ $failed -gt 0 ]]; then
	awk '/^Summarizing [0-9]+ Failure/ { on = 1 } on && /^  \[FAIL\]/ { print }' "$results/critest.log" >&2
fi
echo "$passed passed, $failed failed, $skipped skipped"
if [[ $failed -gt 0 || $critest_rc -ne 0 ]]; then
	exit 1
fi
exit 0
