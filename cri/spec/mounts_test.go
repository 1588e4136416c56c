package spec

import (
	"os"
	"path/filepath"
	"sort"
	"testing"

	"github.com/containerd/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func wantBind(t *testing.T, s *specs.Spec, dst, src string, opts ...string) {
	t.Helper()
	if n := countMounts(s, dst); n != 1 {
		t.Fatalf("%d mounts at %s, want 1: %+v", n, dst, s.Mounts)
	}
	m := mountAt(s, dst)
	if m.Type != "bind" || m.Source != src || !equalStrings(m.Options, opts) {
		t.Fatalf("mount at %s = %+v, want bind of %s with %q", dst, *m, src, opts)
	}
}

func TestContainerMounts(t *testing.T) {
	host := t.TempDir()
	for _, d := range []string{"data", "deep/a/b", "real"} {
		if err := os.MkdirAll(filepath.Join(host, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	link := filepath.Join(host, "link")
	if err := os.Symlink(filepath.Join(host, "real"), link); err != nil {
		t.Fatal(err)
	}
	runContainerCases(t, []ctrCase{
		{
			name: "pod files, pod /dev/shm, cgroupfs, no /run",
			check: func(t *testing.T, s *specs.Spec, in *ctrInput) {
				wantBind(t, s, "/etc/hostname", in.sb.HostnamePath, "rbind", "rprivate", "rw")
				wantBind(t, s, "/etc/hosts", in.sb.HostsPath, "rbind", "rprivate", "rw")
				wantBind(t, s, "/etc/resolv.conf", in.sb.ResolvConfPath, "rbind", "rprivate", "rw")
				wantBind(t, s, "/dev/shm", in.sb.ShmPath, "rbind", "rprivate", "rw", "nosuid", "nodev", "noexec")
				cg := mountAt(s, "/sys/fs/cgroup")
				if cg == nil || cg.Type != "cgroup" || !contains(cg.Options, "ro") {
					t.Fatalf("cgroup mount %+v", cg)
				}
				if mountAt(s, "/run") != nil {
					t.Fatal("/run tmpfs kept")
				}
				for _, d := range []string{"/proc", "/dev", "/dev/pts", "/dev/mqueue", "/sys"} {
					if mountAt(s, d) == nil {
						t.Errorf("default mount %s missing", d)
					}
				}
				if sys := mountAt(s, "/sys"); !contains(sys.Options, "ro") {
					t.Errorf("/sys not read-only: %q", sys.Options)
				}
				if s.Linux.RootfsPropagation != "" {
					t.Errorf("rootfs propagation %q", s.Linux.RootfsPropagation)
				}
			},
		},
		{
			name: "no pod files, no shm: default tmpfs /dev/shm kept",
			mod: func(in *ctrInput) {
				in.sb.HostnamePath, in.sb.HostsPath, in.sb.ResolvConfPath, in.sb.ShmPath = "", "", "", ""
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				for _, d := range []string{"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"} {
					if mountAt(s, d) != nil {
						t.Errorf("mount at %s without a pod file", d)
					}
				}
				if m := mountAt(s, "/dev/shm"); m == nil || m.Type != "tmpfs" {
					t.Fatalf("/dev/shm %+v", m)
				}
			},
		},
		{
			name: "readonly rootfs makes the pod files read-only",
			mod:  func(in *ctrInput) { sc(in).ReadonlyRootfs = true },
			check: func(t *testing.T, s *specs.Spec, in *ctrInput) {
				if !s.Root.Readonly {
					t.Fatal("root not read-only")
				}
				wantBind(t, s, "/etc/hosts", in.sb.HostsPath, "rbind", "rprivate", "ro")
				wantBind(t, s, "/dev/shm", in.sb.ShmPath, "rbind", "rprivate", "rw", "nosuid", "nodev", "noexec")
			},
		},
		{
			name: "config mounts: propagation, readonly, override of pod files, depth order",
			mod: func(in *ctrInput) {
				in.cfg.Mounts = []*runtime.Mount{
					{ContainerPath: "/data/deep", HostPath: filepath.Join(host, "deep/a/b"), Propagation: runtime.MountPropagation_PROPAGATION_HOST_TO_CONTAINER},
					{ContainerPath: "/data", HostPath: filepath.Join(host, "data"), Readonly: true, SelinuxRelabel: true},
					{ContainerPath: "/etc/hosts", HostPath: "/kubelet/etc-hosts"},
					{ContainerPath: "/shared", HostPath: filepath.Join(host, "real"), Propagation: runtime.MountPropagation_PROPAGATION_BIDIRECTIONAL},
				}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantBind(t, s, "/data/deep", filepath.Join(host, "deep/a/b"), "rbind", "rslave", "rw")
				wantBind(t, s, "/data", filepath.Join(host, "data"), "rbind", "rprivate", "ro")
				wantBind(t, s, "/etc/hosts", "/kubelet/etc-hosts", "rbind", "rprivate", "rw")
				wantBind(t, s, "/shared", filepath.Join(host, "real"), "rbind", "rshared", "rw")
				if s.Linux.RootfsPropagation != "rshared" {
					t.Errorf("rootfs propagation %q, want rshared", s.Linux.RootfsPropagation)
				}
				pos := map[string]int{}
				for i, m := range s.Mounts {
					pos[m.Destination] = i
				}
				if pos["/data"] > pos["/data/deep"] {
					t.Errorf("/data mounted after /data/deep: %+v", s.Mounts)
				}
				binds := []int{}
				for i, m := range s.Mounts {
					if m.Type == "bind" {
						binds = append(binds, depth(m.Destination)*1000+i)
					}
				}
				if !sort.IntsAreSorted(binds) {
					t.Errorf("bind mounts not ordered by depth: %+v", s.Mounts)
				}
			},
		},
		{
			name: "HOST_TO_CONTAINER alone: rootfs rslave",
			mod: func(in *ctrInput) {
				in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/x", HostPath: host, Propagation: runtime.MountPropagation_PROPAGATION_HOST_TO_CONTAINER}}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if s.Linux.RootfsPropagation != "rslave" {
					t.Errorf("rootfs propagation %q, want rslave", s.Linux.RootfsPropagation)
				}
			},
		},
		{
			name: "symlinked host path is resolved; a missing one kept as is",
			mod: func(in *ctrInput) {
				in.cfg.Mounts = []*runtime.Mount{
					{ContainerPath: "/l", HostPath: link},
					{ContainerPath: "/m", HostPath: filepath.Join(host, "missing")},
				}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantBind(t, s, "/l", filepath.Join(host, "real"), "rbind", "rprivate", "rw")
				wantBind(t, s, "/m", filepath.Join(host, "missing"), "rbind", "rprivate", "rw")
			},
		},
		{
			name: "a /dev mount drops the default mounts below /dev, pod /dev/shm kept",
			mod:  func(in *ctrInput) { in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/dev", HostPath: "/dev"}} },
			check: func(t *testing.T, s *specs.Spec, in *ctrInput) {
				wantBind(t, s, "/dev", "/dev", "rbind", "rprivate", "rw")
				for _, d := range []string{"/dev/pts", "/dev/mqueue"} {
					if mountAt(s, d) != nil {
						t.Errorf("default %s kept under a /dev mount", d)
					}
				}
				wantBind(t, s, "/dev/shm", in.sb.ShmPath, "rbind", "rprivate", "rw", "nosuid", "nodev", "noexec")
			},
		},
		{
			name: "config /dev/shm replaces the pod's",
			mod:  func(in *ctrInput) { in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/dev/shm/", HostPath: host}} },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if n := countMounts(s, "/dev/shm") + countMounts(s, "/dev/shm/"); n != 1 {
					t.Fatalf("%d /dev/shm mounts: %+v", n, s.Mounts)
				}
				if m := mountAt(s, "/dev/shm/"); m == nil || m.Source != host {
					t.Fatalf("/dev/shm mount %+v", m)
				}
			},
		},
		{
			name: "relative container path",
			mod:  func(in *ctrInput) { in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "data", HostPath: host}} },
			err:  errdefs.ErrInvalidArgument, msg: "mounts[0].container_path",
		},
		{
			name: "empty host path",
			mod:  func(in *ctrInput) { in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/data"}} },
			err:  errdefs.ErrInvalidArgument, msg: "mounts[0].host_path is empty",
		},
		{
			name: "recursive read-only without readonly",
			mod: func(in *ctrInput) {
				in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/d", HostPath: host, RecursiveReadOnly: true}}
			},
			err: errdefs.ErrInvalidArgument, msg: "mounts[0].recursive_read_only needs readonly",
		},
		{
			name: "recursive read-only with propagation",
			mod: func(in *ctrInput) {
				in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/d", HostPath: host, Readonly: true, RecursiveReadOnly: true,
					Propagation: runtime.MountPropagation_PROPAGATION_BIDIRECTIONAL}}
			},
			err: errdefs.ErrInvalidArgument, msg: "needs propagation PROPAGATION_PRIVATE",
		},
		{
			name: "recursive read-only unsupported",
			mod: func(in *ctrInput) {
				in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/d", HostPath: host, Readonly: true, RecursiveReadOnly: true}}
			},
			err: errdefs.ErrFailedPrecondition, msg: "mounts[0].recursive_read_only",
		},
		{
			name: "recursive read-only",
			mod: func(in *ctrInput) {
				in.o.Features.RecursiveReadOnlyMounts = true
				in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/d", HostPath: host, Readonly: true, RecursiveReadOnly: true}}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				wantBind(t, s, "/d", host, "rbind", "rprivate", "rro")
			},
		},
		{
			name: "idmapped mount unsupported",
			mod: func(in *ctrInput) {
				in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/d", HostPath: host, UidMappings: []*runtime.IDMapping{{Length: 1}}}}
			},
			err: errdefs.ErrFailedPrecondition, msg: "mounts[0].uid_mappings",
		},
		{
			name: "idmapped mount without gid mappings",
			mod: func(in *ctrInput) {
				in.o.Features.IDMappedMounts = true
				in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/d", HostPath: host, UidMappings: []*runtime.IDMapping{{Length: 1}}}}
			},
			err: errdefs.ErrInvalidArgument, msg: "mounts[0]: uid_mappings and gid_mappings go together",
		},
		{
			name: "idmapped mount",
			mod: func(in *ctrInput) {
				in.o.Features.IDMappedMounts = true
				in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/d", HostPath: host,
					UidMappings: []*runtime.IDMapping{{ContainerId: 0, HostId: 5000, Length: 10}},
					GidMappings: []*runtime.IDMapping{{ContainerId: 0, HostId: 6000, Length: 20}}}}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				m := mountAt(s, "/d")
				if m == nil || len(m.UIDMappings) != 1 || m.UIDMappings[0] != (specs.LinuxIDMapping{HostID: 5000, Size: 10}) ||
					len(m.GIDMappings) != 1 || m.GIDMappings[0] != (specs.LinuxIDMapping{HostID: 6000, Size: 20}) {
					t.Fatalf("mount /d %+v", m)
				}
			},
		},
		{
			name: "image volume unsupported",
			mod: func(in *ctrInput) {
				in.cfg.Mounts = []*runtime.Mount{{ContainerPath: "/d", Image: &runtime.ImageSpec{Image: "busybox"}}}
			},
			err: errdefs.ErrNotImplemented, msg: "mounts[0].image",
		},
	})
}

func TestContainerDevices(t *testing.T) {
	runContainerCases(t, []ctrCase{
		{
			name: "device node and cgroup rule",
			mod: func(in *ctrInput) {
				in.cfg.Devices = []*runtime.Device{{HostPath: "/dev/null", ContainerPath: "/dev/xnull", Permissions: "rw"}}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if len(s.Linux.Devices) != 1 {
					t.Fatalf("devices %+v", s.Linux.Devices)
				}
				d := s.Linux.Devices[0]
				if d.Path != "/dev/xnull" || d.Type != "c" || d.Major != 1 || d.Minor != 3 {
					t.Fatalf("device %+v", d)
				}
				rules := s.Linux.Resources.Devices
				last := rules[len(rules)-1]
				if !last.Allow || last.Type != "c" || *last.Major != 1 || *last.Minor != 3 || last.Access != "rw" {
					t.Fatalf("cgroup rule %+v", last)
				}
				if first := rules[0]; first.Allow || first.Access != "rwm" {
					t.Fatalf("default deny rule lost: %+v", rules)
				}
			},
		},
		{
			name: "no container path: same as host",
			mod:  func(in *ctrInput) { in.cfg.Devices = []*runtime.Device{{HostPath: "/dev/zero", Permissions: "mrw"}} },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if len(s.Linux.Devices) != 1 || s.Linux.Devices[0].Path != "/dev/zero" {
					t.Fatalf("devices %+v", s.Linux.Devices)
				}
			},
		},
		{
			name: "bad permissions",
			mod:  func(in *ctrInput) { in.cfg.Devices = []*runtime.Device{{HostPath: "/dev/null", Permissions: "rwx"}} },
			err:  errdefs.ErrInvalidArgument, msg: `devices[0].permissions "rwx"`,
		},
		{
			name: "missing host device",
			mod: func(in *ctrInput) {
				in.cfg.Devices = []*runtime.Device{{HostPath: "/dev/no-such-device", Permissions: "r"}}
			},
			err: errdefs.ErrInvalidArgument, msg: `devices[0].host_path "/dev/no-such-device"`,
		},
		{
			name: "not a device",
			mod:  func(in *ctrInput) { in.cfg.Devices = []*runtime.Device{{HostPath: "/etc/hostname", Permissions: "r"}} },
			err:  errdefs.ErrInvalidArgument, msg: `devices[0].host_path "/etc/hostname"`,
		},
	})
}

func TestHostPathsToCreate(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "a", "b")
	cfg := testContainerConfig()
	cfg.Mounts = []*runtime.Mount{
		{ContainerPath: "/x", HostPath: dir},
		{ContainerPath: "/y", HostPath: missing},
		{ContainerPath: "/z", HostPath: "/etc/hostname"},
	}
	got := HostPathsToCreate(cfg)
	if !equalStrings(got, []string{missing}) {
		t.Fatalf("HostPathsToCreate = %q, want [%q]", got, missing)
	}
	if _, err := os.Stat(missing); err == nil {
		t.Fatal("HostPathsToCreate created the path")
	}
	if got := HostPathsToCreate(testContainerConfig()); len(got) != 0 {
		t.Fatalf("no mounts: %q", got)
	}
}
