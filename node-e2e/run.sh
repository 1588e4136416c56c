#!/usr/bin/env bash
# Runs Kubernetes' node conformance suite (test/e2e_node, focus
# [NodeConformance]) against a runtime started here, and prints
# "N passed, M failed, K skipped" as its last line. It exits 0 only when no
# spec failed.
#
#   RUNTIME=podshim    node-e2e/run.sh   # bin/podshimd on its own containerd (CRI plugin off)
#   RUNTIME=containerd node-e2e/run.sh   # containerd's own CRI plugin, separate instance
#
# Environment:
#   RUNTIME          podshim (default) or containerd
#   FOCUS            ginkgo focus regex (default '\[NodeConformance\]')
#   SUBSET=1         run only the specs node-e2e/subset.txt lists (each line a
#                    focus regex; the full focus takes hours on this machine)
#   NODE_E2E_TIMEOUT ginkgo's suite timeout (default 8h)
#   NODE_E2E_DIR     work directory (default /tmp/nodee2e-h); everything it starts lives there
#   STACK            debian (default) or current: names the results directory;
#                    containerd and runc are the ones on PATH
#   NODE_E2E_RESULTS results directory (default node-e2e/_results/$RUNTIME-$STACK)
#   KUBELET_VERSION  the Kubernetes version of kubelet AND e2e_node.test (one
#                    pin, kubelet/kubelet.mk)
#   PODSHIMD         podshimd binary (default bin/podshimd)
#   NODE_E2E_ARGS    extra arguments for e2e_node.test
#   NODE_E2E_PASSES  which passes run (default "parallel serial"; see below)
#
# What it does: builds kubelet, e2e_node.test and agnhost from the Kubernetes
# module (kubelet/build.sh), the static critest helpers and
# node-e2e-registry; starts node-e2e-registry (the suite's images under their
# registry.k8s.io names on 127.0.0.1, with hosts.toml mirrors); writes the CNI
# network podshim-nodee2e (bridge cni-ne2e0, 10.93.0.0/16); starts containerd
# and the runtime under test; runs e2e_node.test, which starts etcd and
# kube-apiserver in a child process of itself and kubelet from
# kubelet/_bin/<version>/ pointed at the runtime; skips what node-e2e/skip.txt
# lists; and stops and removes everything it started, on success, failure or
# interrupt.
#
# Starting containerd and the runtime, the CNI and containerd configs and the
# teardown are shared with the other harness: hack/lib/runtime.sh.
set -uo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
ne=$repo/node-e2e
RUNTIME=${RUNTIME:-podshim}
H=${NODE_E2E_DIR:-/tmp/nodee2e-h}
STACK=${STACK:-debian}
FOCUS=${FOCUS:-'\[NodeConformance\]'}
results=${NODE_E2E_RESULTS:-$ne/_results/$RUNTIME-$STACK}
podshimd=${PODSHIMD:-$repo/bin/podshimd}
export KUBELET_VERSION=${KUBELET_VERSION:-v1.34.4}
kbin=$repo/kubelet/_bin/$KUBELET_VERSION
bin=$ne/_bin
debs=$repo/critest/_tools/debs

sandbox_image=registry.k8s.io/pause:3.10.1
cni_network=podshim-nodee2e
cni_bridge=cni-ne2e0
cni_subnet=10.93.0.0/16
stream_ports="10460 10560"
cri_extra=""
# kubelet's pod cgroups: kubelet's cgroupRoot is / (the suite's cgroup specs
# look for /kubepods at the top of each hierarchy), so every pod cgroup lives
# below /kubepods, which the harness refuses to share and removes at the end.
cgroup_root=kubepods
node_name=nodee2e

log() { echo "node-e2e/run.sh: $*" >&2; }

source "$repo/hack/lib/runtime.sh"
rt_check_runtime || exit 2

# ---------------------------------------------------------------- cleanup --

test_pid=""
cgroup_owned=0

# cgroup_dirs: the harness's pod cgroup tree in every hierarchy (kubelet on
# this hybrid host also creates it in the cgroup2 one, /sys/fs/cgroup/unified).
cgroup_dirs() {
	local h
	for h in /sys/fs/cgroup/*/; do
		h=${h%/}
		[[ -L $h ]] && continue
		[[ -e $h/cgroup.procs ]] && echo "$h/$cgroup_root"
	done
}

# cgroup_tree_busy: whether a process lives in /kubepods already (another
# kubelet's pods).
cgroup_tree_busy() {
	local d
	for d in $(cgroup_dirs); do
		[[ -d $d ]] && find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null | grep -q . && return 0
	done
	return 1
}

# remove_cgroup_root kills what is left in the cgroup tree and removes it,
# deepest first.
remove_cgroup_root() {
	local d p
	for d in $(cgroup_dirs); do
		[[ -d $d ]] || continue
		for p in $(find "$d" -name cgroup.procs -exec cat {} + 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
	done
	sleep 0.5
	for d in $(cgroup_dirs); do
		[[ -d $d ]] || continue
		find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
		[[ -d $d ]] && log "could not remove cgroup $d"
	done
}

cleanup() {
	[[ $cleaned == 1 ]] && return 0
	cleaned=1
	set +e
	log "cleaning up"
	stop_pid "$test_pid" e2e_node.test
	# e2e_node.test stops its services and kubelet itself; whatever survived
	# a killed run (they run the binaries from $kbin with $H paths) goes.
	kill_procs_with_arg "$H/kubelet"
	rt_stop_runtime
	[[ $cgroup_owned == 1 ]] && remove_cgroup_root
	rt_release_host
	stop_pid "$registry_pid" node-e2e-registry
	if ! grep -qF " $H/" /proc/self/mountinfo; then
		rm -rf "$H/cni/ipam" "$H/containerd/root" "$H/containerd/state" "$H/containerd/runc" "$H/podshim" "$H/kubelet"
	fi
}

trap cleanup EXIT
trap on_signal INT TERM

# ------------------------------------------------------------------ build --

"$repo/kubelet/build.sh" kubelet e2e_node.test agnhost ginkgo >/dev/null ||
	die "building kubelet, e2e_node.test, agnhost and the ginkgo CLI failed"
cri_version=$(awk '$1 == "require" && $2 == "sigs.k8s.io/cri-tools" { print $3 }' "$repo/critest/tools/go.mod")
"$repo/critest/tools/build.sh" >/dev/null || die "building crictl failed"
crictl_bin=$repo/critest/_tools/$cri_version/crictl
"$repo/critest/debs.sh" "$debs" || die "fetching the Debian packages failed"
mkdir -p "$bin/helpers"
(
	cd "$repo" || exit 1
	rt_build_static_helpers "$bin/helpers" critest/helpers/{pgrep,ipcs,webserver,pause,nnp} node-e2e/helpers/{curl,nc,nmeter} || exit 1
	nice -n 19 go build -o "$bin/node-e2e-registry" ./node-e2e/cmd/node-e2e-registry || exit 1
) || die "building the helpers and node-e2e-registry failed"
if [[ $RUNTIME == podshim && ! -x "$podshimd" ]]; then
	die "$podshimd does not exist: build podshim first (make build)"
fi

# ------------------------------------------------------------------ start --

rt_reclaim_dir
rm -rf "$H"/{tmp,cni,registry-hosts,containerd,podshim,kubelet,work,path,logs,registry.addr}
mkdir -p "$H"/{tmp,cni/net.d,cni/ipam,registry-hosts,containerd,podshim/root,podshim/state,kubelet,work,path,logs} "$results" ||
	die "cannot create $H"
rm -rf "$results"/*.log "$results"/*.xml "$results"/parallel "$results"/serial
rt_record_netns

# The suite's own services and kubelet listen on fixed ports.
rt_require_free_ports "port %s (kube-apiserver or kubelet of the suite) is in use" 6443 10248 10250 10255

rt_start_registry node-e2e-registry 60 "$bin/node-e2e-registry" \
	--busybox-dir "$debs/busybox" --libc-dir "$debs/libc6" --helpers-dir "$bin/helpers" --agnhost "$kbin/agnhost" \
	--hosts-dir "$H/registry-hosts" --addr-file "$H/registry.addr" --request-log "$results/registry-requests.log"
rt_write_cni_conflist
rt_write_containerd_config
rt_start_containerd

# The containerd namespace of the runtime's containers: containerd's CRI
# plugin uses k8s.io, podshim its own.
containerd_namespace=k8s.io
[[ $RUNTIME == podshim ]] && containerd_namespace=podshim
rt_start_runtime --containerd-namespace "$containerd_namespace"
if [[ $RUNTIME == containerd ]]; then
	runtime_process=containerd
	runtime_pid_file=$H/containerd.pid
	echo "$containerd_pid" >"$runtime_pid_file"
else
	runtime_process=podshimd
	runtime_pid_file=$H/podshimd.pid
	echo "$runtime_pid" >"$runtime_pid_file"
fi
rt_wait_ready

# ------------------------------------------------------------------ kubelet --

cgroup_tree_busy && die "processes live in /$cgroup_root already: another kubelet's pods?"
cgroup_owned=1

# The base KubeletConfiguration the suite starts from (--kubelet-config-file);
# the suite then sets anonymous auth, AlwaysAllow, read-only port 10255 and
# its static pod dir itself. Each setting that is not kubelet's default says
# why it is there.
cat >"$H/kubelet-base.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# containerd 1.6 has no RuntimeConfig RPC; cgroupfs is what both runtimes use.
cgroupDriver: cgroupfs
cgroupsPerQOS: true
# Pod cgroups below /kubepods, removed with the run (see cgroup_root).
cgroupRoot: /
# The suite's test/e2e_node/jenkins/default-kubelet-config.yaml values.
volumeStatsAggPeriod: 10s
serializeImagePulls: false
fileCheckFrequency: 10s
evictionPressureTransitionPeriod: 30s
# The disk is shared with other engineers' builds: the default free-space
# thresholds could evict test pods for reasons outside the test.
evictionHard:
  memory.available: "100Mi"
  nodefs.available: "1%"
  nodefs.inodesFree: "1%"
  imagefs.available: "1%"
# Never garbage-collect the test images under a running test.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
failSwapOn: false
# kubelet must not add its KUBE-* iptables chains to this shared machine.
makeIPTablesUtilChains: false
# Lowering its own oom_score_adj needs CAP_SYS_RESOURCE, which this machine
# does not give.
oomScoreAdj: 0
# The default (/usr/libexec/kubernetes/...) would be created on the host.
volumePluginDir: $H/kubelet/volume-plugins
resolvConf: /etc/resolv.conf
EOF

# The suite runs kubelet through systemd-run when that is on PATH, but this
# machine has no systemd (PID 1 is not systemd): its PATH gets every command
# of /usr/bin except systemd-run and systemctl.
for f in /usr/bin/*; do
	case ${f##*/} in systemd-run | systemctl) continue ;; esac
	ln -s "$f" "$H/path/${f##*/}"
done
test_path=$(tr ':' '\n' <<<"$PATH" | grep -vxE '/usr/bin|/bin' | tr '\n' ':')$H/path

# ------------------------------------------------------------------- test --

rt_read_skip_list "$ne/skip.txt" --skip

focus_args=("--focus=$FOCUS")
if [[ ${SUBSET:-} == 1 ]]; then
	focus_args=()
	while IFS= read -r line; do
		[[ "$line" =~ ^[[:space:]]*(#|$) ]] && continue
		focus_args+=("--focus=$line")
	done <"$ne/subset.txt"
	FOCUS="node-e2e/subset.txt (${#focus_args[@]} entries)"
fi

# kubelet flags (after --config, so they win over the suite's settings):
# its own root dir; no --system-cgroups, --kubelet-cgroups or
# --runtime-cgroups, which would move every process of this machine's root
# cgroup (other people's too) into /system, and kubelet into /kubelet.
# --containerd and --containerd-namespace (cAdvisor's flags, deprecated but
# read): kubelet's cAdvisor looks container cgroups up in containerd to name
# the /metrics/cadvisor series after their pod and container; by default it
# asks /run/containerd/containerd.sock, namespace k8s.io, which is not this
# run's containerd.
kubelet_flags="--root-dir=$H/kubelet --system-cgroups= --kubelet-cgroups= --runtime-cgroups="
kubelet_flags+=" --containerd=$containerd_sock --containerd-namespace=$containerd_namespace"

# run_pass NAME PROCS GINKGO_ARGS...: one run of e2e_node.test through the
# ginkgo CLI on PROCS processes (process 1 starts etcd, kube-apiserver and
# kubelet; the others wait for it, as upstream's run_local does), its log in
# $results/e2e_node-NAME.log and its JUnit report in $results/NAME/. Sets
# pass_rc.
# The ginkgo CLI runs a precompiled suite in the suite's directory, and
# e2e_node.test writes its kubeconfig, kubelet config, token file and
# static pod dirs into its working directory: through a link in $H/work it
# writes them there, not into kubelet/_bin/<version>/.
test_bin=$H/work/e2e_node.test
run_pass() {
	local name=$1 procs=$2
	shift 2
	mkdir -p "$results/$name" "$H/work"
	ln -sfn "$kbin/e2e_node.test" "$test_bin"
	log "pass '$name': e2e_node.test $KUBELET_VERSION on $procs process(es) (${#skip_args[@]} skip entries, focus '$FOCUS')"
	(
		cd "$H/work" || exit 1
		unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY no_proxy NO_PROXY
		# shellcheck disable=SC2086
		PATH=$test_path TMPDIR=$H/tmp exec "$kbin/ginkgo" \
			--procs="$procs" \
			--no-color \
			--timeout="${NODE_E2E_TIMEOUT:-8h}" \
			"$@" \
			"$test_bin" -- \
			--container-runtime-endpoint "$endpoint" \
			--image-service-endpoint "$endpoint" \
			--container-runtime-process-name "$runtime_process" \
			--container-runtime-pid-file "$runtime_pid_file" \
			--k8s-bin-dir "$kbin" \
			--prepull-images=false \
			--node-name "$node_name" \
			--kubelet-config-file "$H/kubelet-base.yaml" \
			--kubelet-flags="$kubelet_flags" \
			--report-dir "$results/$name" \
			${NODE_E2E_ARGS:-}
	) >"$results/e2e_node-$name.log" 2>&1 &
	test_pid=$!
	tail -n +1 -f --pid="$test_pid" "$results/e2e_node-$name.log" >&2 &
	tail_pid=$!
	wait "$test_pid"
	pass_rc=$?
	test_pid=""
	wait "$tail_pid"
}

# count_specs GINKGO_ARGS...: how many specs a pass with these arguments
# would run (a dry run: no services start).
count_specs() {
	mkdir -p "$H/work" && ln -sfn "$kbin/e2e_node.test" "$test_bin"
	(cd "$H/work" && "$kbin/ginkgo" --dry-run --no-color "$@" "$test_bin" -- --k8s-bin-dir "$kbin" 2>&1) |
		sed -nE 's/^Ran ([0-9]+) of [0-9]+ Specs.*/\1/p' | tail -1
}

# Like upstream's node e2e jobs (hack/make-rules/test-e2e-node.sh): the
# focus without [Serial] on NODE_E2E_PROCS processes, then its [Serial]
# specs (ginkgo label Serial, which the suite gives every [Serial] spec) on
# one process with kubelet restarted. Upstream's jobs also skip [Flaky]
# (no [NodeConformance] spec carries it) and run [Slow] in a separate job;
# here [Slow] stays in the parallel pass.
procs=${NODE_E2E_PROCS:-4}
start=$(date +%s)
passes=()
rcs=()
want_passes=" ${NODE_E2E_PASSES:-parallel serial} "
if [[ $want_passes == *" parallel "* ]]; then
	run_pass parallel "$procs" "${focus_args[@]}" "${skip_args[@]}" --skip='\[Serial\]' --label-filter='!Serial'
	passes+=(parallel)
	rcs+=("$pass_rc")
fi
serial_specs=0
if [[ $want_passes == *" serial "* ]]; then
	serial_specs=$(count_specs "${focus_args[@]}" "${skip_args[@]}" --label-filter=Serial)
fi
if [[ ${serial_specs:-0} -gt 0 ]]; then
	run_pass serial 1 "${focus_args[@]}" "${skip_args[@]}" --label-filter=Serial
	passes+=(serial)
	rcs+=("$pass_rc")
elif [[ $want_passes == *" serial "* ]]; then
	log "no [Serial] spec in the focus: no serial pass"
else
	log "NODE_E2E_PASSES=$NODE_E2E_PASSES: no serial pass"
fi
elapsed=$(($(date +%s) - start))

cp "$H/logs/"*.log "$results/" 2>/dev/null
cleanup

# Each pass prints "Ran R of T Specs" and "SUCCESS!|FAIL! -- P Passed | F
# Failed | ... | S Skipped"; skipped below counts every spec of the suite
# that no pass ran (filtered out or skipped by the spec itself).
passed=0 failed=0 ran=0 total=0 test_rc=0
for i in "${!passes[@]}"; do
	f=$results/e2e_node-${passes[$i]}.log
	summary=$(grep -E '(SUCCESS|FAIL)! .*-- [0-9]+ Passed \| [0-9]+ Failed' "$f" | tail -1)
	ranline=$(grep -E '^Ran [0-9]+ of [0-9]+ Specs' "$f" | tail -1)
	if [[ -z "$summary" || -z "$ranline" ]]; then
		log "pass ${passes[$i]}: e2e_node.test (exit ${rcs[$i]}) printed no summary; see $f"
		echo "harness error: e2e_node.test did not finish"
		exit 2
	fi
	p=$(sed -E 's/.* ([0-9]+) Passed.*/\1/' <<<"$summary")
	fl=$(sed -E 's/.* ([0-9]+) Failed.*/\1/' <<<"$summary")
	r=$(sed -E 's/^Ran ([0-9]+) of.*/\1/' <<<"$ranline")
	total=$(sed -E 's/^Ran [0-9]+ of ([0-9]+) .*/\1/' <<<"$ranline")
	log "pass ${passes[$i]}: $p passed, $fl failed, ran $r of $total"
	passed=$((passed + p))
	failed=$((failed + fl))
	# "Ran R" counts the specs that skipped themselves too.
	ran=$((ran + p + fl))
	[[ ${rcs[$i]} == 0 ]] || test_rc=${rcs[$i]}
done
skipped=$((total - ran))
echo "$RUNTIME on containerd $containerd_version, runc $runc_version, kubelet $KUBELET_VERSION, $procs procs: ${elapsed}s" >"$results/summary.txt"
echo "$passed passed, $failed failed, $skipped skipped" | tee -a "$results/summary.txt"
[[ $failed == 0 && $test_rc == 0 ]]
