package server

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri"
	"github.com/podshim/podshim/sandbox"
)

// pollFixture is a real podshim gRPC server on a unix socket whose stores
// hold kubelet-like pods (filled through the services' AddForTest hooks,
// as there is no containerd), and a CRI client connected to it.
type pollFixture struct {
	srv        *Server
	client     runtime.RuntimeServiceClient
	sandboxes  *sandbox.Service
	containers *cri.Service
	sandboxIDs []string
	ctrIDs     []string
}

// newPollFixture serves pods pods with ctrsPerPod containers each. Every
// pod and container carries the labels and annotations kubelet sets.
func newPollFixture(tb testing.TB, pods, ctrsPerPod int) *pollFixture {
	tb.Helper()
	return newFixture(tb, pods, ctrsPerPod, fixtureOptions{})
}

// fixtureOptions change a fixture's pods, containers and server options.
type fixtureOptions struct {
	pod       func(*runtime.PodSandboxConfig)
	container func(*runtime.ContainerConfig)
	server    func(*Options)
}

// newFixture is newPollFixture with options.
func newFixture(tb testing.TB, pods, ctrsPerPod int, o fixtureOptions) *pollFixture {
	tb.Helper()
	f := &pollFixture{sandboxes: sandbox.New(sandbox.Options{})}
	f.containers = cri.New(cri.Options{Sandboxes: f.sandboxes})
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC).UnixNano()
	for p := 0; p < pods; p++ {
		sbID := fakeID("sb", p)
		cfg := kubeletPodConfig(p)
		if o.pod != nil {
			o.pod(cfg)
		}
		f.sandboxes.AddForTest(sandbox.Metadata{
			ID: sbID, Name: fmt.Sprintf("%s_%s_%s_0", cfg.Metadata.Name, cfg.Metadata.Namespace, cfg.Metadata.Uid),
			Config: cfg, Runtime: sandbox.DefaultRuntime,
			NetNSPath: "/var/run/netns/cni-" + sbID[:12], IPs: []string{fmt.Sprintf("10.88.%d.%d", p/250, p%250+2)},
			CreatedAt: created + int64(p), CgroupsPath: "/kubepods/besteffort/pod" + cfg.Metadata.Uid,
		}, sandbox.Status{State: runtime.PodSandboxState_SANDBOX_READY, Pid: uint32(1000 + p)})
		f.sandboxIDs = append(f.sandboxIDs, sbID)
		for c := 0; c < ctrsPerPod; c++ {
			id := fakeID("ct", p*ctrsPerPod+c)
			ccfg := kubeletContainerConfig(cfg, c)
			if o.container != nil {
				o.container(ccfg)
			}
			f.containers.AddForTest(cri.Metadata{
				ID: id, Name: ccfg.Metadata.Name + "_" + cfg.Metadata.Name, SandboxID: sbID, Config: ccfg,
				ImageID:   "sha256:" + fakeID("img", c),
				ImageName: ccfg.Image.Image,
				ImageRef:  "registry.k8s.io/e2e-test-images/agnhost@sha256:" + fakeID("dg", c),
				LogPath:   fmt.Sprintf("/var/log/pods/%s_%s_%s/%s/0.log", cfg.Metadata.Namespace, cfg.Metadata.Name, cfg.Metadata.Uid, ccfg.Metadata.Name),
				CreatedAt: created + int64(p*ctrsPerPod+c),
			}, cri.Status{State: runtime.ContainerState_CONTAINER_RUNNING, Pid: uint32(5000 + p*ctrsPerPod + c), StartedAt: created + 1e9})
			f.ctrIDs = append(f.ctrIDs, id)
		}
	}
	opts := Options{Namespace: "podshim", Sandboxes: f.sandboxes, Containers: f.containers}
	if o.server != nil {
		o.server(&opts)
	}
	f.srv = New(opts)

	sock := filepath.Join(tb.TempDir(), "podshim.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		tb.Fatal(err)
	}
	g := f.srv.GRPCServer()
	go func() { _ = g.Serve(l) }()
	tb.Cleanup(g.Stop)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()),
		grpc.WithDefaultCallOptions(grpc.MaxCallRecvMsgSize(16<<20)))
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { conn.Close() })
	f.client = runtime.NewRuntimeServiceClient(conn)
	if _, err := f.client.ListPodSandbox(context.Background(), &runtime.ListPodSandboxRequest{}); err != nil {
		tb.Fatal(err)
	}
	return f
}

// fakeID is a 64-hex-digit ID, distinct per kind and index in its first 12
// digits (so that short prefixes are unique, as with random IDs).
func fakeID(kind string, i int) string {
	return fmt.Sprintf("%08x%x%052x", i*7919+13, kind[:2], i)
}

// kubeletPodConfig is a pod sandbox config as kubelet sends it for a
// Deployment's pod.
func kubeletPodConfig(i int) *runtime.PodSandboxConfig {
	name := fmt.Sprintf("web-7d9c8b6f5-%05d", i)
	ns := "team-" + strconv.Itoa(i%7)
	uid := fmt.Sprintf("6f1d2c3b-%04x-4a5b-9c8d-%012x", i, i*31)
	return &runtime.PodSandboxConfig{
		Metadata:     &runtime.PodSandboxMetadata{Name: name, Namespace: ns, Uid: uid},
		Hostname:     name,
		LogDirectory: fmt.Sprintf("/var/log/pods/%s_%s_%s", ns, name, uid),
		Labels: map[string]string{
			"io.kubernetes.pod.name":      name,
			"io.kubernetes.pod.namespace": ns,
			"io.kubernetes.pod.uid":       uid,
			"app":                         "web",
			"pod-template-hash":           "7d9c8b6f5",
		},
		Annotations: map[string]string{
			"kubernetes.io/config.seen":   "2026-01-02T03:04:05.123456789Z",
			"kubernetes.io/config.source": "api",
			"kubernetes.io/config.hash":   fmt.Sprintf("%032x", i),
			"prometheus.io/scrape":        "true",
			"prometheus.io/port":          "8080",
		},
		Linux: &runtime.LinuxPodSandboxConfig{
			CgroupParent: "/kubepods/besteffort/pod" + uid,
			SecurityContext: &runtime.LinuxSandboxSecurityContext{
				NamespaceOptions: &runtime.NamespaceOption{Network: runtime.NamespaceMode_POD, Pid: runtime.NamespaceMode_CONTAINER, Ipc: runtime.NamespaceMode_POD},
			},
		},
	}
}

// kubeletContainerConfig is the config of the c-th container of a pod as
// kubelet sends it.
func kubeletContainerConfig(pod *runtime.PodSandboxConfig, c int) *runtime.ContainerConfig {
	name := []string{"app", "sidecar", "init", "extra"}[c%4]
	m := pod.Metadata
	return &runtime.ContainerConfig{
		Metadata: &runtime.ContainerMetadata{Name: name},
		Image:    &runtime.ImageSpec{Image: "registry.k8s.io/e2e-test-images/agnhost:2.52", UserSpecifiedImage: "registry.k8s.io/e2e-test-images/agnhost:2.52"},
		Command:  []string{"/agnhost", "netexec", "--http-port=8080"},
		Envs:     []*runtime.KeyValue{{Key: "KUBERNETES_SERVICE_HOST", Value: []byte("10.96.0.1")}, {Key: "KUBERNETES_SERVICE_PORT", Value: []byte("443")}},
		Labels: map[string]string{
			"io.kubernetes.container.name": name,
			"io.kubernetes.pod.name":       m.Name,
			"io.kubernetes.pod.namespace":  m.Namespace,
			"io.kubernetes.pod.uid":        m.Uid,
			"app":                          "web",
		},
		Annotations: map[string]string{
			"io.kubernetes.container.hash":                     fmt.Sprintf("%08x", c*104729+7),
			"io.kubernetes.container.restartCount":             "0",
			"io.kubernetes.container.terminationMessagePath":   "/dev/termination-log",
			"io.kubernetes.container.terminationMessagePolicy": "File",
			"io.kubernetes.pod.terminationGracePeriod":         "30",
		},
		Mounts: []*runtime.Mount{
			{ContainerPath: "/var/run/secrets/kubernetes.io/serviceaccount", HostPath: "/var/lib/kubelet/pods/" + m.Uid + "/volumes/kubernetes.io~projected/kube-api-access-x7k2p", Readonly: true},
			{ContainerPath: "/etc/hosts", HostPath: "/var/lib/kubelet/pods/" + m.Uid + "/etc-hosts"},
			{ContainerPath: "/dev/termination-log", HostPath: "/var/lib/kubelet/pods/" + m.Uid + "/containers/" + name + "/0a1b2c3d"},
		},
		LogPath: name + "/0.log",
		Linux: &runtime.LinuxContainerConfig{
			Resources: &runtime.LinuxContainerResources{CpuPeriod: 100000, CpuShares: 2, OomScoreAdj: 1000, MemoryLimitInBytes: 0},
		},
	}
}
