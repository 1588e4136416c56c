package spec

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/containerd/oci"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const (
	testNamespace = "podshim-test"
	testPausePid  = 42
	testNetNS     = "/run/podshim/netns/cni-test"
)

// Image files of the test rootfs: alice (1000) is a member of staff (50)
// and extra (50000); bob (1001, primary group 1002) of staff.
const (
	testPasswd = "root:x:0:0:root:/root:/bin/sh\n" +
		"alice:x:1000:1000::/home/alice:/bin/sh\n" +
		"bob:x:1001:1002::/home/bob:/bin/sh\n"
	testGroup = "root:x:0:\n" +
		"staff:x:50:alice,bob\n" +
		"alice:x:1000:\n" +
		"bobgrp:x:1002:\n" +
		"extra:x:50000:alice\n"
)

// testRootfs makes an image rootfs with etc/passwd and etc/group.
func testRootfs(t testing.TB) string {
	t.Helper()
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string]string{"etc/passwd": testPasswd, "etc/group": testGroup} {
		if err := os.WriteFile(filepath.Join(root, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func testSandboxConfig() *runtime.PodSandboxConfig {
	return &runtime.PodSandboxConfig{
		Metadata:     &runtime.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "uid-1", Attempt: 0},
		Hostname:     "web-host",
		LogDirectory: "/var/log/pods/default_web_uid-1",
		Annotations:  map[string]string{"pod-annotation": "p"},
		Linux:        &runtime.LinuxPodSandboxConfig{SecurityContext: &runtime.LinuxSandboxSecurityContext{}},
	}
}

func testSandbox() Sandbox {
	return Sandbox{
		ID:             "sb1",
		Config:         testSandboxConfig(),
		Pid:            testPausePid,
		NetNSPath:      testNetNS,
		HostnamePath:   "/var/lib/podshim/sandboxes/sb1/hostname",
		HostsPath:      "/var/lib/podshim/sandboxes/sb1/hosts",
		ResolvConfPath: "/var/lib/podshim/sandboxes/sb1/resolv.conf",
		ShmPath:        "/run/podshim/sandboxes/sb1/shm",
	}
}

func testContainerConfig() *runtime.ContainerConfig {
	return &runtime.ContainerConfig{
		Metadata: &runtime.ContainerMetadata{Name: "app"},
		Image:    &runtime.ImageSpec{Image: "docker.io/library/busybox:latest"},
		Linux:    &runtime.LinuxContainerConfig{SecurityContext: &runtime.LinuxContainerSecurityContext{}},
	}
}

func testImage() imagespec.ImageConfig {
	return imagespec.ImageConfig{
		Entrypoint: []string{"/bin/entry"},
		Cmd:        []string{"serve", "--port=80"},
		Env:        []string{"PATH=/usr/bin:/bin", "IMG=1"},
		WorkingDir: "/srv",
	}
}

// generate builds a spec the way containerd.WithNewSpec does, with the
// rootfs at root (absolute, no snapshot: user options read root/etc).
func generate(t testing.TB, root, id string, opts []oci.SpecOpts) (*specs.Spec, error) {
	t.Helper()
	ctx := namespaces.WithNamespace(context.Background(), testNamespace)
	all := append([]oci.SpecOpts{oci.WithRootFSPath(root)}, opts...)
	return oci.GenerateSpec(ctx, nil, &containers.Container{ID: id}, all...)
}

// checkErr checks err against the wanted sentinel and message part.
func checkErr(t *testing.T, err error, want error, msg string) {
	t.Helper()
	if err == nil {
		t.Fatalf("want error %v containing %q, got none", want, msg)
	}
	if want != nil && !errors.Is(err, want) {
		t.Fatalf("error %q is not %v", err, want)
	}
	if !strings.Contains(err.Error(), msg) {
		t.Fatalf("error %q does not contain %q", err, msg)
	}
}

// namespace returns the spec's namespace of type typ.
func namespace(s *specs.Spec, typ specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == typ {
			return ns, true
		}
	}
	return specs.LinuxNamespace{}, false
}

func wantNS(t *testing.T, s *specs.Spec, typ specs.LinuxNamespaceType, present bool, path string) {
	t.Helper()
	ns, ok := namespace(s, typ)
	if ok != present {
		t.Fatalf("namespace %s present=%v, want %v (namespaces %+v)", typ, ok, present, s.Linux.Namespaces)
	}
	if ok && ns.Path != path {
		t.Fatalf("namespace %s path %q, want %q", typ, ns.Path, path)
	}
}

func mountAt(s *specs.Spec, dst string) *specs.Mount {
	for i := range s.Mounts {
		if s.Mounts[i].Destination == dst {
			return &s.Mounts[i]
		}
	}
	return nil
}

func countMounts(s *specs.Spec, dst string) int {
	n := 0
	for _, m := range s.Mounts {
		if m.Destination == dst {
			n++
		}
	}
	return n
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func envValue(s *specs.Spec, key string) (string, bool) {
	for _, e := range s.Process.Env {
		if k, v, _ := strings.Cut(e, "="); k == key {
			return v, true
		}
	}
	return "", false
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func equalGids(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func i64(v int64) *runtime.Int64Value { return &runtime.Int64Value{Value: v} }
