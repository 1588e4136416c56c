package checkpoint

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/mount"
	"github.com/containerd/containerd/runtime/v2/runc/options"
	"github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri"
)

// fakeContainer and fakeTask stand in for containerd's: only the calls the
// dump makes are implemented; the task records them.
type fakeContainer struct {
	containerd.Container
	spec *specs.Spec
}

func (c *fakeContainer) Spec(context.Context) (*specs.Spec, error) { return c.spec, nil }

type fakeTask struct {
	containerd.Task
	calls   []string
	dumpErr error
}

func (t *fakeTask) Pause(context.Context) error  { t.calls = append(t.calls, "pause"); return nil }
func (t *fakeTask) Resume(context.Context) error { t.calls = append(t.calls, "resume"); return nil }

// Checkpoint does what runc and CRIU do with the options: write images
// and CRIU's stats and log, or fail.
func (t *fakeTask) Checkpoint(ctx context.Context, opts ...containerd.CheckpointTaskOpts) (containerd.Image, error) {
	t.calls = append(t.calls, "checkpoint")
	var info containerd.CheckpointTaskInfo
	for _, o := range opts {
		if err := o(&info); err != nil {
			return nil, err
		}
	}
	o := info.Options.(*options.CheckpointOptions)
	if o.Exit {
		t.calls = append(t.calls, "exit requested")
	}
	os.WriteFile(filepath.Join(o.ImagePath, "inventory.img"), []byte("inv"), 0o600)
	os.WriteFile(filepath.Join(o.ImagePath, "pages-1.img"), []byte("pages"), 0o600)
	os.WriteFile(filepath.Join(o.WorkPath, StatsDumpFile), []byte("stats"), 0o600)
	os.WriteFile(filepath.Join(o.WorkPath, DumpLogFile), []byte("log"), 0o600)
	return nil, t.dumpErr
}

func dumpFixture(t *testing.T, dumpErr error) (*Service, cri.Running, *fakeTask, []mount.Mount, string) {
	t.Helper()
	root := t.TempDir()
	upper := t.TempDir()
	makeTree(t, upper, []fsFile{{path: "tmp/state", content: "s"}})
	task := &fakeTask{dumpErr: dumpErr}
	r := cri.Running{
		Meta: cri.Metadata{ID: "c1", Name: "app_pod", ImageName: "busybox:1.36", ImageRef: "busybox@sha256:abc",
			Config: &runtime.ContainerConfig{Image: &runtime.ImageSpec{Image: "busybox"}}},
		Status:    &runtime.ContainerStatus{Id: "c1"},
		Container: &fakeContainer{spec: &specs.Spec{Process: &specs.Process{Args: []string{"sleep"}}}},
		Task:      task,
	}
	s := &Service{opts: Options{RootDir: root, CRIU: &CRIU{}}}
	mounts := []mount.Mount{{Type: "bind", Source: upper, Options: []string{"rw", "rbind"}}}
	return s, r, task, mounts, filepath.Join(t.TempDir(), "cp.tar")
}

func TestDump(t *testing.T) {
	s, r, task, mounts, location := dumpFixture(t, nil)
	err := s.checkpoint(context.Background(), r, containers.Container{Runtime: containers.RuntimeInfo{Name: "io.containerd.runc.v2"}}, mounts, location)
	if err != nil {
		t.Fatal(err)
	}
	// Frozen around the dump, thawed after, never asked to exit.
	if want := []string{"pause", "checkpoint", "resume"}; !reflect.DeepEqual(task.calls, want) {
		t.Errorf("task calls %q, want %q", task.calls, want)
	}
	a, err := Open(context.Background(), location, filepath.Join(t.TempDir(), "u"))
	if err != nil {
		t.Fatal(err)
	}
	if a.Config.ID != "c1" || a.Config.RootfsImageRef != "busybox@sha256:abc" || a.Config.OCIRuntime != "io.containerd.runc.v2" || a.Config.CheckpointedAt.IsZero() {
		t.Errorf("config.dump %+v", a.Config)
	}
	f, _ := os.Open(location)
	defer f.Close()
	entries := readTar(t, f)
	for name, want := range map[string]string{"checkpoint/pages-1.img": "pages", StatsDumpFile: "stats", DumpLogFile: "log"} {
		if entries[name].content != want {
			t.Errorf("%s = %q, want %q", name, entries[name].content, want)
		}
	}
	if work, _ := os.ReadDir(s.workRoot()); len(work) != 0 {
		t.Errorf("work dirs left: %v", work)
	}
}

func TestDumpFailure(t *testing.T) {
	s, r, task, mounts, location := dumpFixture(t, errors.New("runc checkpoint: criu failed: type NOTIFY errno 0"))
	err := s.checkpoint(context.Background(), r, containers.Container{}, mounts, location)
	if err == nil || !strings.Contains(err.Error(), "criu dump: runc checkpoint: criu failed") {
		t.Fatalf("err %v", err)
	}
	if want := []string{"pause", "checkpoint", "resume"}; !reflect.DeepEqual(task.calls, want) {
		t.Errorf("task calls %q, want %q (the container must be thawed)", task.calls, want)
	}
	if _, err := os.Stat(location); !os.IsNotExist(err) {
		t.Errorf("failed dump left the archive: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(location)); len(entries) != 0 {
		t.Errorf("failed dump left %d files beside the location", len(entries))
	}
	if work, _ := os.ReadDir(s.workRoot()); len(work) != 0 {
		t.Errorf("failed dump left work dirs: %v", work)
	}
}

// TestDumpArchiveFailure: the dump worked, writing the archive did not
// (the location's directory is missing): no work dir, thawed.
func TestDumpArchiveFailure(t *testing.T) {
	s, r, task, mounts, _ := dumpFixture(t, nil)
	location := filepath.Join(t.TempDir(), "missing-dir", "cp.tar")
	err := s.checkpoint(context.Background(), r, containers.Container{}, mounts, location)
	if err == nil || !strings.Contains(err.Error(), "missing-dir") {
		t.Fatalf("err %v", err)
	}
	if task.calls[len(task.calls)-1] != "resume" {
		t.Errorf("task calls %q: not thawed", task.calls)
	}
	if work, _ := os.ReadDir(s.workRoot()); len(work) != 0 {
		t.Errorf("work dirs left: %v", work)
	}
}

func TestNewRemovesStaleWorkDirs(t *testing.T) {
	root := t.TempDir()
	stale := filepath.Join(WorkRoot(root), "dump-123", "images")
	if err := os.MkdirAll(stale, 0o700); err != nil {
		t.Fatal(err)
	}
	if _, err := New(Options{RootDir: root}); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(WorkRoot(root)); !os.IsNotExist(err) {
		t.Errorf("stale work dirs kept: %v", err)
	}
}

// TestCheckpointLocation checks the location checks, made before the
// container is looked up.
func TestCheckpointLocation(t *testing.T) {
	s := &Service{opts: Options{RootDir: t.TempDir()}}
	dir := t.TempDir()
	for location, want := range map[string]string{
		"":                                   "location is required",
		"cp.tar":                             `location "cp.tar" is not an absolute path`,
		filepath.Join(dir, "no/such/cp.tar"): "directory " + filepath.Join(dir, "no/such") + " does not exist",
		dir:                                  "is a directory",
	} {
		err := s.Checkpoint(context.Background(), "c1", location, 0)
		if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("location %q: err %v, want InvalidArgument saying %q", location, err, want)
		}
	}
	if err := s.Checkpoint(context.Background(), "", filepath.Join(dir, "cp.tar"), 0); !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "container_id") {
		t.Errorf("no container id: %v", err)
	}
}
