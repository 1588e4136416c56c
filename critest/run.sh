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

case "$RUNTIME" in
podshim | containerd) ;;
*)
	echo "critest/run.sh: RUNTIME must be podshim or containerd, not '$RUNTIME'" >&2
	exit 2
	;;
esac

log() { echo "critest/run.sh: $*" >&2; }

# ---------------------------------------------------------------- cleanup --

critest_pid=""
registry_pid=""
containerd_pid=""
runtime_pid=""
endpoint=""
cleaned=0

# stop_pid PID NAME: SIGTERM, wait up to 15 s, then SIGKILL.
stop_pid() {
	local pid=$1 name=$2
	[[ -n "$pid" ]] || return 0
	kill -0 "$pid" 2>/dev/null || return 0
	kill -TERM "$pid" 2>/dev/null
	for _ in $(seq 150); do
		kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null; return 0; }
		sleep 0.1
	done
	log "$name (pid $pid) did not stop on SIGTERM; killing it"
	kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# pids_with_arg TEXT: pids of processes whose command line contains TEXT
# (used to find the shims of this run's containerd by its socket path).
pids_with_arg() {
	local text=$1 d cmd
	for d in /proc/[0-9]*; do
		[[ ${d#/proc/} == "$$" ]] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$d/cmdline") || continue
		[[ "$cmd" == *"$text"* ]] && echo "${d#/proc/}"
	done
}

# ctr_sweep kills and deletes every task and container still known to this
# run's containerd (in any namespace), so no container process outlives it.
ctr_sweep() {
	[[ -S "${containerd_sock:-}" ]] && kill -0 "${containerd_pid:-}" 2>/dev/null || return 0
	local ns id ctr_cmd=(ctr --address "$containerd_sock" --timeout 30s)
	for ns in $("${ctr_cmd[@]}" namespaces list -q 2>/dev/null); do
		for id in $("${ctr_cmd[@]}" -n "$ns" tasks list -q 2>/dev/null); do
			log "killing leftover task $ns/$id"
			"${ctr_cmd[@]}" -n "$ns" tasks kill -s SIGKILL "$id" >/dev/null 2>&1
		done
		for id in $("${ctr_cmd[@]}" -n "$ns" tasks list -q 2>/dev/null); do
			for _ in $(seq 50); do
				"${ctr_cmd[@]}" -n "$ns" tasks delete -f "$id" >/dev/null 2>&1 && break
				sleep 0.1
			done
		done
		for id in $("${ctr_cmd[@]}" -n "$ns" containers list -q 2>/dev/null); do
			"${ctr_cmd[@]}" -n "$ns" containers delete "$id" >/dev/null 2>&1 || log "could not delete container $ns/$id"
		done
	done
}

cleanup() {
	[[ $cleaned == 1 ]] && return 0
	cleaned=1
	set +e
	log "cleaning up"
	stop_pid "$critest_pid" critest
	if [[ -n "$endpoint" && -x "$tools/$cri_version/crictl" ]] && kill -0 "${runtime_pid:-$containerd_pid}" 2>/dev/null; then
		# Remove every pod (and so every container, netns and CNI attachment)
		# the run left, through the runtime itself.
		timeout 120 "$tools/$cri_version/crictl" --runtime-endpoint "$endpoint" --timeout 60s rmp -fa >/dev/null 2>&1 ||
			log "crictl rmp -fa failed"
	fi
	stop_pid "$runtime_pid" "$RUNTIME runtime"
	ctr_sweep
	stop_pid "$containerd_pid" containerd
	local pid
	for pid in $(pids_with_arg "$H/containerd/containerd.sock"); do
		log "stopping leftover process $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-120)"
		kill -KILL "$pid" 2>/dev/null
	done
	# Unmount whatever is still mounted under the work directory, deepest first.
	awk -v h="$H/" 'index($5, h) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null || log "umount $m failed"
	done
	if ip link show "$cni_bridge" >/dev/null 2>&1; then
		ip link delete "$cni_bridge" 2>/dev/null || log "ip link delete $cni_bridge failed"
	fi
	# A network namespace that appeared during the run and still holds an
	# address of our subnet is a leftover of this run.
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		grep -qxF "$ns" "$H/netns.before" 2>/dev/null && continue
		if ip netns exec "$ns" ip -4 addr show 2>/dev/null | grep -q "inet ${cni_subnet%%.0.0/*}\."; then
			log "removing leftover network namespace $ns"
			ip netns delete "$ns" 2>/dev/null
		fi
	done
	stop_pid "$registry_pid" critest-registry
	# Keep the logs; drop the runtimes' data once nothing is mounted there.
	if ! grep -qF " $H/" /proc/self/mountinfo; then
		rm -rf "$H/cni/ipam" "$H/containerd/root" "$H/containerd/state" "$H/containerd/runc" "$H/podshim"
	fi
}

on_signal() {
	log "interrupted"
	exit 130
}
trap cleanup EXIT
trap on_signal INT TERM

die() {
	log "$*"
	cleanup
	echo "harness error: $*"
	exit 2
}

# ------------------------------------------------------------------ build --

cri_version=$(awk '$1 == "require" && $2 == "sigs.k8s.io/cri-tools" { print $3 }' "$crit/tools/go.mod")
"$crit/tools/build.sh" || die "building crictl and critest failed"
critest_bin=$tools/$cri_version/critest
crictl_bin=$tools/$cri_version/crictl

"$crit/debs.sh" "$tools/debs" || die "fetching the Debian packages failed"

mkdir -p "$bin/helpers"
(
	cd "$repo" || exit 1
	for h in pgrep ipcs webserver pause nnp; do
		CGO_ENABLED=0 go build -trimpath -ldflags='-s -w -buildid=' -o "$bin/helpers/$h" "./critest/helpers/$h" || exit 1
	done
	go build -o "$bin/critest-registry" ./critest/cmd/critest-registry || exit 1
) || die "building the critest helpers failed"

if [[ $RUNTIME == podshim && ! -x "$podshimd" ]]; then
	die "$podshimd does not exist: build podshim first (make build)"
fi

# ------------------------------------------------------------------ start --

# Leftovers of an earlier, killed run.
if [[ -d "$H" ]]; then
	for pid in $(pids_with_arg "$H/"); do
		die "process $pid from an earlier run still uses $H; stop it first"
	done
	awk -v h="$H/" 'index($5, h) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		umount -l "$m" 2>/dev/null
	done
	rm -rf "$H"
fi
mkdir -p "$H"/{tmp,cni/net.d,cni/ipam,registry-hosts,containerd,podshim/root,podshim/state,logs} "$results" ||
	die "cannot create $H"
rm -f "$results"/*
ip netns list 2>/dev/null | awk '{ print $1 }' >"$H/netns.before"

for port in 12000 12001 12002 12003; do
	if ss -Hltn "sport = :$port" | grep -q .; then
		die "host port $port (used by critest's port mapping specs) is in use"
	fi
done

log "starting critest-registry"
"$bin/critest-registry" \
	--busybox-dir "$tools/debs/busybox" --libc-dir "$tools/debs/libc6" --helpers-dir "$bin/helpers" \
	--hosts-dir "$H/registry-hosts" --addr-file "$H/registry.addr" --request-log "$results/registry-requests.log" \
	>"$H/logs/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 300); do
	[[ -s "$H/registry.addr" ]] && break
	kill -0 "$registry_pid" 2>/dev/null || die "critest-registry exited: $(tail -5 "$H/logs/registry.log")"
	sleep 0.1
done
[[ -s "$H/registry.addr" ]] || die "critest-registry did not become ready"
log "registry on $(cat "$H/registry.addr"), mirrors for: $(ls "$H/registry-hosts" | tr '\n' ' ')"

cat >"$H/cni/net.d/10-$cni_network.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "$cni_network",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$cni_bridge",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "$cni_subnet" }]],
        "routes": [{ "dst": "0.0.0.0/0" }],
        "dataDir": "$H/cni/ipam"
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "loopback" }
  ]
}
EOF

# A containerd of our own: own root, state, socket and runc root. The CRI
# plugin is on only when it is the runtime under test.
containerd_sock=$H/containerd/containerd.sock
if [[ $RUNTIME == containerd ]]; then
	# A free loopback port for the CRI streaming server.
	stream_port=""
	for p in $(seq 10350 10450); do
		ss -Hltn "sport = :$p" | grep -q . || { stream_port=$p; break; }
	done
	[[ -n "$stream_port" ]] || die "no free port in 10350-10450 for the streaming server"
	cri_section=$(
		cat <<EOF
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$sandbox_image"
  restrict_oom_score_adj = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "$stream_port"
  enable_selinux = false
  max_container_log_line_size = 16384
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$H/containerd/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$H/cni/net.d"
    max_conf_num = 1
  [plugins."io.containerd.grpc.v1.cri".registry]
    config_path = "$H/registry-hosts"
EOF
	)
	disabled='disabled_plugins = []'
else
	cri_section=""
	disabled='disabled_plugins = ["io.containerd.grpc.v1.cri"]'
fi
cat >"$H/containerd/config.toml" <<EOF
version = 2
root = "$H/containerd/root"
state = "$H/containerd/state"
$disabled

[grpc]
  address = "$containerd_sock"

[ttrpc]
  address = "$containerd_sock.ttrpc"

[debug]
  address = ""

[metrics]
  address = ""

[plugins."io.containerd.internal.v1.opt"]
  path = "$H/containerd/opt"

$cri_section
EOF

containerd_bin=$(command -v containerd) || die "containerd is not on PATH"
log "starting $containerd_bin ($("$containerd_bin" --version | awk '{ print $3 }'), runc $(runc --version | awk 'NR == 1 { print $3 }'), $RUNTIME mode)"
"$containerd_bin" --config "$H/containerd/config.toml" --log-level info >"$H/logs/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 300); do
	[[ -S "$containerd_sock" ]] && break
	kill -0 "$containerd_pid" 2>/dev/null || die "containerd exited: $(tail -5 "$H/logs/containerd.log")"
	sleep 0.1
done
[[ -S "$containerd_sock" ]] || die "containerd did not create $containerd_sock"

if [[ $RUNTIME == containerd ]]; then
	endpoint=unix://$containerd_sock
else
	podshim_sock=$H/podshim/podshim.sock
	log "starting podshimd"
	"$podshimd" \
		--listen "unix://$podshim_sock" \
		--containerd-address "$containerd_sock" \
		--root "$H/podshim/root" \
		--state "$H/podshim/state" \
		--cni-conf-dir "$H/cni/net.d" \
		--cni-bin-dir /usr/lib/cni \
		--registry-config-dir "$H/registry-hosts" \
		--log-level debug \
		>"$H/logs/podshimd.log" 2>&1 &
	runtime_pid=$!
	endpoint=unix://$podshim_sock
fi

# Ready when Status reports both RuntimeReady and NetworkReady true.
condition_true() { # CONDITION: read from crictl info on stdin
	tr -d ' \n' | grep -qE "\"status\":true,\"type\":\"$1\"|\"type\":\"$1\",\"status\":true"
}
ready=0
for _ in $(seq 120); do
	if [[ -n "$runtime_pid" ]] && ! kill -0 "$runtime_pid" 2>/dev/null; then
		die "podshimd exited: $(tail -5 "$H/logs/podshimd.log")"
	fi
	info=$("$crictl_bin" --runtime-endpoint "$endpoint" --timeout 2s info 2>/dev/null)
	if condition_true RuntimeReady <<<"$info" && condition_true NetworkReady <<<"$info"; then
		ready=1
		break
	fi
	sleep 0.5
done
[[ $ready == 1 ]] || die "$RUNTIME at $endpoint did not report RuntimeReady and NetworkReady within 60 s"
log "$RUNTIME ready at $endpoint"

# ------------------------------------------------------------------- test --

skip_args=()
while IFS= read -r line; do
	[[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
	regex=${line%% # *}
	reason=${line#* # }
	regex=${regex%"${regex##*[![:space:]]}"}
	if [[ "$regex" == "$line" || -z "$reason" ]]; then
		die "critest/skip.txt: entry without a reason (use 'REGEX # reason'): $line"
	fi
	skip_args+=("-ginkgo.skip=$regex")
done <"$crit/skip.txt"

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
