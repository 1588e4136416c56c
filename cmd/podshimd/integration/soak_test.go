package integration

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
	"github.com/podshim/podshim/soak"
)

// soakDurationEnv sets how long TestSoak churns (`make soak` sets it;
// the suite's default is soakDefault).
const soakDurationEnv = "PODSHIM_SOAK_DURATION"

const (
	soakDefault   = 3 * time.Minute
	soakNamespace = "soak" // containerd namespace podshim-soak
	soakWorkers   = 2      // pods living side by side
)

// TestSoak runs kubelet-like churn against a podshimd of its own for
// PODSHIM_SOAK_DURATION (3 minutes by default): soakWorkers goroutines
// create pods of two containers (one writing a log line every 200 ms),
// keep them 3-8 s and stop and remove them, while a poller lists pods,
// containers and stats and asks each one's status every second, and runs
// an ExecSync every 3 s. It samples podshimd's RSS, heap, goroutines and
// open fds from its /metrics and fits each one's slope per hour (logged
// and written to soak/_results/). It fails when a CRI call fails, when
// goroutines, fds or the heap after a GC do not come back to their
// baseline once the churn stopped and everything was removed (soak.Margins),
// or when a host object (netns, IP, veth, rule, mount, containerd
// container, task, snapshot, lease, shim, cgroup, dir) is left.
func TestSoak(t *testing.T) {
	duration := soakDefault
	if v := os.Getenv(soakDurationEnv); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			t.Fatalf("%s=%q: want a positive duration", soakDurationEnv, v)
		}
		duration = d
	}
	interval := min(max(duration/60, 2*time.Second), 10*time.Second)
	dir := filepath.Join(env.dir, "own-"+soakNamespace)
	metricsSock, debugSock := filepath.Join(dir, "metrics.sock"), filepath.Join(dir, "debug.sock")
	p := startOwnPodshimd(t, soakNamespace, "--metrics-address", "unix://"+metricsSock, "--debug-address", "unix://"+debugSock)
	ns := "podshim-" + soakNamespace
	gauges := &gaugeReader{metrics: unixClient(metricsSock), debug: unixClient(debugSock)}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	res(p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}})).must(t, "PullImage")
	cancel()
	hostBefore := takeResourcesOf(context.Background(), dir, ns)

	c := &churn{t: t, p: p, live: map[string]string{}}
	// A first pod's life warms what is made once (connections, caches,
	// the CNI plugins' files); the baseline is taken after it.
	if !c.podLife(context.Background(), 0) {
		t.Fatalf("the warm-up pod failed: %v", c.firstErrors())
	}
	baseline := gauges.settled(t, nil)
	t.Logf("soak: %s of churn, sampling every %s; baseline: %s", duration, interval, fmtValues(baseline))

	start := time.Now()
	churnCtx, stopChurn := context.WithTimeout(context.Background(), duration)
	var wg sync.WaitGroup
	for w := 0; w < soakWorkers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for churnCtx.Err() == nil {
				c.podLife(churnCtx, time.Duration(3000+rand.IntN(5000))*time.Millisecond)
			}
		}()
	}
	wg.Add(1)
	go func() { defer wg.Done(); c.poll(churnCtx) }()
	var samples []soak.Sample
	var sampleErr error
	tick := time.NewTicker(interval)
	for done := false; !done; {
		select {
		case <-churnCtx.Done():
			done = true
		case now := <-tick.C:
			v, err := gauges.read()
			if err != nil {
				sampleErr = err
				continue
			}
			samples = append(samples, soak.Sample{At: now, Values: v})
		}
	}
	tick.Stop()
	wg.Wait()
	stopChurn()
	churned := time.Since(start)

	// Everything goes, as kubelet's garbage collection would take it.
	c.removeAll()
	assertNoNewResourcesIn(t, hostBefore, "the soak", func(ctx context.Context) resources { return takeResourcesOf(ctx, dir, ns) })
	end := gauges.settled(t, baseline)

	stats := soak.Summarise(samples, baseline, end)
	table := soak.Table(stats)
	summary := fmt.Sprintf("soak on %s: %s of churn, %d pods (%d containers), %d polls, %d execs, %d samples every %s, %d failed calls\n",
		stackName(), churned.Round(time.Second), c.pods.Load(), 2*c.pods.Load(), c.polls.Load(), c.execs.Load(), len(samples), interval, c.failed.Load())
	t.Logf("%s%s", summary, table)
	writeSoakResults(t, summary+table, samples)

	if sampleErr != nil {
		t.Errorf("sampling /metrics: %v", sampleErr)
	}
	if len(samples) < 2 {
		t.Errorf("%d samples: no slope to report", len(samples))
	}
	if n := c.failed.Load(); n > 0 {
		t.Errorf("%d CRI calls failed during the churn; the first: %s", n, strings.Join(c.firstErrors(), "; "))
	}
	if c.pods.Load() < int64(soakWorkers) || c.polls.Load() == 0 || c.execs.Load() == 0 {
		t.Errorf("the churn did too little: %d pods, %d polls, %d execs", c.pods.Load(), c.polls.Load(), c.execs.Load())
	}
	if bad := soak.Returned(baseline, end, soak.Margins); len(bad) > 0 {
		t.Errorf("podshimd did not come back to its baseline after the churn: %s", strings.Join(bad, "; "))
		if prof, err := gauges.get(gauges.debug, "/debug/pprof/goroutine?debug=1"); err == nil {
			writeSoakFile(t, "goroutines.txt", prof)
		}
	}
}

// churn is the kubelet-like load of TestSoak.
type churn struct {
	t *testing.T
	p *testenv.Podshimd

	mu   sync.RWMutex      // an exec holds it shared; a pod leaving, exclusively
	live map[string]string // running container → its pod, while its pod is held

	pods, polls, execs, failed atomic.Int64
	errMu                      sync.Mutex
	errs                       []string
}

// fail records a failed call, unless ctx ended (the churn is over).
func (c *churn) fail(ctx context.Context, what string, err error) {
	if ctx.Err() != nil {
		return
	}
	c.failed.Add(1)
	c.errMu.Lock()
	defer c.errMu.Unlock()
	if len(c.errs) < 5 {
		c.errs = append(c.errs, fmt.Sprintf("%s: %v", what, err))
	}
}

func (c *churn) firstErrors() []string {
	c.errMu.Lock()
	defer c.errMu.Unlock()
	return append([]string(nil), c.errs...)
}

// podLife runs a pod with a logging and a sleeping container, keeps it
// hold, and removes it as kubelet does (containers stopped, pod stopped,
// removed; the log dir deleted). It returns false when a call failed.
func (c *churn) podLife(ctx context.Context, hold time.Duration) (ok bool) {
	rt := c.p.Runtime
	pod := podConfig(c.t)
	callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	run, err := rt.RunPodSandbox(callCtx, &criapi.RunPodSandboxRequest{Config: pod})
	if err != nil {
		c.fail(ctx, "RunPodSandbox", err)
		return false
	}
	c.pods.Add(1)
	ok = true
	defer func() {
		for _, call := range []struct {
			name string
			do   func() error
		}{
			{"StopPodSandbox", func() error {
				_, err := rt.StopPodSandbox(callCtx, &criapi.StopPodSandboxRequest{PodSandboxId: run.PodSandboxId})
				return err
			}},
			{"RemovePodSandbox", func() error {
				_, err := rt.RemovePodSandbox(callCtx, &criapi.RemovePodSandboxRequest{PodSandboxId: run.PodSandboxId})
				return err
			}},
		} {
			if err := call.do(); err != nil {
				c.fail(ctx, call.name, err)
				ok = false
			}
		}
		if err := os.RemoveAll(pod.LogDirectory); err != nil {
			c.fail(ctx, "remove log dir", err)
		}
	}()
	var ids []string
	for _, cfg := range []*criapi.ContainerConfig{
		containerConfig(pod, "logger", "sh", "-c", `i=0; while true; do echo "soak line $i"; i=$((i+1)); sleep 0.2; done`),
		containerConfig(pod, "sleeper", "sleep", "3600"),
	} {
		cr, err := rt.CreateContainer(callCtx, &criapi.CreateContainerRequest{PodSandboxId: run.PodSandboxId, Config: cfg, SandboxConfig: pod})
		if err != nil {
			c.fail(ctx, "CreateContainer", err)
			return false
		}
		if _, err := rt.StartContainer(callCtx, &criapi.StartContainerRequest{ContainerId: cr.ContainerId}); err != nil {
			c.fail(ctx, "StartContainer", err)
			return false
		}
		ids = append(ids, cr.ContainerId)
	}
	c.mu.Lock()
	c.live[ids[1]] = run.PodSandboxId
	c.mu.Unlock()
	select {
	case <-time.After(hold):
	case <-ctx.Done():
	}
	c.mu.Lock()
	delete(c.live, ids[1])
	c.mu.Unlock()
	for _, id := range ids {
		if _, err := rt.StopContainer(callCtx, &criapi.StopContainerRequest{ContainerId: id, Timeout: 1}); err != nil {
			c.fail(ctx, "StopContainer", err)
			ok = false
		}
		if _, err := rt.RemoveContainer(callCtx, &criapi.RemoveContainerRequest{ContainerId: id}); err != nil {
			c.fail(ctx, "RemoveContainer", err)
			ok = false
		}
	}
	return ok
}

// poll does what kubelet's PLEG, stats provider and probes do: every
// second it lists pods, containers and their stats and asks each one's
// status; every third second it execs in a held pod's container.
func (c *churn) poll(ctx context.Context) {
	rt := c.p.Runtime
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		callCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		c.pollOnce(ctx, callCtx, rt)
		if n%3 == 2 {
			c.execOnce(ctx, callCtx, rt)
		}
		cancel()
		c.polls.Add(1)
	}
}

// gone reports whether err is what a call on an object removed since it
// was listed gets.
func gone(err error) bool { return grpcCode(err) == codes.NotFound }

func (c *churn) pollOnce(ctx, callCtx context.Context, rt criapi.RuntimeServiceClient) {
	pods, err := rt.ListPodSandbox(callCtx, &criapi.ListPodSandboxRequest{})
	if err != nil {
		c.fail(ctx, "ListPodSandbox", err)
		return
	}
	cs, err := rt.ListContainers(callCtx, &criapi.ListContainersRequest{})
	if err != nil {
		c.fail(ctx, "ListContainers", err)
		return
	}
	if _, err := rt.ListContainerStats(callCtx, &criapi.ListContainerStatsRequest{}); err != nil {
		c.fail(ctx, "ListContainerStats", err)
	}
	if _, err := rt.ListPodSandboxStats(callCtx, &criapi.ListPodSandboxStatsRequest{}); err != nil {
		c.fail(ctx, "ListPodSandboxStats", err)
	}
	for _, p := range pods.Items {
		if _, err := rt.PodSandboxStatus(callCtx, &criapi.PodSandboxStatusRequest{PodSandboxId: p.Id}); err != nil && !gone(err) {
			c.fail(ctx, "PodSandboxStatus", err)
		}
	}
	for _, ct := range cs.Containers {
		if _, err := rt.ContainerStatus(callCtx, &criapi.ContainerStatusRequest{ContainerId: ct.Id}); err != nil && !gone(err) {
			c.fail(ctx, "ContainerStatus", err)
		}
	}
}

func (c *churn) execOnce(ctx, callCtx context.Context, rt criapi.RuntimeServiceClient) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for id := range c.live {
		resp, err := rt.ExecSync(callCtx, &criapi.ExecSyncRequest{ContainerId: id, Cmd: []string{"echo", "soak exec"}, Timeout: 10})
		switch {
		case err != nil:
			c.fail(ctx, "ExecSync", err)
		case resp.ExitCode != 0 || string(resp.Stdout) != "soak exec\n":
			c.fail(ctx, "ExecSync", fmt.Errorf("exit %d, stdout %q, stderr %q", resp.ExitCode, resp.Stdout, resp.Stderr))
		default:
			c.execs.Add(1)
		}
		return // one a round
	}
}

// removeAll stops and removes whatever is left (nothing, unless a call
// failed), and the pods' log dirs.
func (c *churn) removeAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rt := c.p.Runtime
	pods := res(rt.ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{})).must(c.t, "ListPodSandbox")
	for _, p := range pods.Items {
		c.t.Errorf("pod %s (%v) still listed after the churn", p.Id, p.State)
		res(rt.StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: p.Id})).must(c.t, "StopPodSandbox")
		res(rt.RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: p.Id})).must(c.t, "RemovePodSandbox")
		os.RemoveAll(filepath.Join(env.logDir, fmt.Sprintf("%s_%s_%s", p.Metadata.GetNamespace(), p.Metadata.GetName(), p.Metadata.GetUid())))
	}
}

// gaugeReader reads podshimd's gauges from its metrics endpoint, and
// makes it collect garbage through its pprof endpoint.
type gaugeReader struct {
	metrics, debug *http.Client
}

// unixClient is an HTTP client to a unix socket that keeps no connection
// open between requests (one would count as a goroutine and an fd).
func unixClient(sock string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DisableKeepAlives: true,
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			return (&net.Dialer{}).DialContext(ctx, "unix", sock)
		},
	}}
}

func (g *gaugeReader) get(c *http.Client, path string) ([]byte, error) {
	resp, err := c.Get("http://podshim" + path)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("GET %s: %s", path, resp.Status)
	}
	return body, err
}

func (g *gaugeReader) read() (map[string]float64, error) {
	body, err := g.get(g.metrics, "/metrics")
	if err != nil {
		return nil, err
	}
	return soak.Parse(bytes.NewReader(body), soak.Gauges)
}

// settled reads the gauges after a GC (the heap profile with gc=1 runs
// one), until they are within soak.Margins of baseline or 30 s passed;
// with no baseline it waits 3 s and reads them once.
func (g *gaugeReader) settled(t *testing.T, baseline map[string]float64) map[string]float64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	if baseline == nil {
		time.Sleep(3 * time.Second)
	}
	for {
		if _, err := g.get(g.debug, "/debug/pprof/heap?gc=1"); err != nil {
			t.Fatalf("GC through pprof: %v", err)
		}
		v, err := g.read()
		if err != nil {
			t.Fatalf("read gauges: %v", err)
		}
		if baseline == nil || len(soak.Returned(baseline, v, soak.Margins)) == 0 || time.Now().After(deadline) {
			return v
		}
		time.Sleep(time.Second)
	}
}

func fmtValues(v map[string]float64) string {
	var parts []string
	for _, g := range soak.Gauges {
		parts = append(parts, fmt.Sprintf("%s=%g", g, v[g]))
	}
	return strings.Join(parts, " ")
}

// stackName names the containerd and runc the test runs on.
func stackName() string {
	var parts []string
	for _, tool := range []string{"containerd", "runc"} {
		out, err := exec.Command(tool, "--version").Output()
		if err != nil {
			parts = append(parts, tool+" ?")
			continue
		}
		line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
		parts = append(parts, line)
	}
	return strings.Join(parts, ", ")
}

// soakResultsDir is soak/_results in the module (gitignored).
func soakResultsDir(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	for d := wd; d != "/"; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "soak", "_results")
		}
	}
	t.Fatalf("no go.mod above %s", wd)
	return ""
}

var soakStamp = time.Now().UTC().Format("20060102T150405Z")

func writeSoakFile(t *testing.T, name string, data []byte) {
	t.Helper()
	dir := soakResultsDir(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Errorf("results dir: %v", err)
		return
	}
	stack := os.Getenv("STACK")
	if stack == "" {
		stack = "local"
	}
	path := filepath.Join(dir, fmt.Sprintf("soak-%s-%s-%s", stack, soakStamp, name))
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Errorf("write %s: %v", path, err)
		return
	}
	t.Logf("wrote %s", path)
}

// writeSoakResults writes the report table and the samples as CSV.
func writeSoakResults(t *testing.T, report string, samples []soak.Sample) {
	t.Helper()
	writeSoakFile(t, "report.txt", []byte(report))
	var buf bytes.Buffer
	if err := soak.CSV(&buf, samples); err != nil {
		t.Errorf("csv: %v", err)
		return
	}
	writeSoakFile(t, "samples.csv", buf.Bytes())
}
