# hack/lib/runtime.sh: the parts of critest/run.sh and node-e2e/run.sh that
# start a runtime under test and take it down again. Sourced, never run:
#
#   source "$repo/hack/lib/runtime.sh"
#
# The runtime under test is either podshimd on a containerd of the run's own
# (RUNTIME=podshim, containerd's CRI plugin off) or that containerd's own CRI
# plugin (RUNTIME=containerd). Everything lives below the work directory $H:
#
#   $H/containerd/{config.toml,containerd.sock,root,state,runc,opt}
#   $H/podshim/{podshim.sock,root,state}
#   $H/cni/net.d/10-$cni_network.conflist, $H/cni/ipam
#   $H/registry-hosts/<host>/hosts.toml (written by the registry command)
#   $H/registry.addr, $H/netns.before, $H/logs/*.log
#
# Variables the sourcing script sets before calling the functions:
#   H              work directory
#   RUNTIME        podshim or containerd
#   cni_network    CNI network name (file 10-<name>.conflist)
#   cni_bridge     the network's bridge device
#   cni_subnet     its IPv4 subnet, A.B.0.0/16 (leftover netns are found by it)
#   sandbox_image  containerd CRI plugin's sandbox_image
#   stream_ports   "LOW HIGH": where containerd's CRI streaming server may listen
#   cri_extra      extra lines for containerd's [plugins."io.containerd.grpc.v1.cri"]
#                  table (may be empty)
#   podshimd       the podshimd binary
#   crictl_bin     crictl, for the readiness wait and the final `rmp -fa`
# and a function log MESSAGE... (prints to stderr with the script's name) and
# a function cleanup (idempotent: die and the EXIT trap call it), and repo
# (the repository root; rt_read_skip_list names the file relative to it).
#
# Variables the functions set (and cleanup reads; sourcing the file sets the
# pids and endpoint to "" and cleaned to 0, for the script's cleanup):
#   containerd_sock, containerd_pid, containerd_bin, containerd_version,
#   runc_version, stream_port (containerd mode), runtime_pid (podshim mode),
#   podshim_sock, endpoint (unix:// address of the runtime under test),
#   registry_pid, skip_args (rt_read_skip_list).
#
# Functions:
#   rt_check_runtime            log and fail unless RUNTIME is podshim or containerd
#   die MESSAGE...              log, clean up, print "harness error: MESSAGE", exit 2
#   on_signal                   INT/TERM trap: exit 130 (the EXIT trap cleans up)
#   stop_pid PID NAME           SIGTERM, wait up to 15 s, then SIGKILL; "" or gone: no-op
#   pids_with_arg TEXT          pids (one a line) whose command line contains TEXT
#   kill_procs_with_arg TEXT    SIGKILL those, logging each
#   umount_under DIR [quiet]    lazily unmount every mount below DIR/, deepest first
#   ctr_sweep                   kill and delete every task and container this
#                               run's containerd still knows, in every namespace
#   rt_reclaim_dir              before a run: die when a process still uses $H,
#                               unmount what an earlier killed run left below it
#   rt_record_netns             save the current netns names to $H/netns.before
#                               and the namespace cgroups to $H/cgroups.before
#   rt_require_free_ports FMT PORT...  die with printf FMT PORT when a port is taken
#   rt_build_static_helpers DIR NAME... CGO-free, stripped `go build` of
#                               ./NAME (a package path) into DIR/<basename>
#   rt_start_registry NAME WAIT_S CMD...  start a registry command in the
#                               background (log $H/logs/registry.log), sets
#                               registry_pid, waits up to WAIT_S s for $H/registry.addr
#   rt_write_cni_conflist       the bridge+portmap+loopback network $cni_network
#   rt_write_containerd_config  $H/containerd/config.toml (CRI plugin on only in
#                               containerd mode; picks stream_port then)
#   rt_start_containerd         start containerd with that config, wait for its socket
#   rt_start_podshimd [ARG...]  start podshimd on that containerd (extra flags ARG)
#   rt_start_runtime [ARG...]   containerd mode: endpoint = containerd's socket;
#                               podshim mode: rt_start_podshimd ARG...
#   rt_wait_ready               wait up to 60 s for RuntimeReady and NetworkReady
#   rt_stop_runtime             `crictl rmp -fa`, stop podshimd, ctr_sweep, stop
#                               containerd, kill its leftover shims
#   rt_release_host             unmount below $H, remove the empty namespace cgroups
#                               the run made, delete $cni_bridge and the netns
#                               holding $cni_subnet addresses that the run created
#   rt_read_skip_list FILE FLAG  fill skip_args with FLAG=REGEX for each
#                               "REGEX # reason" line of FILE (die without a reason)
#
# shellcheck shell=bash

registry_pid=""
containerd_pid=""
runtime_pid=""
endpoint=""
cleaned=0

rt_check_runtime() {
	case "$RUNTIME" in
	podshim | containerd) ;;
	*)
		log "RUNTIME must be podshim or containerd, not '$RUNTIME'"
		return 1
		;;
	esac
}

die() {
	log "$*"
	cleanup
	echo "harness error: $*"
	exit 2
}

on_signal() {
	log "interrupted"
	exit 130
}

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

# Used to find the shims of this run's containerd by its socket path, and
# what an earlier run left running with $H paths.
# One grep reads every command line (a loop with a `tr` per process took
# minutes on a node running 400 pods); the candidates are checked again,
# which also drops the grep itself.
pids_with_arg() {
	local text=$1 f pid cmd
	for f in $(grep -alF -- "$text" /proc/[0-9]*/cmdline 2>/dev/null); do
		pid=${f#/proc/}
		pid=${pid%/cmdline}
		[[ $pid == "$$" ]] && continue
		cmd=$(tr '\0' ' ' 2>/dev/null <"$f") || continue
		[[ "$cmd" == *"$text"* ]] && echo "$pid"
	done
}

kill_procs_with_arg() {
	local pid
	for pid in $(pids_with_arg "$1"); do
		log "stopping leftover process $pid: $(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | cut -c1-120)"
		kill -KILL "$pid" 2>/dev/null
	done
}

umount_under() {
	local dir=$1 quiet=${2:-} m
	awk -v h="$dir/" 'index($5, h) == 1 { print $5 }' /proc/self/mountinfo | sort -r | while read -r m; do
		if [[ -n $quiet ]]; then
			umount -l "$m" 2>/dev/null
		else
			umount -l "$m" 2>/dev/null || log "umount $m failed"
		fi
	done
}

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

rt_reclaim_dir() {
	[[ -d "$H" ]] || return 0
	local pid
	for pid in $(pids_with_arg "$H/"); do
		die "process $pid from an earlier run still uses $H; stop it first"
	done
	umount_under "$H" quiet
}

rt_record_netns() {
	ip netns list 2>/dev/null | awk '{ print $1 }' >"$H/netns.before"
	rt_namespace_cgroups >"$H/cgroups.before"
}

# rt_namespace_cgroups: the top-level cgroups of the run's containerd
# namespaces (podshim's "podshim", the CRI plugin's "k8s.io") that exist in
# any hierarchy. runc makes /<namespace>/<id> for a pod without a cgroup
# parent (critest's); the runtimes remove the pod's cgroup but leave the
# shared parent.
rt_namespace_cgroups() {
	local d
	for d in /sys/fs/cgroup/podshim /sys/fs/cgroup/k8s.io /sys/fs/cgroup/*/podshim /sys/fs/cgroup/*/k8s.io; do
		[[ -d $d ]] && echo "$d"
	done
}

rt_require_free_ports() {
	local fmt=$1 port
	shift
	for port in "$@"; do
		if ss -Hltn "sport = :$port" | grep -q .; then
			# shellcheck disable=SC2059
			die "$(printf "$fmt" "$port")"
		fi
	done
}

rt_build_static_helpers() {
	local dir=$1 pkg
	shift
	for pkg in "$@"; do
		CGO_ENABLED=0 nice -n 19 go build -trimpath -ldflags='-s -w -buildid=' -o "$dir/${pkg##*/}" "./$pkg" || return 1
	done
}

rt_start_registry() {
	local name=$1 wait_s=$2
	shift 2
	log "starting $name"
	"$@" >"$H/logs/registry.log" 2>&1 &
	registry_pid=$!
	for _ in $(seq $((wait_s * 10))); do
		[[ -s "$H/registry.addr" ]] && break
		kill -0 "$registry_pid" 2>/dev/null || die "$name exited: $(tail -5 "$H/logs/registry.log")"
		sleep 0.1
	done
	[[ -s "$H/registry.addr" ]] || die "$name did not become ready"
	log "registry on $(cat "$H/registry.addr"), mirrors for: $(ls "$H/registry-hosts" | tr '\n' ' ')"
}

rt_write_cni_conflist() {
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
}

# A containerd of the run's own: own root, state, socket and runc root. The
# CRI plugin is on only when it is the runtime under test. The file comes
# from critest/containerdconf, as for the Go tests and the benchmark.
rt_write_containerd_config() {
	containerd_sock=$H/containerd/containerd.sock
	local args=(-dir "$H/containerd" -address "$containerd_sock") p line
	if [[ $RUNTIME == containerd ]]; then
		# A free loopback port for the CRI streaming server.
		stream_port=""
		for p in $(seq $stream_ports); do
			ss -Hltn "sport = :$p" | grep -q . || { stream_port=$p; break; }
		done
		[[ -n "$stream_port" ]] || die "no free port in ${stream_ports/ /-} for the streaming server"
		args+=(-cri -sandbox-image "$sandbox_image" -runc-root "$H/containerd/runc"
			-cni-conf-dir "$H/cni/net.d" -hosts-dir "$H/registry-hosts" -stream-port "$stream_port")
		while IFS= read -r line; do
			[[ -n "$line" ]] && args+=(-extra "$line")
		done <<<"$cri_extra"
	fi
	(cd "$repo" && go run ./critest/cmd/containerd-config "${args[@]}") >"$H/containerd/config.toml" ||
		die "writing $H/containerd/config.toml failed"
}

rt_start_containerd() {
	containerd_bin=$(command -v containerd) || die "containerd is not on PATH"
	containerd_version=$("$containerd_bin" --version | awk '{ print $3 }')
	runc_version=$(runc --version | awk 'NR == 1 { print $3 }')
	log "starting $containerd_bin ($containerd_version, runc $runc_version, $RUNTIME mode)"
	"$containerd_bin" --config "$H/containerd/config.toml" --log-level info >"$H/logs/containerd.log" 2>&1 &
	containerd_pid=$!
	for _ in $(seq 300); do
		[[ -S "$containerd_sock" ]] && break
		kill -0 "$containerd_pid" 2>/dev/null || die "containerd exited: $(tail -5 "$H/logs/containerd.log")"
		sleep 0.1
	done
	[[ -S "$containerd_sock" ]] || die "containerd did not create $containerd_sock"
}

rt_start_podshimd() {
	podshim_sock=$H/podshim/podshim.sock
	log "starting podshimd"
	"$podshimd" \
		--listen "unix://$podshim_sock" \
		--containerd-address "$containerd_sock" \
		--root "$H/podshim/root" \
		--state "$H/podshim/state" \
		"$@" \
		--cni-conf-dir "$H/cni/net.d" \
		--cni-bin-dir /usr/lib/cni \
		--registry-config-dir "$H/registry-hosts" \
		--log-level debug \
		>"$H/logs/podshimd.log" 2>&1 &
	runtime_pid=$!
	endpoint=unix://$podshim_sock
}

rt_start_runtime() {
	if [[ $RUNTIME == containerd ]]; then
		endpoint=unix://$containerd_sock
	else
		rt_start_podshimd "$@"
	fi
}

# rt_condition_true CONDITION: whether `crictl info` (on stdin) reports it true.
rt_condition_true() {
	tr -d ' \n' | grep -qE "\"status\":true,\"type\":\"$1\"|\"type\":\"$1\",\"status\":true"
}

rt_wait_ready() {
	local ready=0 info
	for _ in $(seq 120); do
		if [[ -n "$runtime_pid" ]] && ! kill -0 "$runtime_pid" 2>/dev/null; then
			die "podshimd exited: $(tail -5 "$H/logs/podshimd.log")"
		fi
		info=$("$crictl_bin" --runtime-endpoint "$endpoint" --timeout 2s info 2>/dev/null)
		if rt_condition_true RuntimeReady <<<"$info" && rt_condition_true NetworkReady <<<"$info"; then
			ready=1
			break
		fi
		sleep 0.5
	done
	[[ $ready == 1 ]] || die "$RUNTIME at $endpoint did not report RuntimeReady and NetworkReady within 60 s"
	log "$RUNTIME ready at $endpoint"
}

rt_stop_runtime() {
	if [[ -n "$endpoint" && -x "${crictl_bin:-}" ]] && kill -0 "${runtime_pid:-$containerd_pid}" 2>/dev/null; then
		# Remove every pod (and so every container, netns and CNI attachment)
		# the run left, through the runtime itself.
		timeout 120 "$crictl_bin" --runtime-endpoint "$endpoint" --timeout 60s rmp -fa >/dev/null 2>&1 ||
			log "crictl rmp -fa failed"
	fi
	stop_pid "$runtime_pid" "$RUNTIME runtime"
	ctr_sweep
	stop_pid "$containerd_pid" containerd
	kill_procs_with_arg "$H/containerd/containerd.sock"
}

rt_release_host() {
	umount_under "$H"
	if ip link show "$cni_bridge" >/dev/null 2>&1; then
		ip link delete "$cni_bridge" 2>/dev/null || log "ip link delete $cni_bridge failed"
	fi
	# A namespace cgroup the run made goes when it is empty (rmdir fails on
	# a cgroup with children or processes).
	local d
	for d in $(rt_namespace_cgroups); do
		grep -qxF "$d" "$H/cgroups.before" 2>/dev/null || rmdir "$d" 2>/dev/null
	done
	# A network namespace that appeared during the run and still holds an
	# address of the run's subnet is a leftover of this run.
	local ns
	for ns in $(ip netns list 2>/dev/null | awk '{ print $1 }'); do
		grep -qxF "$ns" "$H/netns.before" 2>/dev/null && continue
		if ip netns exec "$ns" ip -4 addr show 2>/dev/null | grep -q "inet ${cni_subnet%%.0.0/*}\."; then
			log "removing leftover network namespace $ns"
			ip netns delete "$ns" 2>/dev/null
		fi
	done
}

rt_read_skip_list() {
	local file=$1 flag=$2 line regex reason
	skip_args=()
	while IFS= read -r line; do
		[[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
		regex=${line%% # *}
		reason=${line#* # }
		regex=${regex%"${regex##*[![:space:]]}"}
		if [[ "$regex" == "$line" || -z "$reason" ]]; then
			die "${file#"$repo"/}: entry without a reason (use 'REGEX # reason'): $line"
		fi
		skip_args+=("$flag=$regex")
	done <"$file"
}
