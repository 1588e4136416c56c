// Package network gives pod sandboxes their network: a pinned network
// namespace per pod, configured through CNI (libcni and the standard
// plugins), with the pod's IPs, host ports and DNS settings.
package network

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/containernetworking/cni/libcni"
	"github.com/containernetworking/cni/pkg/invoke"
	cnitypes "github.com/containernetworking/cni/pkg/types"
	current "github.com/containernetworking/cni/pkg/types/100"
	"go.opentelemetry.io/otel/attribute"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/faultpoint"
	"github.com/podshim/podshim/tracing"
)

// DefaultIfName is the pod's interface name, as Kubernetes expects.
const DefaultIfName = "eth0"

// Options configure a Manager.
type Options struct {
	ConfDir  string   // CNI config dir; the first config in it is the pod network
	BinDirs  []string // where CNI plugin binaries live
	CacheDir string   // libcni's result cache (volatile state)
	NetNSDir string   // where pod network namespaces are pinned
	Timeout  time.Duration
	Recorder Recorder        // counts CNI ADD and DEL and their failures; nil: not counted
	Faults   *faultpoint.Set // crash points (tests only; nil arms none)
}

// Manager sets pods' networks up and tears them down.
type Manager struct {
	opts Options
	cni  *libcni.CNIConfig

	mu      sync.Mutex // guards the cached config below
	cached  *libcni.NetworkConfigList
	cacheOf fileStamp
}

type fileStamp struct {
	path    string
	modTime time.Time
	size    int64
}

// Pod is what CNI needs to know of a pod.
type Pod struct {
	ID           string // sandbox ID (K8S_POD_INFRA_CONTAINER_ID)
	Name         string
	Namespace    string
	UID          string
	NetNS        string
	PortMappings []*runtime.PortMapping
	DNS          *runtime.DNSConfig
}

// Result is the outcome of a pod's network set-up.
type Result struct {
	IPs []string // the pod's IPs, first one primary
}

// New returns a Manager. It does not require a CNI config to exist yet:
// Status reports that until one appears.
func New(o Options) *Manager {
	if o.Timeout == 0 {
		o.Timeout = 2 * time.Minute
	}
	if o.NetNSDir == "" {
		o.NetNSDir = "/var/run/netns"
	}
	if o.Recorder == nil {
		o.Recorder = noRecorder{}
	}
	return &Manager{
		opts: o,
		cni:  libcni.NewCNIConfigWithCacheDir(o.BinDirs, o.CacheDir, newExec(o.Faults)),
	}
}

// Status returns nil when a pod network is configured, else why not.
func (m *Manager) Status() error {
	_, err := m.network()
	return err
}

// network returns the current pod network config, re-reading the config
// dir so that a config written after start-up is picked up without a
// restart. The parsed config is cached while its file is unchanged. The
// dir is listed and the file stat'ed (and, when changed, parsed) outside
// the lock: every CNI ADD and DEL and every Status call passes here, and
// with the file-system calls under the lock concurrent pod starts queued
// behind whichever holder the scheduler had preempted (bench: the mutex
// profile of 10 and 30 pods started at once was all this lock).
func (m *Manager) network() (*libcni.NetworkConfigList, error) {
	first, _ := firstConfFile(m.opts.ConfDir)
	stamp := stampOf(first)
	m.mu.Lock()
	cached, cachedOf := m.cached, m.cacheOf
	m.mu.Unlock()
	if cached != nil && stamp.same(cachedOf) {
		return cached, nil
	}
	list, path, err := loadDefaultNetwork(m.opts.ConfDir)
	m.mu.Lock()
	defer m.mu.Unlock()
	if err != nil {
		m.cached = nil
		return nil, err
	}
	m.cached, m.cacheOf = list, stampOf(path)
	return list, nil
}

func stampOf(path string) fileStamp {
	st, err := os.Stat(path)
	if err != nil {
		return fileStamp{}
	}
	return fileStamp{path: path, modTime: st.ModTime(), size: st.Size()}
}

// same tells whether f and o stamp the same, existing file unchanged.
func (f fileStamp) same(o fileStamp) bool {
	return f.path != "" && f.path == o.path && f.modTime.Equal(o.modTime) && f.size == o.size
}

// firstConfFile returns the config file that would be loaded first.
func firstConfFile(dir string) (string, error) {
	files, err := libcni.ConfFiles(dir, []string{".conf", ".conflist", ".json"})
	if err != nil || len(files) == 0 {
		return "", err
	}
	sort.Strings(files)
	return files[0], nil
}

// Setup runs CNI ADD for the pod and returns its IPs. When it fails, the
// caller must still call Teardown: a failed ADD may have allocated an IP.
func (m *Manager) Setup(ctx context.Context, pod Pod) (_ Result, retErr error) {
	ctx, end := tracing.Start(ctx, "cni.add", attribute.String("pod.sandbox_id", pod.ID))
	defer func() {
		m.opts.Recorder.CNIDone(OpAdd, retErr)
		end(retErr)
	}()
	list, err := m.network()
	if err != nil {
		return Result{}, err
	}
	ctx, cancel := context.WithTimeout(ctx, addTimeout(ctx, m.opts.Timeout))
	defer cancel()
	res, err := m.cni.AddNetworkList(ctx, list, runtimeConf(pod))
	if err != nil {
		if cerr := ctx.Err(); cerr != nil && !errors.Is(err, cerr) {
			err = fmt.Errorf("%w: %v", cerr, err) // the deadline is the cause, and the gRPC code
		}
		return Result{}, fmt.Errorf("CNI ADD on network %q for pod %s: %w", list.Name, pod.ID, err)
	}
	return parseResult(res)
}

// addDeadlineMargin is how much of the caller's time CNI ADD leaves for
// the undo and the answer (see addTimeout).
const addDeadlineMargin = 2 * time.Second

// addTimeout bounds a CNI ADD: the configured timeout, cut to end
// addDeadlineMargin before the caller's deadline, so that a hung plugin
// fails RunPodSandbox with an error naming CNI ADD (DeadlineExceeded)
// which reaches kubelet before its own deadline does.
func addTimeout(ctx context.Context, timeout time.Duration) time.Duration {
	if dl, ok := ctx.Deadline(); ok {
		if left := time.Until(dl); left > 2*addDeadlineMargin && left-addDeadlineMargin < timeout {
			return left - addDeadlineMargin
		}
	}
	return timeout
}

// Teardown runs CNI DEL for the pod. It uses the config the pod was set up
// with (libcni's cache) when there is one, so a changed config dir does not
// strand the pod's IP. It is idempotent.
func (m *Manager) Teardown(ctx context.Context, pod Pod) (retErr error) {
	ctx, end := tracing.Start(ctx, "cni.del", attribute.String("pod.sandbox_id", pod.ID))
	defer func() {
		m.opts.Recorder.CNIDone(OpDel, retErr)
		end(retErr)
	}()
	if !NetNSExists(pod.NetNS) {
		// The CNI spec lets DEL run without a netns: plugins still
		// release what lives outside it (IPs, NAT rules).
		pod.NetNS = ""
	}
	rt := runtimeConf(pod)
	list, err := m.network()
	if cachedBytes, _, cerr := m.cachedConfig(list, rt); cerr == nil && cachedBytes != nil {
		if cl, perr := libcni.ConfListFromBytes(cachedBytes); perr == nil {
			list, err = cl, nil
		}
	}
	if err != nil {
		return fmt.Errorf("CNI DEL for pod %s: %w", pod.ID, err)
	}
	ctx, cancel := context.WithTimeout(ctx, m.opts.Timeout)
	defer cancel()
	if err := m.cni.DelNetworkList(ctx, list, rt); err != nil {
		// DEL runs the chain in reverse and stops at the first failure,
		// stranding what earlier plugins hold (the IP, NAT rules). Go on
		// plugin by plugin, so every plugin that can release does.
		if perr := m.delEachPlugin(ctx, list, rt); perr != nil {
			return fmt.Errorf("CNI DEL on network %q for pod %s: %w", list.Name, pod.ID, perr)
		}
	}
	return nil
}

// ErrPluginNotInstalled marks a CNI DEL whose only failures are plugins
// whose binary is not installed: the plugins that are installed released
// what they hold.
var ErrPluginNotInstalled = errors.New("CNI plugin not installed")

// delEachPlugin runs DEL for each plugin of list, last first, past
// failures; it returns the first failure of an installed plugin, else an
// ErrPluginNotInstalled error naming the first missing one.
func (m *Manager) delEachPlugin(ctx context.Context, list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) error {
	var failed, missing error
	for i := len(list.Plugins) - 1; i >= 0; i-- {
		one := &libcni.NetworkConfigList{Name: list.Name, CNIVersion: list.CNIVersion, Plugins: list.Plugins[i : i+1]}
		err := m.cni.DelNetworkList(ctx, one, rt)
		switch {
		case err == nil:
		case !m.pluginInstalled(list.Plugins[i].Network.Type):
			if missing == nil {
				missing = fmt.Errorf("%w: %q: %v", ErrPluginNotInstalled, list.Plugins[i].Network.Type, err)
			}
		case failed == nil:
			failed = err
		}
	}
	if failed != nil {
		return failed
	}
	return missing
}

// pluginInstalled reports whether CNI plugin typ's binary is in a bin dir.
func (m *Manager) pluginInstalled(typ string) bool {
	_, err := invoke.FindInPath(typ, m.opts.BinDirs)
	return err == nil
}

func (m *Manager) cachedConfig(list *libcni.NetworkConfigList, rt *libcni.RuntimeConf) ([]byte, *libcni.RuntimeConf, error) {
	if list == nil {
		// Without a current config, find the cached attachment by ID.
		atts, err := m.cni.GetCachedAttachments(rt.ContainerID)
		if err != nil || len(atts) == 0 {
			return nil, nil, fmt.Errorf("no cached CNI attachment for %s", rt.ContainerID)
		}
		return atts[0].Config, nil, nil
	}
	return m.cni.GetNetworkListCachedConfig(list, rt)
}

func runtimeConf(pod Pod) *libcni.RuntimeConf {
	rt := &libcni.RuntimeConf{
		ContainerID: pod.ID,
		NetNS:       pod.NetNS,
		IfName:      DefaultIfName,
		Args: [][2]string{
			{"IgnoreUnknown", "1"},
			{"K8S_POD_NAMESPACE", pod.Namespace},
			{"K8S_POD_NAME", pod.Name},
			{"K8S_POD_INFRA_CONTAINER_ID", pod.ID},
			{"K8S_POD_UID", pod.UID},
		},
		CapabilityArgs: map[string]interface{}{},
	}
	var ports []map[string]interface{}
	for _, p := range pod.PortMappings {
		if p.GetHostPort() <= 0 {
			continue
		}
		pm := map[string]interface{}{
			"hostPort":      p.GetHostPort(),
			"containerPort": p.GetContainerPort(),
			"protocol":      strings.ToLower(p.GetProtocol().String()),
		}
		if p.GetHostIp() != "" {
			pm["hostIP"] = p.GetHostIp()
		}
		ports = append(ports, pm)
	}
	if len(ports) > 0 {
		rt.CapabilityArgs["portMappings"] = ports
	}
	if d := pod.DNS; d != nil {
		rt.CapabilityArgs["dns"] = map[string]interface{}{
			"servers":  d.GetServers(),
			"searches": d.GetSearches(),
			"options":  d.GetOptions(),
		}
	}
	return rt
}

func parseResult(res cnitypes.Result) (Result, error) {
	r, err := current.NewResultFromResult(res)
	if err != nil {
		return Result{}, fmt.Errorf("convert CNI result: %w", err)
	}
	var out Result
	for _, ip := range r.IPs {
		if ip.Interface != nil && *ip.Interface >= 0 && *ip.Interface < len(r.Interfaces) && r.Interfaces[*ip.Interface].Name != DefaultIfName {
			continue
		}
		out.IPs = append(out.IPs, ip.Address.IP.String())
	}
	if len(out.IPs) == 0 {
		return out, fmt.Errorf("CNI result has no IP on %s", DefaultIfName)
	}
	return out, nil
}
