package checkpoint

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/containerd/containerd/errdefs"
	"github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// archiveFixture is everything a checkpoint is written from, generated:
// CRIU's images and work files, a container log and an overlay rootfs.
func archiveFixture(t *testing.T) Contents {
	t.Helper()
	dir := t.TempDir()
	images, work := filepath.Join(dir, "images"), filepath.Join(dir, "work")
	makeTree(t, images, []fsFile{
		{path: "inventory.img", content: "inventory-bytes"},
		{path: "pages-1.img", content: strings.Repeat("p", 10000)},
		{path: "core-1.img", content: "core"},
	})
	makeTree(t, work, []fsFile{{path: StatsDumpFile, content: "stats"}, {path: DumpLogFile, content: "dump log"}})
	logPath := filepath.Join(dir, "ctr.log")
	makeTree(t, dir, []fsFile{{path: "ctr.log", content: "2026-12-05T10:00:00Z stdout F hello\n"}})
	created := time.Date(2026, 12, 5, 9, 0, 0, 0, time.UTC)
	return Contents{
		Config: ContainerConfig{
			ID: "c0ffee", Name: "app_pod_ns_uid_0", RootfsImage: "busybox:1.36",
			RootfsImageName: "docker.io/library/busybox:1.36", RootfsImageRef: "docker.io/library/busybox@sha256:abc",
			OCIRuntime: "io.containerd.runc.v2", CreatedTime: created, CheckpointedAt: created.Add(time.Hour),
		},
		Spec: &specs.Spec{
			Version:     "1.1.0",
			Process:     &specs.Process{Args: []string{"sh", "-c", "sleep 1000"}, Env: []string{"PATH=/bin", "A=b=c"}, Cwd: "/work"},
			Root:        &specs.Root{Path: "rootfs"},
			Mounts:      []specs.Mount{{Destination: "/etc/hosts", Type: "bind", Source: "/x/hosts"}},
			Annotations: map[string]string{"io.kubernetes.cri.sandbox-id": "sb1"},
		},
		Status: &runtime.ContainerStatus{
			Id: "c0ffee", Metadata: &runtime.ContainerMetadata{Name: "app", Attempt: 0},
			State: runtime.ContainerState_CONTAINER_RUNNING, Image: &runtime.ImageSpec{Image: "busybox:1.36", UserSpecifiedImage: "busybox:1.36"},
			ImageRef:    "docker.io/library/busybox@sha256:abc",
			Labels:      map[string]string{"io.kubernetes.container.name": "app", "io.kubernetes.pod.name": "old-pod"},
			Annotations: map[string]string{"io.kubernetes.container.hash": "1", "keep": "me"},
		},
		ImagesDir: images, WorkDir: work,
		Rootfs: diffFixture(t), Exclude: fixtureExclude,
		LogPath: logPath,
	}
}

func TestWriteArchive(t *testing.T) {
	c := archiveFixture(t)
	dir := t.TempDir()
	location := filepath.Join(dir, "checkpoint-app.tar")
	if err := Write(context.Background(), location, c); err != nil {
		t.Fatal(err)
	}
	info, err := os.Stat(location)
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Errorf("archive mode %v, want 0600 (it holds the process's memory)", info.Mode().Perm())
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Errorf("dir has %d entries, want only the archive (no temporary files)", len(entries))
	}
	f, err := os.Open(location)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := readTar(t, f)

	var names []string
	for n := range got {
		names = append(names, n)
	}
	want := []string{ConfigDumpFile, SpecDumpFile, StatusDumpFile, DeletedFilesFile, RootfsDiffFile,
		"checkpoint/", "checkpoint/inventory.img", "checkpoint/pages-1.img", "checkpoint/core-1.img",
		StatsDumpFile, DumpLogFile, ContainerLogFile}
	if len(names) != len(want) {
		t.Errorf("archive entries %q, want %q", names, want)
	}
	for _, n := range want {
		if _, ok := got[n]; !ok {
			t.Errorf("archive has no %s", n)
		}
	}

	var cfg ContainerConfig
	if err := json.Unmarshal([]byte(got[ConfigDumpFile].content), &cfg); err != nil || !reflect.DeepEqual(cfg, c.Config) {
		t.Errorf("config.dump = %+v (%v), want %+v", cfg, err, c.Config)
	}
	// The JSON names are checkpointctl's.
	var raw map[string]any
	json.Unmarshal([]byte(got[ConfigDumpFile].content), &raw)
	for _, k := range []string{"id", "name", "rootfsImage", "rootfsImageRef", "rootfsImageName", "runtime", "createdTime", "checkpointedTime"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("config.dump has no %q: %s", k, got[ConfigDumpFile].content)
		}
	}
	var sp specs.Spec
	if err := json.Unmarshal([]byte(got[SpecDumpFile].content), &sp); err != nil || !reflect.DeepEqual(&sp, c.Spec) {
		t.Errorf("spec.dump = %+v (%v), want %+v", sp, err, c.Spec)
	}
	var st runtime.ContainerStatus
	if err := json.Unmarshal([]byte(got[StatusDumpFile].content), &st); err != nil || st.Id != "c0ffee" || st.Labels["io.kubernetes.pod.name"] != "old-pod" {
		t.Errorf("status.dump = %s (%v)", got[StatusDumpFile].content, err)
	}
	var deleted []string
	if err := json.Unmarshal([]byte(got[DeletedFilesFile].content), &deleted); err != nil ||
		!reflect.DeepEqual(deleted, []string{"/data/old1", "/data/old3", "/data/sub", "/etc/gone"}) {
		t.Errorf("deleted.files = %s (%v)", got[DeletedFilesFile].content, err)
	}
	diff := readTar(t, strings.NewReader(got[RootfsDiffFile].content))
	if diff["etc/added"].content != "added" || diff["newdir/deep/file"].content != "deep" {
		t.Errorf("rootfs-diff.tar = %v", diff)
	}
	if _, ok := diff["etc/hosts"]; ok {
		t.Errorf("rootfs-diff.tar has the excluded mount point etc/hosts")
	}
	for name, content := range map[string]string{
		"checkpoint/inventory.img": "inventory-bytes", "checkpoint/pages-1.img": strings.Repeat("p", 10000),
		StatsDumpFile: "stats", DumpLogFile: "dump log", ContainerLogFile: "2026-12-05T10:00:00Z stdout F hello\n",
	} {
		if got[name].content != content {
			t.Errorf("%s = %q, want %q", name, got[name].content, content)
		}
	}
}

func TestWriteArchiveFailureLeavesNothing(t *testing.T) {
	for name, broken := range map[string]func(*Contents){
		"no CRIU images": func(c *Contents) { c.ImagesDir = filepath.Join(t.TempDir(), "missing") },
		"no upper dir":   func(c *Contents) { c.Rootfs.Upper = filepath.Join(t.TempDir(), "missing") },
		"no spec":        func(c *Contents) { c.Spec = nil },
	} {
		c := archiveFixture(t)
		broken(&c)
		dir := t.TempDir()
		location := filepath.Join(dir, "cp.tar")
		if err := Write(context.Background(), location, c); err == nil {
			t.Errorf("%s: Write succeeded", name)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 0 {
			t.Errorf("%s: left %d files in the location's dir", name, len(entries))
		}
	}
	// A cancelled request too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	dir := t.TempDir()
	if err := Write(ctx, filepath.Join(dir, "cp.tar"), archiveFixture(t)); err == nil {
		t.Error("cancelled Write succeeded")
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("cancelled Write left %d files", len(entries))
	}
}

func TestOpenArchive(t *testing.T) {
	c := archiveFixture(t)
	location := filepath.Join(t.TempDir(), "cp.tar")
	if err := Write(context.Background(), location, c); err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "unpacked")
	a, err := Open(context.Background(), location, dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(a.Config, c.Config) || !reflect.DeepEqual(&a.Spec, c.Spec) {
		t.Errorf("config %+v spec %+v", a.Config, a.Spec)
	}
	if a.Status == nil || a.Status.Id != "c0ffee" || !a.HasRootfsDiff || len(a.Deleted) != 4 {
		t.Errorf("status %v, rootfs diff %v, deleted %q", a.Status, a.HasRootfsDiff, a.Deleted)
	}
	if a.BaseImage() != c.Config.RootfsImageRef {
		t.Errorf("base image %q, want the ref %q", a.BaseImage(), c.Config.RootfsImageRef)
	}
	data, err := os.ReadFile(filepath.Join(a.ImagesDir(), "pages-1.img"))
	if err != nil || len(data) != 10000 {
		t.Errorf("unpacked CRIU image: %d bytes, %v", len(data), err)
	}
	// Only what restore uses is unpacked.
	for _, skipped := range []string{StatsDumpFile, DumpLogFile, ContainerLogFile} {
		if _, err := os.Stat(filepath.Join(dir, skipped)); !os.IsNotExist(err) {
			t.Errorf("%s unpacked: %v", skipped, err)
		}
	}
	root := t.TempDir()
	makeTree(t, root, []fsFile{{path: "etc/gone", content: "x"}, {path: "data/old1", content: "1"}})
	if err := a.ApplyRootfs(context.Background(), root); err != nil {
		t.Fatal(err)
	}
	for p, exists := range map[string]bool{"etc/gone": false, "data/old1": false, "etc/added": true, "data/new": true} {
		if _, err := os.Lstat(filepath.Join(root, p)); (err == nil) != exists {
			t.Errorf("%s exists=%v after ApplyRootfs, want %v", p, err == nil, exists)
		}
	}
	if err := a.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dir); !os.IsNotExist(err) {
		t.Errorf("Close left %s", dir)
	}
}

// tarOf builds a tar from name → content ("/" suffix: directory).
func tarOf(t *testing.T, entries [][2]string, extra ...*tar.Header) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, e := range entries {
		hdr := &tar.Header{Name: e[0], Mode: 0o600, Size: int64(len(e[1])), Typeflag: tar.TypeReg}
		if strings.HasSuffix(e[0], "/") {
			hdr.Typeflag, hdr.Size, hdr.Mode = tar.TypeDir, 0, 0o700
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		tw.Write([]byte(e[1]))
	}
	for _, h := range extra {
		tw.WriteHeader(h)
	}
	tw.Close()
	return buf.Bytes()
}

const (
	goodConfig = `{"id":"c1","name":"n","rootfsImageName":"busybox:1.36"}`
	goodSpec   = `{"ociVersion":"1.1.0","process":{"args":["sleep","1"],"cwd":"/"}}`
)

func validEntries() [][2]string {
	return [][2]string{{ConfigDumpFile, goodConfig}, {SpecDumpFile, goodSpec}, {"checkpoint/", ""}, {"checkpoint/inventory.img", "inv"}}
}

func without(name string) [][2]string {
	var out [][2]string
	for _, e := range validEntries() {
		if e[0] != name {
			out = append(out, e)
		}
	}
	return out
}

func with(name, content string) [][2]string {
	return append(without(name), [2]string{name, content})
}

func TestOpenArchiveRejects(t *testing.T) {
	for _, tc := range []struct {
		name    string
		archive []byte
		wantMsg string
	}{
		{"not a tar", bytes.Repeat([]byte("not a tar archive "), 40), "not a readable tar archive"},
		{"empty file", nil, "config.dump missing"},
		{"no config.dump", tarOf(t, without(ConfigDumpFile)), "config.dump missing"},
		{"config.dump not JSON", tarOf(t, with(ConfigDumpFile, "{")), "config.dump: unexpected end of JSON"},
		{"config.dump without id", tarOf(t, with(ConfigDumpFile, `{"name":"n","rootfsImageName":"b"}`)), "config.dump has no id"},
		{"config.dump without image", tarOf(t, with(ConfigDumpFile, `{"id":"c1"}`)), "config.dump names no base image"},
		{"no spec.dump", tarOf(t, without(SpecDumpFile)), "spec.dump missing"},
		{"spec.dump not JSON", tarOf(t, with(SpecDumpFile, "[]")), "spec.dump: json: cannot unmarshal array"},
		{"spec.dump without process", tarOf(t, with(SpecDumpFile, `{"ociVersion":"1.1.0"}`)), "spec.dump has no process args"},
		{"no CRIU images", tarOf(t, without("checkpoint/inventory.img")), "no CRIU images (checkpoint/inventory.img missing)"},
		{"status.dump not JSON", tarOf(t, with(StatusDumpFile, "x")), "status.dump: invalid character"},
		{"deleted.files not a list", tarOf(t, with(DeletedFilesFile, `{"a":1}`)), "deleted.files: json: cannot unmarshal object"},
		{"deleted.files relative path", tarOf(t, with(DeletedFilesFile, `["etc/x"]`)), `deleted.files: "etc/x" is not an absolute clean path`},
		{"entry outside", tarOf(t, append(validEntries(), [2]string{"../evil", "x"})), `entry "../evil" is outside the archive`},
		{"absolute entry", tarOf(t, append(validEntries(), [2]string{"/etc/evil", "x"})), `entry "/etc/evil" is outside the archive`},
		{"symlink in checkpoint/", tarOf(t, validEntries(), &tar.Header{Name: "checkpoint/pages-1.img", Typeflag: tar.TypeSymlink, Linkname: "/etc/shadow"}),
			`entry "checkpoint/pages-1.img" is not a regular file or directory`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "cp.tar")
			if err := os.WriteFile(path, tc.archive, 0o600); err != nil {
				t.Fatal(err)
			}
			dir := filepath.Join(t.TempDir(), "unpacked")
			_, err := Open(context.Background(), path, dir)
			if !errdefs.IsInvalidArgument(err) {
				t.Fatalf("err %v, want InvalidArgument", err)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) || !strings.Contains(err.Error(), path) {
				t.Errorf("err %q, want it to name %s and say %q", err, path, tc.wantMsg)
			}
			if _, err := os.Stat(dir); !os.IsNotExist(err) {
				t.Errorf("failed Open left %s", dir)
			}
		})
	}
	// The minimal valid archive opens.
	path := filepath.Join(t.TempDir(), "ok.tar")
	os.WriteFile(path, tarOf(t, validEntries()), 0o600)
	a, err := Open(context.Background(), path, filepath.Join(t.TempDir(), "u"))
	if err != nil {
		t.Fatalf("minimal archive: %v", err)
	}
	if a.Status != nil || a.HasRootfsDiff || a.Deleted != nil || a.BaseImage() != "busybox:1.36" {
		t.Errorf("minimal archive: %+v", a)
	}
}

func TestOpenArchiveNotFound(t *testing.T) {
	path := filepath.Join(t.TempDir(), "missing.tar")
	_, err := Open(context.Background(), path, filepath.Join(t.TempDir(), "u"))
	if !errdefs.IsNotFound(err) || !strings.Contains(err.Error(), path) {
		t.Errorf("err %v, want NotFound naming %s", err, path)
	}
	_, err = Open(context.Background(), t.TempDir(), filepath.Join(t.TempDir(), "u"))
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), "not a regular file") {
		t.Errorf("directory: err %v, want InvalidArgument", err)
	}
}

func TestIsArchiveRef(t *testing.T) {
	for ref, want := range map[string]bool{
		"/var/lib/kubelet/checkpoints/c.tar": true, "busybox": false, "docker.io/library/busybox:1.36": false,
		"sha256:abc": false, "c.tar": false, "": false,
	} {
		if got := IsArchiveRef(ref); got != want {
			t.Errorf("IsArchiveRef(%q) = %v", ref, got)
		}
	}
}
