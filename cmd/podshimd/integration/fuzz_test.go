package integration

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The fuzzer's defaults; PODSHIM_FUZZ_SEED and PODSHIM_FUZZ_REQUESTS
// change them.
const (
	fuzzSeed     = 20261205
	fuzzRequests = 2400
)

// fuzzRPC is one RPC the fuzzer calls: a base request (valid, on the live
// objects) that the mutator changes, and the call.
type fuzzRPC struct {
	name   string
	weight int
	base   func(*fuzzTargets) proto.Message
	call   func(context.Context, proto.Message) (proto.Message, error)
}

func unaryRPC[Req proto.Message, Resp proto.Message](name string, weight int, base func(*fuzzTargets) Req,
	fn func(context.Context, Req, ...grpc.CallOption) (Resp, error)) fuzzRPC {
	return fuzzRPC{name: name, weight: weight,
		base: func(tg *fuzzTargets) proto.Message { return base(tg) },
		call: func(ctx context.Context, m proto.Message) (proto.Message, error) { return fn(ctx, m.(Req)) },
	}
}

// streamRPC calls a server-streaming RPC and reads its first message.
func streamRPC[Req proto.Message, Resp any](name string, weight int, base func(*fuzzTargets) Req,
	fn func(context.Context, Req, ...grpc.CallOption) (grpc.ServerStreamingClient[Resp], error)) fuzzRPC {
	return fuzzRPC{name: name, weight: weight,
		base: func(tg *fuzzTargets) proto.Message { return base(tg) },
		call: func(ctx context.Context, m proto.Message) (proto.Message, error) {
			ctx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
			defer cancel()
			s, err := fn(ctx, m.(Req))
			if err != nil {
				return nil, err
			}
			if _, err := s.Recv(); err != nil && !errors.Is(err, io.EOF) {
				if status.Code(err) == codes.DeadlineExceeded {
					return nil, nil // the stream was open and waiting: fine
				}
				return nil, err
			}
			return nil, nil
		},
	}
}

// fuzzTargets are the live objects the base requests name.
type fuzzTargets struct {
	pod       *criapi.PodSandboxConfig
	podID     string
	running   string // a running container that ends on SIGTERM
	created   string // a created container
	n         int
	hostPaths string // below the suite's dir
}

// fuzzRPCs are every RPC of the runtime and image services.
func fuzzRPCs(t *testing.T) []fuzzRPC {
	r, im := rt(), img()
	ctr := func(tg *fuzzTargets) *criapi.ContainerConfig {
		tg.n++
		c := containerConfig(tg.pod, "fuzz-"+strconv.Itoa(tg.n), "sleep", "1")
		c.Mounts = []*criapi.Mount{{ContainerPath: "/data", HostPath: tg.hostPaths}}
		c.Envs = []*criapi.KeyValue{{Key: "A", Value: []byte("b")}}
		c.Linux.Resources = &criapi.LinuxContainerResources{CpuShares: 512, MemoryLimitInBytes: 64 << 20}
		return c
	}
	res := func() *criapi.LinuxContainerResources {
		return &criapi.LinuxContainerResources{CpuShares: 512, CpuPeriod: 100000, CpuQuota: 50000, MemoryLimitInBytes: 64 << 20, CpusetCpus: "0", CpusetMems: "0"}
	}
	return []fuzzRPC{
		unaryRPC("Version", 1, func(*fuzzTargets) *criapi.VersionRequest { return &criapi.VersionRequest{Version: "v1"} }, r.Version),
		unaryRPC("RunPodSandbox", 4, func(tg *fuzzTargets) *criapi.RunPodSandboxRequest {
			c := podConfig(t)
			c.PortMappings = []*criapi.PortMapping{{Protocol: criapi.Protocol_TCP, ContainerPort: 80}}
			c.DnsConfig = &criapi.DNSConfig{Servers: []string{"10.0.0.10"}, Searches: []string{"svc.local"}, Options: []string{"ndots:5"}}
			c.Linux.Sysctls = map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"}
			c.Linux.Resources = res()
			return &criapi.RunPodSandboxRequest{Config: c}
		}, r.RunPodSandbox),
		unaryRPC("StopPodSandbox", 2, func(tg *fuzzTargets) *criapi.StopPodSandboxRequest {
			return &criapi.StopPodSandboxRequest{PodSandboxId: "0" + tg.podID[1:]}
		}, r.StopPodSandbox),
		unaryRPC("RemovePodSandbox", 2, func(tg *fuzzTargets) *criapi.RemovePodSandboxRequest {
			return &criapi.RemovePodSandboxRequest{PodSandboxId: "0" + tg.podID[1:]}
		}, r.RemovePodSandbox),
		unaryRPC("PodSandboxStatus", 3, func(tg *fuzzTargets) *criapi.PodSandboxStatusRequest {
			return &criapi.PodSandboxStatusRequest{PodSandboxId: tg.podID, Verbose: true}
		}, r.PodSandboxStatus),
		unaryRPC("ListPodSandbox", 3, func(tg *fuzzTargets) *criapi.ListPodSandboxRequest {
			return &criapi.ListPodSandboxRequest{Filter: &criapi.PodSandboxFilter{Id: tg.podID, LabelSelector: map[string]string{"itest": "true"}}}
		}, r.ListPodSandbox),
		streamRPC("StreamPodSandboxes", 1, func(*fuzzTargets) *criapi.StreamPodSandboxesRequest { return &criapi.StreamPodSandboxesRequest{} }, r.StreamPodSandboxes),
		unaryRPC("CreateContainer", 4, func(tg *fuzzTargets) *criapi.CreateContainerRequest {
			return &criapi.CreateContainerRequest{PodSandboxId: tg.podID, Config: ctr(tg), SandboxConfig: tg.pod}
		}, r.CreateContainer),
		unaryRPC("StartContainer", 2, func(tg *fuzzTargets) *criapi.StartContainerRequest {
			return &criapi.StartContainerRequest{ContainerId: tg.running}
		}, r.StartContainer),
		unaryRPC("StopContainer", 2, func(tg *fuzzTargets) *criapi.StopContainerRequest {
			return &criapi.StopContainerRequest{ContainerId: "0" + tg.running[1:], Timeout: 2}
		}, r.StopContainer),
		unaryRPC("RemoveContainer", 2, func(tg *fuzzTargets) *criapi.RemoveContainerRequest {
			return &criapi.RemoveContainerRequest{ContainerId: "0" + tg.created[1:]}
		}, r.RemoveContainer),
		unaryRPC("ListContainers", 3, func(tg *fuzzTargets) *criapi.ListContainersRequest {
			return &criapi.ListContainersRequest{Filter: &criapi.ContainerFilter{PodSandboxId: tg.podID}}
		}, r.ListContainers),
		streamRPC("StreamContainers", 1, func(*fuzzTargets) *criapi.StreamContainersRequest { return &criapi.StreamContainersRequest{} }, r.StreamContainers),
		unaryRPC("ContainerStatus", 3, func(tg *fuzzTargets) *criapi.ContainerStatusRequest {
			return &criapi.ContainerStatusRequest{ContainerId: tg.running, Verbose: true}
		}, r.ContainerStatus),
		unaryRPC("UpdateContainerResources", 5, func(tg *fuzzTargets) *criapi.UpdateContainerResourcesRequest {
			return &criapi.UpdateContainerResourcesRequest{ContainerId: tg.running, Linux: res()}
		}, r.UpdateContainerResources),
		unaryRPC("ReopenContainerLog", 2, func(tg *fuzzTargets) *criapi.ReopenContainerLogRequest {
			return &criapi.ReopenContainerLogRequest{ContainerId: tg.running}
		}, r.ReopenContainerLog),
		unaryRPC("ExecSync", 4, func(tg *fuzzTargets) *criapi.ExecSyncRequest {
			return &criapi.ExecSyncRequest{ContainerId: tg.running, Cmd: []string{"echo", "hi"}, Timeout: 5}
		}, r.ExecSync),
		unaryRPC("Exec", 3, func(tg *fuzzTargets) *criapi.ExecRequest {
			return &criapi.ExecRequest{ContainerId: tg.running, Cmd: []string{"sh"}, Stdin: true, Stdout: true}
		}, r.Exec),
		unaryRPC("Attach", 3, func(tg *fuzzTargets) *criapi.AttachRequest {
			return &criapi.AttachRequest{ContainerId: tg.running, Stdout: true}
		}, r.Attach),
		unaryRPC("PortForward", 3, func(tg *fuzzTargets) *criapi.PortForwardRequest {
			return &criapi.PortForwardRequest{PodSandboxId: tg.podID, Port: []int32{80}}
		}, r.PortForward),
		unaryRPC("ContainerStats", 2, func(tg *fuzzTargets) *criapi.ContainerStatsRequest {
			return &criapi.ContainerStatsRequest{ContainerId: tg.running}
		}, r.ContainerStats),
		unaryRPC("ListContainerStats", 2, func(tg *fuzzTargets) *criapi.ListContainerStatsRequest {
			return &criapi.ListContainerStatsRequest{Filter: &criapi.ContainerStatsFilter{PodSandboxId: tg.podID}}
		}, r.ListContainerStats),
		streamRPC("StreamContainerStats", 1, func(*fuzzTargets) *criapi.StreamContainerStatsRequest {
			return &criapi.StreamContainerStatsRequest{}
		}, r.StreamContainerStats),
		unaryRPC("PodSandboxStats", 2, func(tg *fuzzTargets) *criapi.PodSandboxStatsRequest {
			return &criapi.PodSandboxStatsRequest{PodSandboxId: tg.podID}
		}, r.PodSandboxStats),
		unaryRPC("ListPodSandboxStats", 2, func(tg *fuzzTargets) *criapi.ListPodSandboxStatsRequest {
			return &criapi.ListPodSandboxStatsRequest{Filter: &criapi.PodSandboxStatsFilter{Id: tg.podID}}
		}, r.ListPodSandboxStats),
		streamRPC("StreamPodSandboxStats", 1, func(*fuzzTargets) *criapi.StreamPodSandboxStatsRequest {
			return &criapi.StreamPodSandboxStatsRequest{}
		}, r.StreamPodSandboxStats),
		unaryRPC("UpdateRuntimeConfig", 2, func(*fuzzTargets) *criapi.UpdateRuntimeConfigRequest {
			return &criapi.UpdateRuntimeConfigRequest{RuntimeConfig: &criapi.RuntimeConfig{NetworkConfig: &criapi.NetworkConfig{PodCidr: "10.91.0.0/16"}}}
		}, r.UpdateRuntimeConfig),
		unaryRPC("Status", 1, func(*fuzzTargets) *criapi.StatusRequest { return &criapi.StatusRequest{Verbose: true} }, r.Status),
		unaryRPC("CheckpointContainer", 1, func(tg *fuzzTargets) *criapi.CheckpointContainerRequest {
			return &criapi.CheckpointContainerRequest{ContainerId: tg.running, Location: "/tmp/x"}
		}, r.CheckpointContainer),
		streamRPC("GetContainerEvents", 1, func(*fuzzTargets) *criapi.GetEventsRequest { return &criapi.GetEventsRequest{} }, r.GetContainerEvents),
		unaryRPC("ListMetricDescriptors", 1, func(*fuzzTargets) *criapi.ListMetricDescriptorsRequest {
			return &criapi.ListMetricDescriptorsRequest{}
		}, r.ListMetricDescriptors),
		unaryRPC("ListPodSandboxMetrics", 1, func(*fuzzTargets) *criapi.ListPodSandboxMetricsRequest {
			return &criapi.ListPodSandboxMetricsRequest{}
		}, r.ListPodSandboxMetrics),
		streamRPC("StreamPodSandboxMetrics", 1, func(*fuzzTargets) *criapi.StreamPodSandboxMetricsRequest {
			return &criapi.StreamPodSandboxMetricsRequest{}
		}, r.StreamPodSandboxMetrics),
		unaryRPC("RuntimeConfig", 1, func(*fuzzTargets) *criapi.RuntimeConfigRequest { return &criapi.RuntimeConfigRequest{} }, r.RuntimeConfig),
		unaryRPC("UpdatePodSandboxResources", 1, func(tg *fuzzTargets) *criapi.UpdatePodSandboxResourcesRequest {
			return &criapi.UpdatePodSandboxResourcesRequest{PodSandboxId: tg.podID, Resources: &criapi.LinuxContainerResources{CpuShares: 1024}}
		}, r.UpdatePodSandboxResources),
		unaryRPC("ListImages", 2, func(*fuzzTargets) *criapi.ListImagesRequest {
			return &criapi.ListImagesRequest{Filter: &criapi.ImageFilter{Image: &criapi.ImageSpec{Image: busyboxImage}}}
		}, im.ListImages),
		streamRPC("StreamImages", 1, func(*fuzzTargets) *criapi.StreamImagesRequest { return &criapi.StreamImagesRequest{} }, im.StreamImages),
		unaryRPC("ImageStatus", 2, func(*fuzzTargets) *criapi.ImageStatusRequest {
			return &criapi.ImageStatusRequest{Image: &criapi.ImageSpec{Image: busyboxImage}, Verbose: true}
		}, im.ImageStatus),
		unaryRPC("PullImage", 2, func(*fuzzTargets) *criapi.PullImageRequest {
			return &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: "docker.io/library/podshim-fuzz-none:1"}}
		}, im.PullImage),
		unaryRPC("RemoveImage", 2, func(*fuzzTargets) *criapi.RemoveImageRequest {
			return &criapi.RemoveImageRequest{Image: &criapi.ImageSpec{Image: "docker.io/library/podshim-fuzz-none:1"}}
		}, im.RemoveImage),
		unaryRPC("ImageFsInfo", 1, func(*fuzzTargets) *criapi.ImageFsInfoRequest { return &criapi.ImageFsInfoRequest{} }, im.ImageFsInfo),
	}
}

// envInt reads an integer from the environment, or def.
func envInt(t *testing.T, name string, def uint64) uint64 {
	if v := os.Getenv(name); v != "" {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			t.Fatalf("%s=%q: %v", name, v, err)
		}
		return n
	}
	return def
}

// TestFuzzCRI sends thousands of mutated requests over every RPC to the
// suite's podshimd and checks that it stays up, never answers Unknown or
// Internal (bad input is InvalidArgument, NotFound, FailedPrecondition...;
// the codes per RPC are printed), and leaves nothing behind.
func TestFuzzCRI(t *testing.T) {
	seed := envInt(t, "PODSHIM_FUZZ_SEED", fuzzSeed)
	total := int(envInt(t, "PODSHIM_FUZZ_REQUESTS", fuzzRequests))
	before := takeResources(context.Background())
	logStart := len(env.podshimd.LogTail(1 << 30))
	tg := &fuzzTargets{hostPaths: env.dir + "/fuzz-host/data"}
	defer tg.remove(t)
	tg.ensure(t)

	rpcs := fuzzRPCs(t)
	var weights []int
	for i, r := range rpcs {
		for j := 0; j < r.weight; j++ {
			weights = append(weights, i)
		}
	}
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	m := &mutator{rng: rng}
	counts := map[string]map[codes.Code]int{}
	var bad []string
	start := time.Now()
	for i := 0; i < total; i++ {
		if i%50 == 0 {
			if !env.podshimd.Running() {
				t.Fatalf("podshimd died after %d fuzzed requests; log:\n%s", i, env.podshimd.LogTail(4000))
			}
			tg.ensure(t)
			m.strs = append(baseStrings(env.dir), tg.podID, tg.running, tg.created, tg.podID[:12])
		}
		rpc := rpcs[weights[rng.IntN(len(weights))]]
		req := rpc.base(tg)
		m.mutate(req.ProtoReflect())
		tg.tame(t, rpc.name, req)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		resp, err := rpc.call(ctx, req)
		cancel()
		code := status.Code(err)
		if counts[rpc.name] == nil {
			counts[rpc.name] = map[codes.Code]int{}
		}
		counts[rpc.name][code]++
		if code == codes.Unknown || code == codes.Internal {
			bad = append(bad, fmt.Sprintf("#%d %s: %v: %s\n    request: %s", i, rpc.name, code, clipText(status.Convert(err).Message(), 400), clipText(fmt.Sprint(req), 400)))
		}
		if err == nil {
			tg.undo(t, resp)
		}
	}
	elapsed := time.Since(start)

	if _, err := rt().Version(context.Background(), &criapi.VersionRequest{}); err != nil || !env.podshimd.Running() {
		t.Fatalf("podshimd is not serving after the fuzzer (%v); log:\n%s", err, env.podshimd.LogTail(4000))
	}
	if log := env.podshimd.LogTail(1 << 30); len(log) > logStart && strings.Contains(log[logStart:], "panic in ") {
		t.Errorf("podshimd logged a panic while fuzzed")
	}
	table := codeTable(counts)
	t.Logf("%d fuzzed requests (seed %d) in %s; codes per RPC:\n%s", total, seed, elapsed.Round(time.Millisecond), table)
	report := fmt.Sprintf("fuzzer: %d requests (seed %d, stack %s) in %s; codes per RPC:\n%s", total, seed, os.Getenv("STACK"), elapsed.Round(time.Millisecond), table)
	fmt.Fprint(os.Stderr, report)
	// go test shows a passing package's output only with -v: the table
	// is kept in a file too.
	if err := os.WriteFile(filepath.Join(os.TempDir(), "podshim-fuzz-codes.txt"), []byte(report), 0o644); err == nil {
		fmt.Fprintf(os.Stderr, "fuzzer: table written to %s\n", filepath.Join(os.TempDir(), "podshim-fuzz-codes.txt"))
	}
	if len(bad) > 0 {
		t.Errorf("%d requests got Unknown or Internal:\n  %s", len(bad), strings.Join(bad[:min(len(bad), 30)], "\n  "))
	}

	tg.remove(t)
	removeFuzzPods(t)
	assertNoNewResources(t, before, fmt.Sprintf("%d fuzzed requests", total))
}

// ensure (re)creates the live pod and containers the requests aim at when
// the fuzzer stopped or removed them.
func (tg *fuzzTargets) ensure(t *testing.T) {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	if tg.podID != "" {
		st, err := rt().PodSandboxStatus(ctx, &criapi.PodSandboxStatusRequest{PodSandboxId: tg.podID})
		if err != nil || st.Status.State != criapi.PodSandboxState_SANDBOX_READY {
			tg.remove(t)
		}
	}
	if tg.podID == "" {
		tg.pod = podConfig(t)
		resp, err := rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: tg.pod})
		if err != nil {
			t.Fatalf("RunPodSandbox for the fuzzer: %v", err)
		}
		tg.podID, tg.running, tg.created = resp.PodSandboxId, "", ""
	}
	state := func(id string) criapi.ContainerState {
		if id == "" {
			return -1
		}
		st, err := rt().ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: id})
		if err != nil {
			return -1
		}
		return st.Status.State
	}
	if state(tg.running) != criapi.ContainerState_CONTAINER_RUNNING {
		tg.n++
		cfg := containerConfig(tg.pod, "target-"+strconv.Itoa(tg.n), "sh", "-c", `trap "exit 0" TERM; while :; do sleep 1; done`)
		tg.running = runContainer(t, tg.podID, tg.pod, cfg)
	}
	if state(tg.created) != criapi.ContainerState_CONTAINER_CREATED {
		tg.n++
		tg.created = createContainer(t, tg.podID, tg.pod, containerConfig(tg.pod, "target-"+strconv.Itoa(tg.n), "true"))
	}
}

// remove removes the live pod.
func (tg *fuzzTargets) remove(t *testing.T) {
	if tg.podID != "" {
		removePod(t, tg.podID)
		tg.podID = ""
	}
}

// tame keeps a mutated request from doing what is not an input error but
// would still hurt: running a program the container does not have (runc's
// "executable file not found" is Unknown for every runtime), or removing
// the suite's images.
func (tg *fuzzTargets) tame(t *testing.T, rpc string, req proto.Message) {
	first := func(cmd []string) {
		if len(cmd) > 0 && cmd[0] != "" && !strings.ContainsRune(cmd[0], 0) && len(cmd[0]) < 1000 {
			cmd[0] = "echo"
		}
	}
	switch r := req.(type) {
	case *criapi.ExecSyncRequest:
		first(r.Cmd)
	case *criapi.ExecRequest:
		first(r.Cmd)
	case *criapi.RemoveImageRequest:
		ctx, cancel := callCtx()
		defer cancel()
		if st, err := img().ImageStatus(ctx, &criapi.ImageStatusRequest{Image: r.Image}); err == nil && st.Image != nil {
			r.Image = &criapi.ImageSpec{Image: "docker.io/library/podshim-fuzz-none:1"}
		}
	}
}

// undo removes what a successful fuzzed request made.
func (tg *fuzzTargets) undo(t *testing.T, resp proto.Message) {
	ctx, cancel := callCtx()
	defer cancel()
	switch r := resp.(type) {
	case *criapi.RunPodSandboxResponse:
		removePod(t, r.PodSandboxId)
	case *criapi.CreateContainerResponse:
		if _, err := rt().RemoveContainer(ctx, &criapi.RemoveContainerRequest{ContainerId: r.ContainerId}); err != nil {
			t.Errorf("remove fuzzed container %s: %v", r.ContainerId, err)
		}
	}
}

// removeFuzzPods removes every pod of this test that is left.
func removeFuzzPods(t *testing.T) {
	ctx, cancel := callCtx()
	defer cancel()
	list, err := rt().ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{})
	if err != nil {
		t.Fatal(err)
	}
	prefix := strings.TrimSuffix(podName(t), "-"+strconv.FormatInt(podCounter.Load(), 10))
	for _, p := range list.Items {
		if strings.HasPrefix(p.Metadata.GetName(), prefix) {
			t.Errorf("fuzzed pod %s (%s) was left", p.Id, p.Metadata.GetName())
			removePod(t, p.Id)
		}
	}
}

// codeTable formats the codes per RPC.
func codeTable(counts map[string]map[codes.Code]int) string {
	var names []string
	for n := range counts {
		names = append(names, n)
	}
	sort.Strings(names)
	var b strings.Builder
	fmt.Fprintf(&b, "  %-26s %5s  %s\n", "RPC", "calls", "codes")
	for _, n := range names {
		var cs []codes.Code
		sum := 0
		for c, k := range counts[n] {
			cs = append(cs, c)
			sum += k
		}
		sort.Slice(cs, func(i, j int) bool { return cs[i] < cs[j] })
		var parts []string
		for _, c := range cs {
			parts = append(parts, fmt.Sprintf("%v %d", c, counts[n][c]))
		}
		fmt.Fprintf(&b, "  %-26s %5d  %s\n", n, sum, strings.Join(parts, ", "))
	}
	return b.String()
}

func clipText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}
