package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/content"
	"github.com/containerd/containerd/namespaces"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testenv"
	"github.com/podshim/podshim/faultpoint"
)

// crashNamespace is the containerd namespace of the crash point tests'
// podshimd, apart from the suite's.
const crashNamespace = "podshim-itest-crashpt"

// crashBed is a podshimd of its own (dir, containerd namespace; the suite's
// containerd, registry and CNI network) that the crash point tests restart
// with a point armed.
type crashBed struct {
	dir string
	ns  string
	p   *testenv.Podshimd

	content bool // resources also lists the namespace's content and every content ingest
}

// startCrashBed starts a podshimd in <suite dir>/<name> on containerd
// namespace ns (with extraArgs), with busybox pulled, and stops it
// (removing what it lists) when t ends.
func startCrashBed(t *testing.T, name, ns string, extraArgs ...string) *crashBed {
	t.Helper()
	dir := filepath.Join(env.dir, name)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	p, err := testenv.StartPodshimd(ctx, dir, testenv.PodshimdOptions{
		Binary:            filepath.Join(env.binDir, "podshimd"),
		ContainerdAddress: env.containerd.Address,
		CNIConfDir:        env.cniConfDir,
		RegistryConfigDir: env.registryConfigDir,
		ExtraArgs:         append([]string{"--containerd-namespace", ns}, extraArgs...),
	})
	if err != nil {
		t.Fatal(err)
	}
	b := &crashBed{dir: dir, ns: ns, p: p}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("podshimd log:\n%s", p.LogTail(8000))
		}
		b.restart(t, "")
		b.removeEverything(t, map[string]bool{})
		p.Stop()
		testenv.UnmountBelow(dir)
	})
	res(p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}})).must(t, "PullImage")
	return b
}

func (b *crashBed) rt() criapi.RuntimeServiceClient { return b.p.Runtime }

func (b *crashBed) resources(ctx context.Context) resources {
	r := takeResourcesOf(ctx, b.dir, b.ns)
	if b.content {
		r[kindContent], r[kindIngests] = contentOf(ctx, b.ns)
	}
	return r
}

// Kinds the crash bed of the kept-blobs pull lists besides the others.
const (
	kindContent = "content blob"   // in the bed's namespace
	kindIngests = "content ingest" // in the bed's namespace and on disk (every namespace)
)

// contentOf lists the content blobs and the ingests of namespace ns, and
// the ingest dirs in the suite containerd's content store.
func contentOf(ctx context.Context, ns string) (blobs, ingests []string) {
	ctx = namespaces.WithNamespace(ctx, ns)
	cs := env.ctrd.ContentStore()
	if err := cs.Walk(ctx, func(i content.Info) error {
		blobs = append(blobs, i.Digest.String())
		return nil
	}); err != nil {
		blobs = []string{"ERROR " + err.Error()}
	}
	sts, err := cs.ListStatuses(ctx)
	if err != nil {
		ingests = []string{"ERROR " + err.Error()}
	}
	for _, st := range sts {
		ingests = append(ingests, "ref "+st.Ref)
	}
	for _, d := range dirEntries(filepath.Join(env.containerd.Root, "io.containerd.content.v1.content", "ingest")) {
		ingests = append(ingests, "dir "+d)
	}
	sort.Strings(blobs)
	sort.Strings(ingests)
	return blobs, ingests
}

// restart stops podshimd (SIGTERM) and starts it with point armed ("" arms
// none).
func (b *crashBed) restart(t *testing.T, point faultpoint.Point) {
	t.Helper()
	b.p.Stop()
	b.p.Env = nil
	if point != "" {
		b.p.Env = []string{faultpoint.Env + "=" + string(point)}
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := b.p.Start(ctx); err != nil {
		t.Fatal(err)
	}
}

// result is a call's answer, so that must can be chained onto the call.
type result[T any] struct {
	v   T
	err error
}

func res[T any](v T, err error) result[T] { return result[T]{v, err} }

// must fails t when a call the test relies on fails.
func (r result[T]) must(t *testing.T, what string) T {
	t.Helper()
	if r.err != nil {
		t.Fatalf("%s: %v", what, r.err)
	}
	return r.v
}

// pod runs a pod and returns its ID and config.
func (b *crashBed) pod(t *testing.T) (string, *criapi.PodSandboxConfig) {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	cfg := podConfig(t)
	resp := res(b.rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: cfg})).must(t, "RunPodSandbox")
	return resp.PodSandboxId, cfg
}

// container creates (and, if start, starts) a long-running container.
func (b *crashBed) container(t *testing.T, podID string, pod *criapi.PodSandboxConfig, start bool) string {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp := res(b.rt().CreateContainer(ctx, &criapi.CreateContainerRequest{
		PodSandboxId: podID, Config: containerConfig(pod, "c", "sleep", "3600"), SandboxConfig: pod})).must(t, "CreateContainer")
	if start {
		res(b.rt().StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: resp.ContainerId})).must(t, "StartContainer")
	}
	return resp.ContainerId
}

// crashCall makes the call that is to crash podshimd. Its error is of no
// interest: the daemon dies during the call, or (for points past the
// answer) just after it.
func crashCall[T any](_ T, _ error) {}

// removeEverything stops and removes, through CRI, whatever the restarted
// podshimd lists, as kubelet would, and the images that were not there
// before; every call must succeed.
func (b *crashBed) removeEverything(t *testing.T, imagesBefore map[string]bool) (ok bool) {
	ok = true
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs := res(b.rt().ListContainers(ctx, &criapi.ListContainersRequest{})).must(t, "ListContainers")
	for _, c := range cs.Containers {
		if _, err := b.rt().StopContainer(ctx, &criapi.StopContainerRequest{ContainerId: c.Id}); err != nil {
			ok = false
			t.Errorf("StopContainer %s (%v) after the restart: %v", c.Id, c.State, err)
		}
		if _, err := b.rt().RemoveContainer(ctx, &criapi.RemoveContainerRequest{ContainerId: c.Id}); err != nil {
			ok = false
			t.Errorf("RemoveContainer %s (%v) after the restart: %v", c.Id, c.State, err)
		}
	}
	pods := res(b.rt().ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{})).must(t, "ListPodSandbox")
	for _, p := range pods.Items {
		if _, err := b.rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			ok = false
			t.Errorf("StopPodSandbox %s (%v) after the restart: %v", p.Id, p.State, err)
		}
		if _, err := b.rt().RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: p.Id}); err != nil {
			ok = false
			t.Errorf("RemovePodSandbox %s (%v) after the restart: %v", p.Id, p.State, err)
		}
	}
	imgs := res(b.p.Image.ListImages(ctx, &criapi.ListImagesRequest{})).must(t, "ListImages")
	for _, im := range imgs.Images {
		if imagesBefore[im.Id] {
			continue
		}
		if _, err := b.p.Image.RemoveImage(ctx, &criapi.RemoveImageRequest{Image: &criapi.ImageSpec{Image: im.Id}}); err != nil {
			ok = false
			t.Errorf("RemoveImage %s (%v) after the restart: %v", im.Id, im.RepoTags, err)
		}
	}
	return ok
}

func (b *crashBed) imageIDs(t *testing.T) map[string]bool {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	out := map[string]bool{}
	for _, im := range res(b.p.Image.ListImages(ctx, &criapi.ListImagesRequest{})).must(t, "ListImages").Images {
		out[im.Id] = true
	}
	return out
}

// crashCase drives podshimd to the call that hits point; check, when set,
// looks at the state the restarted daemon reports before it is cleaned up.
type crashCase struct {
	point faultpoint.Point
	drive func(t *testing.T, b *crashBed)
	check func(t *testing.T, b *crashBed)

	keepBlobs bool                            // on the podshimd with --keep-layer-blobs
	skip      func(t *testing.T) (why string) // set: the stack cannot run the case when it says why
}

func crashCases() []crashCase {
	runPod := func(t *testing.T, b *crashBed) {
		ctx, cancel := callCtx()
		defer cancel()
		crashCall(b.rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: podConfig(t)}))
	}
	createContainer := func(t *testing.T, b *crashBed) {
		podID, pod := b.pod(t)
		ctx, cancel := callCtx()
		defer cancel()
		crashCall(b.rt().CreateContainer(ctx, &criapi.CreateContainerRequest{
			PodSandboxId: podID, Config: containerConfig(pod, "c", "sleep", "3600"), SandboxConfig: pod}))
	}
	startContainer := func(t *testing.T, b *crashBed) {
		podID, pod := b.pod(t)
		id := b.container(t, podID, pod, false)
		ctx, cancel := callCtx()
		defer cancel()
		crashCall(b.rt().StartContainer(ctx, &criapi.StartContainerRequest{ContainerId: id}))
	}
	stopContainer := func(t *testing.T, b *crashBed) {
		podID, pod := b.pod(t)
		id := b.container(t, podID, pod, true)
		ctx, cancel := callCtx()
		defer cancel()
		crashCall(b.rt().StopContainer(ctx, &criapi.StopContainerRequest{ContainerId: id}))
	}
	stopSandbox := func(t *testing.T, b *crashBed) {
		podID, pod := b.pod(t)
		b.container(t, podID, pod, true)
		ctx, cancel := callCtx()
		defer cancel()
		crashCall(b.rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID}))
	}
	removeContainer := func(t *testing.T, b *crashBed) {
		podID, pod := b.pod(t)
		id := b.container(t, podID, pod, true)
		ctx, cancel := callCtx()
		defer cancel()
		res(b.rt().StopContainer(ctx, &criapi.StopContainerRequest{ContainerId: id})).must(t, "StopContainer")
		crashCall(b.rt().RemoveContainer(ctx, &criapi.RemoveContainerRequest{ContainerId: id}))
	}
	removeSandbox := func(t *testing.T, b *crashBed) {
		podID, pod := b.pod(t)
		b.container(t, podID, pod, true)
		ctx, cancel := callCtx()
		defer cancel()
		res(b.rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID})).must(t, "StopPodSandbox")
		crashCall(b.rt().RemovePodSandbox(ctx, &criapi.RemovePodSandboxRequest{PodSandboxId: podID}))
	}
	// busybox is the image whose layer is not there already (the other
	// test images share it): it is removed and pulled again.
	pull := func(t *testing.T, b *crashBed) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res(b.p.Image.RemoveImage(ctx, &criapi.RemoveImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}})).must(t, "RemoveImage")
		crashCall(b.p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}}))
	}
	pullAgain := func(t *testing.T, b *crashBed) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res(b.p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: busyboxImage}})).must(t, "PullImage after the restart")
	}
	removeImage := func(t *testing.T, b *crashBed) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		res(b.p.Image.PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: pullTestImage}})).must(t, "PullImage")
		crashCall(b.p.Image.RemoveImage(ctx, &criapi.RemoveImageRequest{Image: &criapi.ImageSpec{Image: pullTestImage}}))
	}
	// The container whose exit was recorded is listed EXITED after the
	// restart (the crash came before its task was deleted).
	exitedListed := func(t *testing.T, b *crashBed) {
		ctx, cancel := callCtx()
		defer cancel()
		cs := res(b.rt().ListContainers(ctx, &criapi.ListContainersRequest{})).must(t, "ListContainers")
		if len(cs.Containers) != 1 || cs.Containers[0].State != criapi.ContainerState_CONTAINER_EXITED {
			t.Errorf("containers after the restart = %v, want one EXITED", cs.Containers)
		}
	}
	// A pod with a user namespace: its netns is made in it (containerd 2
	// with a runc that maps mounts; Debian's stack refuses such pods).
	runUsernsPod := func(t *testing.T, b *crashBed) {
		ctx, cancel := callCtx()
		defer cancel()
		crashCall(b.rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: usernsPodConfig(t)}))
	}
	needsUserns := func(t *testing.T) string {
		if containerdMajor(t) < 2 {
			return "user namespace pods need containerd 2 (the current stack)"
		}
		return ""
	}
	return []crashCase{
		{point: faultpoint.RunSandboxAfterUsernsNetNS, drive: runUsernsPod, skip: needsUserns},
		{point: faultpoint.RunSandboxAfterNetNS, drive: runPod},
		{point: faultpoint.RunSandboxDuringCNIAdd, drive: runPod},
		{point: faultpoint.RunSandboxAfterCNIAdd, drive: runPod},
		{point: faultpoint.RunSandboxAfterPauseContainer, drive: runPod},
		{point: faultpoint.RunSandboxAfterPauseTask, drive: runPod},
		{point: faultpoint.RunSandboxAfterPauseStart, drive: runPod},
		{point: faultpoint.RunSandboxBeforeSave, drive: runPod},
		{point: faultpoint.CreateContainerAfterSnapshot, drive: createContainer},
		{point: faultpoint.CreateContainerAfterRecord, drive: createContainer},
		{point: faultpoint.CreateContainerAfterMetadata, drive: createContainer},
		{point: faultpoint.StartContainerAfterIO, drive: startContainer},
		{point: faultpoint.StartContainerAfterTask, drive: startContainer},
		{point: faultpoint.StartContainerAfterStart, drive: startContainer},
		{point: faultpoint.StopContainerAfterKill, drive: stopContainer},
		{point: faultpoint.StopContainerAfterExit, drive: stopContainer, check: exitedListed},
		{point: faultpoint.StopSandboxAfterKill, drive: stopSandbox},
		{point: faultpoint.StopSandboxAfterNetwork, drive: stopSandbox},
		{point: faultpoint.StopSandboxBeforeTaskDelete, drive: stopSandbox},
		{point: faultpoint.RemoveContainerAfterTask, drive: removeContainer},
		{point: faultpoint.RemoveContainerAfterSnapshot, drive: removeContainer},
		{point: faultpoint.RemoveContainerAfterRecord, drive: removeContainer},
		{point: faultpoint.RemoveSandboxAfterContainers, drive: removeSandbox},
		{point: faultpoint.RemoveSandboxAfterPause, drive: removeSandbox},
		{point: faultpoint.RemoveSandboxAfterStateDir, drive: removeSandbox},
		{point: faultpoint.PullImageMidLayer, drive: pull, check: pullAgain},
		{point: faultpoint.PullImageBeforeTag, drive: pull, check: pullAgain},
		{point: faultpoint.RemoveImageBetweenNames, drive: removeImage},
		{point: faultpoint.PullImageKeptBlobsMidLayer, drive: pull, check: pullAgain, keepBlobs: true},
		{point: faultpoint.PullImageKeptBlobsBeforeTag, drive: pull, check: pullAgain, keepBlobs: true},
	}
}

// TestCrashPoints kills podshimd at every crash point (faultpoint), with
// the point armed through the environment, restarts it, and checks that
// the object being made or unmade is either listed, and then stops and
// removes cleanly, or absent, and that nothing is left behind: netns, IP,
// veth, NAT rules, mounts (podshim's and containerd's), containerd
// containers, tasks, active snapshots, leases, shims, cgroups, state dirs
// and FIFOs, CNI cache.
func TestCrashPoints(t *testing.T) {
	cases := crashCases()
	covered := map[faultpoint.Point]bool{}
	for _, tc := range cases {
		covered[tc.point] = true
	}
	for _, p := range faultpoint.All() {
		if !covered[p] {
			t.Errorf("crash point %s has no case", p)
		}
	}
	if only := os.Getenv("PODSHIM_CRASHPOINTS"); only != "" { // a comma-separated subset, for a quick look
		var sub []crashCase
		for _, tc := range cases {
			if strings.Contains(","+only+",", ","+string(tc.point)+",") {
				sub = append(sub, tc)
			}
		}
		cases = sub
	}

	// The podshimds without and with --keep-layer-blobs, each started when
	// a case needs it.
	var beds [2]*crashBed
	var bedImages [2]map[string]bool
	bedOf := func(tc crashCase) int {
		if tc.keepBlobs {
			return 1
		}
		return 0
	}
	for _, tc := range cases {
		i := bedOf(tc)
		if beds[i] != nil {
			continue
		}
		if tc.keepBlobs {
			beds[i] = startCrashBed(t, "podshimd-crashpt-blobs", crashNamespace+"-blobs", "--keep-layer-blobs")
			beds[i].content = true
		} else {
			beds[i] = startCrashBed(t, "podshimd-crashpt", crashNamespace)
		}
		bedImages[i] = beds[i].imageIDs(t)
	}

	for _, tc := range cases {
		t.Run(strings.ReplaceAll(string(tc.point), "/", "_"), func(t *testing.T) {
			if tc.skip != nil {
				if why := tc.skip(t); why != "" {
					t.Skip(why)
				}
			}
			b, images := beds[bedOf(tc)], bedImages[bedOf(tc)]
			p := b.p
			start := time.Now()
			before := b.resources(context.Background())
			logBefore := len(p.LogTail(1 << 30))
			b.restart(t, tc.point)
			tc.drive(t, b)
			if !p.WaitExit(30 * time.Second) {
				b.restart(t, "")
				b.removeEverything(t, images)
				t.Fatalf("podshimd did not crash at %s", tc.point)
			}
			if log := p.LogTail(1 << 30)[logBefore:]; !strings.Contains(log, "faultpoint: crashing at "+string(tc.point)) {
				t.Fatalf("podshimd ended, but not at %s; log:\n%s", tc.point, tail(log, 4000))
			}
			b.restart(t, "")
			if tc.check != nil {
				tc.check(t, b)
			}
			b.removeEverything(t, images)
			assertNoNewResourcesIn(t, before, fmt.Sprintf("a crash at %s", tc.point), b.resources)
			t.Logf("%s: %s", tc.point, time.Since(start).Round(time.Millisecond))
		})
	}
}

func tail(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}
