package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/pkg/cap"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The containerd (and docker) default capability set.
var defaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FSETID", "CAP_FOWNER", "CAP_MKNOD", "CAP_NET_RAW", "CAP_SETGID",
	"CAP_SETUID", "CAP_SETFCAP", "CAP_SETPCAP", "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT", "CAP_KILL", "CAP_AUDIT_WRITE",
}

var defaultMasked = []string{
	"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats", "/proc/timer_list",
	"/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/sys/devices/virtual/powercap", "/proc/scsi",
}

var defaultReadonly = []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"}

func wantCaps(want ...string) func(*testing.T, *specs.Spec, *ctrInput) {
	return func(t *testing.T, s *specs.Spec, _ *ctrInput) {
		c := s.Process.Capabilities
		for name, set := range map[string][]string{"bounding": c.Bounding, "effective": c.Effective, "permitted": c.Permitted} {
			if len(set) != len(want) {
				t.Fatalf("%s caps %q, want %q", name, set, want)
			}
			for _, w := range want {
				if !contains(set, w) {
					t.Fatalf("%s caps %q lack %s", name, set, w)
				}
			}
		}
		if len(c.Ambient) != 0 {
			t.Fatalf("ambient caps %q", c.Ambient)
		}
	}
}

func without(list []string, drop string) []string {
	var out []string
	for _, v := range list {
		if v != drop {
			out = append(out, v)
		}
	}
	return out
}

func caps(in *ctrInput) *runtime.Capability {
	if sc(in).Capabilities == nil {
		sc(in).Capabilities = &runtime.Capability{}
	}
	return sc(in).Capabilities
}

func TestContainerCapabilities(t *testing.T) {
	current, err := cap.Current()
	if err != nil {
		t.Fatal(err)
	}
	runContainerCases(t, []ctrCase{
		{name: "default set", check: wantCaps(defaultCaps...)},
		{
			name: "add and drop, any case, with or without CAP_",
			mod: func(in *ctrInput) {
				caps(in).AddCapabilities = []string{"net_admin", "CAP_SYS_TIME"}
				caps(in).DropCapabilities = []string{"CHOWN"}
			},
			check: wantCaps(append(without(defaultCaps, "CAP_CHOWN"), "CAP_NET_ADMIN", "CAP_SYS_TIME")...),
		},
		{
			name:  "add ALL: every capability the daemon holds",
			mod:   func(in *ctrInput) { caps(in).AddCapabilities = []string{"ALL"} },
			check: wantCaps(current...),
		},
		{
			name: "add ALL drop one",
			mod: func(in *ctrInput) {
				caps(in).AddCapabilities, caps(in).DropCapabilities = []string{"ALL"}, []string{"SYS_ADMIN"}
			},
			check: wantCaps(without(current, "CAP_SYS_ADMIN")...),
		},
		{
			name:  "drop ALL",
			mod:   func(in *ctrInput) { caps(in).DropCapabilities = []string{"ALL"} },
			check: wantCaps(),
		},
		{
			name: "drop ALL add one",
			mod: func(in *ctrInput) {
				caps(in).DropCapabilities, caps(in).AddCapabilities = []string{"all"}, []string{"NET_RAW"}
			},
			check: wantCaps("CAP_NET_RAW"),
		},
		{
			name: "ambient",
			mod:  func(in *ctrInput) { caps(in).AddAmbientCapabilities = []string{"NET_BIND_SERVICE", "NET_ADMIN"} },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				c := s.Process.Capabilities
				for _, set := range [][]string{c.Ambient, c.Inheritable, c.Bounding, c.Permitted, c.Effective} {
					if !contains(set, "CAP_NET_ADMIN") || !contains(set, "CAP_NET_BIND_SERVICE") {
						t.Fatalf("caps %+v", c)
					}
				}
				if len(c.Ambient) != 2 {
					t.Fatalf("ambient %q", c.Ambient)
				}
			},
		},
		{
			name: "unknown capability",
			mod:  func(in *ctrInput) { caps(in).AddCapabilities = []string{"NET_ADMIN", "FLY"} },
			err:  errdefs.ErrInvalidArgument, msg: `capabilities.add_capabilities[1] "FLY"`,
		},
		{
			name: "unknown dropped capability",
			mod:  func(in *ctrInput) { caps(in).DropCapabilities = []string{"CAP_"} },
			err:  errdefs.ErrInvalidArgument, msg: "capabilities.drop_capabilities[0]",
		},
	})
}

func TestContainerSecurity(t *testing.T) {
	current, err := cap.Current()
	if err != nil {
		t.Fatal(err)
	}
	privileged := func(in *ctrInput) {
		in.sb.Config.Linux.SecurityContext.Privileged = true
		sc(in).Privileged = true
	}
	runContainerCases(t, []ctrCase{
		{
			name: "defaults: masked and read-only paths, new privileges allowed, no seccomp",
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if !equalStrings(s.Linux.MaskedPaths, defaultMasked) || !equalStrings(s.Linux.ReadonlyPaths, defaultReadonly) {
					t.Fatalf("masked %q readonly %q", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
				}
				if s.Process.NoNewPrivileges {
					t.Fatal("no_new_privs set by default")
				}
				if s.Linux.Seccomp != nil {
					t.Fatal("seccomp set without a profile")
				}
			},
		},
		{
			name: "no_new_privs",
			mod:  func(in *ctrInput) { sc(in).NoNewPrivs = true },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if !s.Process.NoNewPrivileges {
					t.Fatal("no_new_privs not set")
				}
			},
		},
		{
			name: "masked and read-only paths given",
			mod: func(in *ctrInput) {
				sc(in).MaskedPaths, sc(in).ReadonlyPaths = []string{"/bin/ls"}, []string{"/tmp"}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if !equalStrings(s.Linux.MaskedPaths, []string{"/bin/ls"}) || !equalStrings(s.Linux.ReadonlyPaths, []string{"/tmp"}) {
					t.Fatalf("masked %q readonly %q", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
				}
			},
		},
		{
			name: "empty masked and read-only paths clear the defaults",
			mod:  func(in *ctrInput) { sc(in).MaskedPaths, sc(in).ReadonlyPaths = []string{}, []string{} },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
					t.Fatalf("masked %q readonly %q", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
				}
			},
		},
		{
			name: "privileged in an unprivileged pod",
			mod:  func(in *ctrInput) { sc(in).Privileged = true },
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.privileged",
		},
		{
			name: "privileged",
			mod: func(in *ctrInput) {
				privileged(in)
				sc(in).MaskedPaths = []string{"/bin/ls"}
				sc(in).Seccomp = &runtime.SecurityProfile{ProfileType: runtime.SecurityProfile_RuntimeDefault}
				caps(in).DropCapabilities = []string{"ALL"}
			},
			check: func(t *testing.T, s *specs.Spec, in *ctrInput) {
				wantCaps(current...)(t, s, in)
				if len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
					t.Fatalf("masked %q readonly %q", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
				}
				if s.Linux.Seccomp != nil {
					t.Fatal("seccomp on a privileged container")
				}
				if sys := mountAt(s, "/sys"); contains(sys.Options, "ro") {
					t.Fatalf("/sys read-only: %q", sys.Options)
				}
				if cg := mountAt(s, "/sys/fs/cgroup"); contains(cg.Options, "ro") {
					t.Fatalf("cgroupfs read-only: %q", cg.Options)
				}
				d := s.Linux.Resources.Devices
				if len(d) != 1 || !d[0].Allow || d[0].Access != "rwm" || d[0].Type != "" {
					t.Fatalf("device rules %+v", d)
				}
				found := false
				for _, dev := range s.Linux.Devices {
					found = found || dev.Path == "/dev/null"
				}
				if !found {
					t.Fatalf("host devices missing: %d devices", len(s.Linux.Devices))
				}
			},
		},
	})
}

func TestContainerSeccomp(t *testing.T) {
	dir := t.TempDir()
	const profile = `{"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["chmod", "fchmodat"], "action": "SCMP_ACT_ERRNO"}]}`
	abs := filepath.Join(dir, "block-chmod.json")
	bad := filepath.Join(dir, "bad.json")
	for p, data := range map[string]string{abs: profile, bad: "{not json"} {
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	wantDefault := func(t *testing.T, s *specs.Spec, _ *ctrInput) {
		sp := s.Linux.Seccomp
		if sp == nil || sp.DefaultAction != specs.ActErrno || len(sp.Syscalls) < 10 {
			t.Fatalf("seccomp %+v is not the default profile", sp)
		}
	}
	wantChmod := func(t *testing.T, s *specs.Spec, _ *ctrInput) {
		sp := s.Linux.Seccomp
		if sp == nil || sp.DefaultAction != specs.ActAllow || len(sp.Syscalls) != 1 ||
			!equalStrings(sp.Syscalls[0].Names, []string{"chmod", "fchmodat"}) || sp.Syscalls[0].Action != specs.ActErrno {
			t.Fatalf("seccomp %+v is not the chmod profile", sp)
		}
	}
	wantNone := func(t *testing.T, s *specs.Spec, _ *ctrInput) {
		if s.Linux.Seccomp != nil {
			t.Fatalf("seccomp %+v", s.Linux.Seccomp)
		}
	}
	prof := func(typ runtime.SecurityProfile_ProfileType, ref string) func(*ctrInput) {
		return func(in *ctrInput) { sc(in).Seccomp = &runtime.SecurityProfile{ProfileType: typ, LocalhostRef: ref} }
	}
	legacy := func(p string) func(*ctrInput) { return func(in *ctrInput) { sc(in).SeccompProfilePath = p } }
	runContainerCases(t, []ctrCase{
		{name: "none: unconfined", check: wantNone},
		{name: "RuntimeDefault", mod: prof(runtime.SecurityProfile_RuntimeDefault, ""), check: wantDefault},
		{
			name: "RuntimeDefault follows the capabilities",
			mod: func(in *ctrInput) {
				prof(runtime.SecurityProfile_RuntimeDefault, "")(in)
				caps(in).AddCapabilities = []string{"SYS_ADMIN"}
			},
			check: func(t *testing.T, s *specs.Spec, in *ctrInput) {
				wantDefault(t, s, in)
				found := false
				for _, sc := range s.Linux.Seccomp.Syscalls {
					found = found || contains(sc.Names, "mount")
				}
				if !found {
					t.Fatal("default profile with CAP_SYS_ADMIN does not allow mount")
				}
			},
		},
		{name: "Unconfined", mod: prof(runtime.SecurityProfile_Unconfined, ""), check: wantNone},
		{name: "Localhost absolute", mod: prof(runtime.SecurityProfile_Localhost, abs), check: wantChmod},
		{name: "Localhost with localhost/ prefix", mod: prof(runtime.SecurityProfile_Localhost, "localhost/"+abs), check: wantChmod},
		{
			name: "Localhost relative to the profile root",
			mod: func(in *ctrInput) {
				prof(runtime.SecurityProfile_Localhost, "block-chmod.json")(in)
				in.o.SeccompProfileRoot = dir
			},
			check: wantChmod,
		},
		{
			name: "Localhost relative without a root",
			mod:  prof(runtime.SecurityProfile_Localhost, "block-chmod.json"),
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.seccomp: localhost profile",
		},
		{
			name: "Localhost unreadable",
			mod:  prof(runtime.SecurityProfile_Localhost, filepath.Join(dir, "missing.json")),
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.seccomp: cannot read seccomp profile",
		},
		{
			name: "Localhost malformed",
			mod:  prof(runtime.SecurityProfile_Localhost, bad),
			err:  errdefs.ErrInvalidArgument, msg: "is not valid JSON",
		},
		{
			name: "localhost_ref without Localhost",
			mod:  prof(runtime.SecurityProfile_RuntimeDefault, abs),
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.seccomp.localhost_ref",
		},
		{name: "legacy runtime/default", mod: legacy("runtime/default"), check: wantDefault},
		{name: "legacy docker/default", mod: legacy("docker/default"), check: wantDefault},
		{name: "legacy unconfined", mod: legacy("unconfined"), check: wantNone},
		{name: "legacy localhost/", mod: legacy("localhost/" + abs), check: wantChmod},
		{
			name: "legacy bogus",
			mod:  legacy("strict"),
			err:  errdefs.ErrInvalidArgument, msg: `linux.security_context.seccomp_profile_path "strict"`,
		},
		{
			name: "legacy unreadable names the legacy field",
			mod:  legacy("localhost/" + filepath.Join(dir, "missing.json")),
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.seccomp_profile_path: cannot read",
		},
		{
			name: "structured wins over legacy",
			mod: func(in *ctrInput) {
				legacy("unconfined")(in)
				prof(runtime.SecurityProfile_Localhost, abs)(in)
			},
			check: wantChmod,
		},
	})
}

func TestContainerAppArmor(t *testing.T) {
	aa := func(typ runtime.SecurityProfile_ProfileType, ref string) func(*ctrInput) {
		return func(in *ctrInput) { sc(in).Apparmor = &runtime.SecurityProfile{ProfileType: typ, LocalhostRef: ref} }
	}
	ok := func(t *testing.T, s *specs.Spec, _ *ctrInput) {
		if s.Process.ApparmorProfile != "" {
			t.Fatalf("apparmor profile %q", s.Process.ApparmorProfile)
		}
	}
	runContainerCases(t, []ctrCase{
		{name: "none", check: ok},
		{name: "Unconfined", mod: aa(runtime.SecurityProfile_Unconfined, ""), check: ok},
		{name: "RuntimeDefault: nothing to apply without AppArmor", mod: aa(runtime.SecurityProfile_RuntimeDefault, ""), check: ok},
		{name: "legacy runtime/default", mod: func(in *ctrInput) { sc(in).ApparmorProfile = "runtime/default" }, check: ok},
		{
			name: "named profile",
			mod:  aa(runtime.SecurityProfile_Localhost, "k8s-deny-write"),
			err:  errdefs.ErrNotImplemented, msg: `linux.security_context.apparmor: AppArmor profile "k8s-deny-write"`,
		},
		{
			name: "legacy named profile",
			mod:  func(in *ctrInput) { sc(in).ApparmorProfile = "localhost/k8s-deny-write" },
			err:  errdefs.ErrNotImplemented, msg: "linux.security_context.apparmor_profile",
		},
	})
}
