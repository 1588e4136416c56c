package integration

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/namespaces"
	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/checkpoint"
)

// hostCRIU is what podshim's CRIU probe says on this host: nil when CRIU
// works, else the error CheckpointContainer must pass on.
func hostCRIU(t *testing.T) error {
	t.Helper()
	return (&checkpoint.CRIU{}).Check(context.Background())
}

// podshimWorkRoot is podshimd's checkpoint work dir root.
func podshimWorkRoot() string { return checkpoint.WorkRoot(filepath.Join(env.podshimd.Dir, "root")) }

// assertNoWorkDirs fails t when a checkpoint or restore left a work dir.
func assertNoWorkDirs(t *testing.T) {
	t.Helper()
	entries, err := os.ReadDir(podshimWorkRoot())
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		t.Errorf("checkpoint work dir left: %s", filepath.Join(podshimWorkRoot(), e.Name()))
	}
}

func checkpointContainer(id, location string) (time.Duration, error) {
	ctx, cancel := callCtx()
	defer cancel()
	start := time.Now()
	_, err := rt().CheckpointContainer(ctx, &criapi.CheckpointContainerRequest{ContainerId: id, Location: location})
	return time.Since(start), err
}

// TestCheckpointContainerErrors checks the codes of bad checkpoint
// requests: each names what is wrong.
func TestCheckpointContainerErrors(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	created := createContainer(t, podID, pod, containerConfig(pod, "created", "sleep", "3600"))
	exited := runContainer(t, podID, pod, containerConfig(pod, "exited", "true"))
	waitExited(t, exited, 20*time.Second)
	running := runContainer(t, podID, pod, containerConfig(pod, "running", "sleep", "3600"))
	dir := t.TempDir()
	abs := filepath.Join(dir, "cp.tar")

	for _, tc := range []struct {
		name, id, location string
		code               codes.Code
		msg                string
	}{
		{"unknown container", randHex(32), abs, codes.NotFound, "not found"},
		{"created container", created, abs, codes.FailedPrecondition, "is CONTAINER_CREATED, not RUNNING"},
		{"exited container", exited, abs, codes.FailedPrecondition, "is CONTAINER_EXITED, not RUNNING"},
		{"relative location", running, "cp.tar", codes.InvalidArgument, `location "cp.tar" is not an absolute path`},
		{"no location", running, "", codes.InvalidArgument, "location is required"},
		{"no container id", "", abs, codes.InvalidArgument, "container_id is required"},
	} {
		_, err := checkpointContainer(tc.id, tc.location)
		if grpcCode(err) != tc.code || !strings.Contains(err.Error(), tc.msg) {
			t.Errorf("%s: CheckpointContainer = %v (code %v), want %v saying %q", tc.name, err, grpcCode(err), tc.code, tc.msg)
		}
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("failed checkpoints left %d files in %s", len(entries), dir)
	}
	assertNoWorkDirs(t)
}

// TestCheckpointContainerCRIU checkpoints a running container. Where CRIU
// cannot run (this host: criu 3.17.1 fails `criu check` on the vdso of
// Linux 6.18) the call fails at once with FailedPrecondition and CRIU's
// own reason, leaves no archive and no work dir, and the container runs on
// untouched. Where CRIU works, the archive is written and opens.
func TestCheckpointContainerCRIU(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	id := runContainer(t, podID, pod, containerConfig(pod, "app", "sh", "-c", "echo state > /state; exec sleep 3600"))
	waitForOutput(t, id, 20*time.Second, "state", "cat", "/state")
	pidBefore := containerPid(t, id)
	dir := t.TempDir()
	location := filepath.Join(dir, "checkpoint-app.tar")

	probe := hostCRIU(t)
	took, err := checkpointContainer(id, location)
	if probe == nil {
		if err != nil {
			t.Fatalf("CRIU works here but CheckpointContainer failed: %v", err)
		}
		a, err := checkpoint.Open(context.Background(), location, filepath.Join(t.TempDir(), "u"))
		if err != nil {
			t.Fatalf("written archive does not open: %v", err)
		}
		defer a.Close()
		if a.Config.ID != id {
			t.Errorf("config.dump id %q, want %q", a.Config.ID, id)
		}
	} else {
		t.Logf("CRIU here: %v", probe)
		if grpcCode(err) != codes.FailedPrecondition {
			t.Fatalf("CheckpointContainer = %v (code %v), want FailedPrecondition", err, grpcCode(err))
		}
		for _, want := range []string{"checkpoint container " + id, "criu: ", strings.TrimPrefix(probe.Error(), "failed precondition: ")} {
			if !strings.Contains(err.Error(), want) {
				t.Errorf("error %q does not say %q", err, want)
			}
		}
		if _, statErr := os.Stat(location); !os.IsNotExist(statErr) {
			t.Errorf("failed checkpoint left %s (%v)", location, statErr)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("failed checkpoint left %d files beside the location", len(entries))
		}
		// The probe's answer is kept: a second call fails at once.
		took2, err2 := checkpointContainer(id, location)
		if grpcCode(err2) != codes.FailedPrecondition || err2.Error() != err.Error() {
			t.Errorf("second CheckpointContainer = %v, want the same error", err2)
		}
		t.Logf("CheckpointContainer failed in %s, then in %s", took, took2)
		if took2 > 2*time.Second {
			t.Errorf("second CheckpointContainer took %s: the probe is not kept", took2)
		}
	}
	assertNoWorkDirs(t)
	st := containerStatus(t, id)
	if st.State != criapi.ContainerState_CONTAINER_RUNNING {
		t.Fatalf("container is %v after the checkpoint, want RUNNING", st.State)
	}
	if pid := containerPid(t, id); pid != pidBefore {
		t.Errorf("container pid %d, was %d", pid, pidBefore)
	}
	if out := execOK(t, id, "cat", "/state"); out != "state\n" {
		t.Errorf("container's file after checkpoint: %q", out)
	}
}

// fakeCRIUImages are stand-ins for CRIU's images of a dump (which CRIU
// cannot make on this host): restore must carry them to runc unchanged.
var fakeCRIUImages = map[string]string{"inventory.img": "fake CRIU inventory", "pages-1.img": strings.Repeat("page", 1024)}

// writeArchiveOf writes a checkpoint archive of the running container id
// as CheckpointContainer does after CRIU's dump: its config, spec and
// status, and the rootfs diff from its real overlay upper dir; CRIU's
// images are fakeCRIUImages.
func writeArchiveOf(t *testing.T, id, location string) {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), ctrdNamespace)
	c, err := env.ctrd.LoadContainer(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	info, err := c.Info(ctx)
	if err != nil {
		t.Fatal(err)
	}
	sp, err := c.Spec(ctx)
	if err != nil {
		t.Fatal(err)
	}
	mounts, err := env.ctrd.SnapshotService(info.Snapshotter).Mounts(ctx, info.SnapshotKey)
	if err != nil {
		t.Fatal(err)
	}
	layers, err := checkpoint.OverlayLayers(mounts)
	if err != nil {
		t.Fatal(err)
	}
	if len(layers.Lowers) == 0 {
		t.Fatalf("container %s's snapshot has no lower dirs: %v", id, mounts)
	}
	images := t.TempDir()
	for name, content := range fakeCRIUImages {
		if err := os.WriteFile(filepath.Join(images, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	exclude := map[string]bool{}
	for _, m := range sp.Mounts {
		exclude[filepath.Clean(m.Destination)] = true
	}
	st := containerStatus(t, id)
	err = checkpoint.Write(ctx, location, checkpoint.Contents{
		Config: checkpoint.ContainerConfig{
			ID: id, Name: st.Metadata.Name, RootfsImage: st.Image.Image, RootfsImageName: st.Image.Image, RootfsImageRef: st.ImageRef,
			OCIRuntime: info.Runtime.Name, CreatedTime: time.Unix(0, st.CreatedAt), CheckpointedAt: time.Now(),
		},
		Spec: sp, Status: st, ImagesDir: images, Rootfs: layers, Exclude: exclude,
	})
	if err != nil {
		t.Fatal(err)
	}
}

// archiveEntries reads a tar's entries (name → content).
func archiveEntries(t *testing.T, r io.Reader) map[string]string {
	t.Helper()
	out := map[string]string{}
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		data, _ := io.ReadAll(tr)
		out[hdr.Name] = string(data)
	}
}

// TestRestoreFromCheckpointArchive restores a container through
// CreateContainer from an archive of a real container: the rootfs diff
// comes from its overlay upper dir (a new file, a new directory, a changed
// file, a deleted file). The new container gets the checkpoint's base
// image, config and root filesystem changes and CRIU's images; its
// StartContainer is where CRIU takes over.
func TestRestoreFromCheckpointArchive(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	src := runContainer(t, podID, pod, containerConfig(pod, "src", "sh", "-c",
		"echo restored-data > /added.txt; mkdir -p /newdir; echo deep > /newdir/f; rm /etc/group; echo extra:x:7:7::/:/bin/sh >> /etc/passwd; echo ready > /ready; exec sleep 3600"))
	waitForOutput(t, src, 20*time.Second, "ready", "cat", "/ready")
	srcStatus := containerStatus(t, src)
	archive := filepath.Join(t.TempDir(), "checkpoint-src.tar")
	writeArchiveOf(t, src, archive)

	// The archive: the overlay's whiteout became deleted.files, the upper
	// dir the rootfs diff, without runc's mount points.
	f, err := os.Open(archive)
	if err != nil {
		t.Fatal(err)
	}
	entries := archiveEntries(t, f)
	f.Close()
	var deleted []string
	if err := json.Unmarshal([]byte(entries[checkpoint.DeletedFilesFile]), &deleted); err != nil || len(deleted) != 1 || deleted[0] != "/etc/group" {
		t.Errorf("deleted.files = %q (%v), want [/etc/group]", entries[checkpoint.DeletedFilesFile], err)
	}
	// checkpointctl shows a containerd-style archive's container, pod and
	// namespace from these spec.dump annotations.
	var sp struct {
		Annotations map[string]string `json:"annotations"`
	}
	if err := json.Unmarshal([]byte(entries[checkpoint.SpecDumpFile]), &sp); err != nil {
		t.Fatalf("spec.dump: %v", err)
	}
	for k, want := range map[string]string{"io.kubernetes.cri.container-name": "src",
		"io.kubernetes.cri.sandbox-name": pod.Metadata.Name, "io.kubernetes.cri.sandbox-namespace": podNamespace} {
		if sp.Annotations[k] != want {
			t.Errorf("spec.dump annotation %s = %q, want %q", k, sp.Annotations[k], want)
		}
	}
	diff := archiveEntries(t, strings.NewReader(entries[checkpoint.RootfsDiffFile]))
	if diff["added.txt"] != "restored-data\n" || diff["newdir/f"] != "deep\n" || !strings.Contains(diff["etc/passwd"], "extra:x:7:7") {
		t.Errorf("rootfs-diff.tar lacks the container's changes: %q", tarNames(diff))
	}
	for _, mp := range []string{"etc/hosts", "etc/hostname", "etc/resolv.conf", "dev/shm/"} {
		if _, ok := diff[mp]; ok {
			t.Errorf("rootfs-diff.tar has the mount point %s", mp)
		}
	}

	// Restore into another pod.
	pod2 := podConfig(t)
	pod2ID := runPod(t, pod2)
	cfg := containerConfig(pod2, "restored")
	cfg.Image = &criapi.ImageSpec{Image: archive}
	id := createContainer(t, pod2ID, pod2, cfg)
	st := containerStatus(t, id)
	if st.State != criapi.ContainerState_CONTAINER_CREATED || st.ImageRef != srcStatus.ImageRef || st.Metadata.Name != "restored" {
		t.Errorf("restored container: state %v image %q (want %q) name %q", st.State, st.ImageRef, srcStatus.ImageRef, st.Metadata.Name)
	}
	if st.Annotations[checkpoint.AnnotationRestored] != "true" || st.Annotations[checkpoint.AnnotationCheckpointImage] != archive {
		t.Errorf("restored container's annotations: %v", st.Annotations)
	}

	// Its snapshot has the checkpoint's root filesystem.
	ctx := namespaces.WithNamespace(context.Background(), ctrdNamespace)
	mounts, err := env.ctrd.SnapshotService("overlayfs").Mounts(ctx, id)
	if err != nil {
		t.Fatal(err)
	}
	err = mount.WithTempMount(ctx, mounts, func(root string) error {
		for p, want := range map[string]string{"added.txt": "restored-data\n", "newdir/f": "deep\n"} {
			if data, err := os.ReadFile(filepath.Join(root, p)); err != nil || string(data) != want {
				t.Errorf("restored rootfs %s = %q (%v), want %q", p, data, err, want)
			}
		}
		if data, err := os.ReadFile(filepath.Join(root, "etc/passwd")); err != nil || !strings.Contains(string(data), "extra:x:7:7") || !strings.Contains(string(data), "root:x:0:0") {
			t.Errorf("restored rootfs etc/passwd = %q (%v)", data, err)
		}
		if _, err := os.Lstat(filepath.Join(root, "etc/group")); !os.IsNotExist(err) {
			t.Errorf("restored rootfs still has the deleted etc/group (%v)", err)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// CRIU's images wait in the container's dir for runc.
	for name, content := range fakeCRIUImages {
		p := filepath.Join(env.podshimd.Dir, "root", "containers", id, "restore", name)
		if data, err := os.ReadFile(p); err != nil || string(data) != content {
			t.Errorf("%s: %d bytes (%v), want the archive's %d", p, len(data), err, len(content))
		}
	}
	assertNoWorkDirs(t)

	// Start: CRIU restores, or says why it cannot.
	sctx, cancel := callCtx()
	defer cancel()
	_, err = rt().StartContainer(sctx, &criapi.StartContainerRequest{ContainerId: id})
	if probe := hostCRIU(t); probe != nil {
		if grpcCode(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), "restore container "+id) ||
			!strings.Contains(err.Error(), strings.TrimPrefix(probe.Error(), "failed precondition: ")) {
			t.Errorf("StartContainer = %v (code %v), want FailedPrecondition with CRIU's reason %q", err, grpcCode(err), probe)
		}
	} else if err == nil || !strings.Contains(strings.ToLower(err.Error()), "criu") {
		// The images are fakes: a working CRIU must refuse them.
		t.Errorf("StartContainer with fake CRIU images = %v, want CRIU's error", err)
	}
	st = containerStatus(t, id)
	if st.State != criapi.ContainerState_CONTAINER_EXITED || st.Reason != "StartError" {
		t.Errorf("after the failed restore: %v %q, want EXITED StartError", st.State, st.Reason)
	}
}

func tarNames(m map[string]string) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestRestoreFromBadArchive checks CreateContainer's answers to archives
// it cannot restore, and that each leaves nothing behind.
func TestRestoreFromBadArchive(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	dir := t.TempDir()
	write := func(name string, entries map[string]string) string {
		var buf bytes.Buffer
		tw := tar.NewWriter(&buf)
		for n, c := range entries {
			tw.WriteHeader(&tar.Header{Name: n, Mode: 0o600, Size: int64(len(c)), Typeflag: tar.TypeReg})
			tw.Write([]byte(c))
		}
		tw.Close()
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, buf.Bytes(), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	spec := `{"ociVersion":"1.1.0","process":{"args":["sleep","3600"],"cwd":"/"}}`
	valid := func(config string) map[string]string {
		return map[string]string{checkpoint.ConfigDumpFile: config, checkpoint.SpecDumpFile: spec, "checkpoint/inventory.img": "x"}
	}
	noSpec := valid(`{"id":"c1","rootfsImageName":"` + busyboxImage + `"}`)
	delete(noSpec, checkpoint.SpecDumpFile)
	notTar := filepath.Join(dir, "not.tar")
	os.WriteFile(notTar, bytes.Repeat([]byte("garbage!"), 200), 0o600)

	ctx := namespaces.WithNamespace(context.Background(), ctrdNamespace)
	before, err := env.ctrd.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, image string
		code        codes.Code
		msg         []string
	}{
		{"unknown path", filepath.Join(dir, "missing.tar"), codes.NotFound, []string{"config.image.image", "checkpoint archive " + filepath.Join(dir, "missing.tar")}},
		{"not a tar", notTar, codes.InvalidArgument, []string{notTar, "not a readable tar archive"}},
		{"no spec.dump", write("nospec.tar", noSpec), codes.InvalidArgument, []string{"spec.dump missing"}},
		{"no CRIU images", write("noimages.tar", map[string]string{checkpoint.ConfigDumpFile: `{"id":"c1","rootfsImageName":"b"}`, checkpoint.SpecDumpFile: spec}),
			codes.InvalidArgument, []string{"no CRIU images (checkpoint/inventory.img missing)"}},
		{"config.dump without image", write("noimage.tar", valid(`{"id":"c1"}`)), codes.InvalidArgument, []string{"config.dump names no base image"}},
		{"base image not here", write("noimage2.tar", valid(`{"id":"c1","rootfsImageName":"docker.io/library/nosuch:1"}`)), codes.NotFound, []string{"docker.io/library/nosuch:1"}},
	} {
		cctx, cancel := callCtx()
		cfg := containerConfig(pod, "restore")
		cfg.Image = &criapi.ImageSpec{Image: tc.image}
		_, err := rt().CreateContainer(cctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
		cancel()
		if grpcCode(err) != tc.code {
			t.Errorf("%s: CreateContainer = %v (code %v), want %v", tc.name, err, grpcCode(err), tc.code)
			continue
		}
		for _, m := range tc.msg {
			if !strings.Contains(err.Error(), m) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, m)
			}
		}
	}
	after, err := env.ctrd.Containers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(after) != len(before) {
		t.Errorf("failed restores left containerd containers: %d before, %d after", len(before), len(after))
	}
	lctx, cancel := callCtx()
	defer cancel()
	list, err := rt().ListContainers(lctx, &criapi.ListContainersRequest{Filter: &criapi.ContainerFilter{PodSandboxId: podID}})
	if err != nil || len(list.Containers) != 0 {
		t.Errorf("failed restores left containers in the pod: %v (%v)", list.GetContainers(), err)
	}
	assertNoWorkDirs(t)
}
