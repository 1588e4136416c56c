package integration

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/api/services/tasks/v1"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/snapshots"

	"github.com/podshim/podshim/sandbox/shimproc"
)

// Kinds of host resources a pod allocates.
const (
	kindNetNS      = "netns"                // pinned network namespaces in podshimd's netns dir
	kindIPs        = "host-local IP"        // IP reservations of the suite's network
	kindVeths      = "veth on bridge"       // interfaces attached to the suite's bridge
	kindMounts     = "mount"                // mount points below podshimd's dir
	kindContainers = "containerd container" // in podshimd's namespace
	kindTasks      = "containerd task"
	kindSnapshots  = "active snapshot"
	kindShims      = "shim"             // containerd-shim processes of the suite's containerd
	kindDirs       = "state dir"        // sandbox and container dirs below root and state
	kindCNICache   = "CNI cache result" // libcni's cached results
	kindIptables   = "iptables nat rule"
	kindLeases     = "containerd lease"
	kindCtrdMounts = "containerd mount"          // rootfs and other mounts below the suite's containerd dirs
	kindCgroups    = "cgroup"                    // pids cgroups below /<namespace> (the pods' default parent)
	kindRuncState  = "runc state"                // runc's container state dirs below podshimd's state dir
	kindSandboxRec = "containerd sandbox record" // containerd 2.x's sandbox store (package sandboxshim)
)

// resources is what exists on the host, by kind, each item a sorted string.
type resources map[string][]string

// takeResources lists the resources pods of the suite's podshimd allocate
// on this host.
func takeResources(ctx context.Context) resources {
	return takeResourcesOf(ctx, env.podshimd.Dir, ctrdNamespace)
}

// takeResourcesOf lists the resources of the podshimd living in dir with
// containerd namespace ns (and of every pod on the suite's network and
// containerd).
func takeResourcesOf(ctx context.Context, pd, ns string) resources {
	r := resources{}
	r[kindNetNS] = dirEntries(filepath.Join(pd, "netns"))
	for _, ip := range dirEntries(hostLocalDir) {
		if ip != "lock" && !strings.HasPrefix(ip, "last_reserved_ip") {
			r[kindIPs] = append(r[kindIPs], ip)
		}
	}
	r[kindVeths] = bridgePorts()
	r[kindMounts] = mountsBelow(pd)
	r[kindCtrdMounts] = mountsBelow(filepath.Join(env.dir, "containerd"))
	r[kindCgroups] = subdirs(filepath.Join("/sys/fs/cgroup/pids", ns))
	r[kindRuncState] = dirEntries(filepath.Join(pd, "state", "runc", ns))
	ctx = namespaces.WithNamespace(ctx, ns)
	if ls, err := env.ctrd.LeasesService().List(ctx); err == nil {
		for _, l := range ls {
			r[kindLeases] = append(r[kindLeases], l.ID)
		}
	} else {
		r[kindLeases] = []string{"ERROR " + err.Error()}
	}
	if cs, err := env.ctrd.Containers(ctx); err == nil {
		for _, c := range cs {
			r[kindContainers] = append(r[kindContainers], c.ID())
		}
	} else {
		r[kindContainers] = []string{"ERROR " + err.Error()}
	}
	if ts, err := env.ctrd.TaskService().List(ctx, &tasks.ListTasksRequest{}); err == nil {
		for _, t := range ts.Tasks {
			r[kindTasks] = append(r[kindTasks], t.ID)
		}
	} else {
		r[kindTasks] = []string{"ERROR " + err.Error()}
	}
	// containerd 1.6 has no sandbox store (Unimplemented): nothing listed.
	if sbs, err := env.ctrd.SandboxStore().List(ctx); err == nil {
		for _, sb := range sbs {
			r[kindSandboxRec] = append(r[kindSandboxRec], sb.ID)
		}
	} else if !errdefs.IsNotImplemented(err) {
		r[kindSandboxRec] = []string{"ERROR " + err.Error()}
	}
	err := env.ctrd.SnapshotService("overlayfs").Walk(ctx, func(_ context.Context, info snapshots.Info) error {
		if info.Kind == snapshots.KindActive {
			r[kindSnapshots] = append(r[kindSnapshots], info.Name)
		}
		return nil
	})
	if err != nil {
		r[kindSnapshots] = []string{"ERROR " + err.Error()}
	}
	for _, s := range shimProcesses() {
		r[kindShims] = append(r[kindShims], fmt.Sprintf("pid %d id %s", s.pid, s.id))
	}
	for _, base := range []string{"root/sandboxes", "state/sandboxes", "root/containers", "state/containers"} {
		for _, e := range dirEntries(filepath.Join(pd, base)) {
			r[kindDirs] = append(r[kindDirs], base+"/"+e)
		}
	}
	r[kindCNICache] = dirEntries(filepath.Join(pd, "state", "cni-cache", "results"))
	r[kindIptables] = iptablesRules(networkName)
	for k := range r {
		sort.Strings(r[k])
	}
	return r
}

// newSince returns the items of r that were not in before, as "kind item".
func (r resources) newSince(before resources) []string {
	var out []string
	for kind, items := range r {
		old := map[string]bool{}
		for _, it := range before[kind] {
			old[it] = true
		}
		for _, it := range items {
			if !old[it] {
				out = append(out, kind+": "+it)
			}
		}
	}
	sort.Strings(out)
	return out
}

// assertNoNewResources waits (shims exit asynchronously) until every
// resource that exists now also existed in before, and fails t with the
// list of leaked ones otherwise.
func assertNoNewResources(t *testing.T, before resources, what string) {
	t.Helper()
	assertNoNewResourcesIn(t, before, what, takeResources)
}

// assertNoNewResourcesIn is assertNoNewResources with take listing the
// resources.
func assertNoNewResourcesIn(t *testing.T, before resources, what string, take func(context.Context) resources) {
	t.Helper()
	var leaked []string
	deadline := time.Now().Add(10 * time.Second)
	for {
		leaked = take(context.Background()).newSince(before)
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	t.Errorf("%s left %d resources behind:\n  %s", what, len(leaked), strings.Join(leaked, "\n  "))
}

func dirEntries(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		out = append(out, e.Name())
	}
	return out
}

// subdirs lists the directories in dir.
func subdirs(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}

// bridgePorts lists the interfaces attached to the suite's bridge.
func bridgePorts() []string {
	out, err := exec.Command("ip", "-o", "link", "show", "master", bridgeName).CombinedOutput()
	if err != nil {
		if strings.Contains(string(out), "does not exist") {
			return nil
		}
		return []string{"ERROR " + strings.TrimSpace(string(out))}
	}
	var ports []string
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 {
			ports = append(ports, strings.TrimSuffix(strings.SplitN(f[1], "@", 2)[0], ":"))
		}
	}
	return ports
}

// mountsBelow lists the mount points at or below dir.
func mountsBelow(dir string) []string {
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		return []string{"ERROR " + err.Error()}
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			out = append(out, f[4])
		}
	}
	return out
}

// iptablesRules returns the nat rules whose text mentions word (the CNI
// bridge and portmap plugins name the network in their rule comments).
func iptablesRules(word string) []string {
	out, err := exec.Command("iptables-save", "-t", "nat").CombinedOutput()
	if err != nil {
		return []string{"ERROR " + strings.TrimSpace(string(out))}
	}
	var rules []string
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, word) {
			rules = append(rules, line)
		}
	}
	return rules
}

// shim is a containerd-shim process of the suite's containerd.
type shim struct {
	pid  int
	id   string // the -id argument: the first task of the shim's group
	args []string
}

// shimProcesses lists the containerd-shim processes whose command line
// names the suite's containerd socket.
func shimProcesses() []shim {
	var out []shim
	for _, p := range shimproc.Find(func(args []string) bool { return slices.Contains(args, env.containerd.Address) }) {
		out = append(out, shim{pid: p.Pid, id: shimproc.Arg(p.Args, "-id"), args: p.Args})
	}
	return out
}

// parentPid returns the parent of process pid.
func parentPid(pid int) (int, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, "PPid:"); ok {
			return strconv.Atoi(strings.TrimSpace(v))
		}
	}
	return 0, fmt.Errorf("no PPid in /proc/%d/status", pid)
}

// processAlive reports whether pid exists and is not a zombie.
func processAlive(pid int) bool {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	// pid (comm) state ...; comm may hold spaces, the state follows the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	return i > 0 && i+2 < len(s) && s[i+2] != 'Z'
}
