package spec

import (
	"syscall"
	"testing"

	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestExecProcess(t *testing.T) {
	cfg := testContainerConfig()
	cfg.Linux.SecurityContext.RunAsUser = i64(1000)
	cfg.Linux.SecurityContext.NoNewPrivs = true
	cfg.WorkingDir = "/work"
	opts, err := Container("c", cfg, testSandbox(), testImage(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := generate(t, testRootfs(t), "c", opts)
	if err != nil {
		t.Fatal(err)
	}
	origEnv := append([]string(nil), s.Process.Env...)
	origGroups := append([]uint32(nil), s.Process.User.AdditionalGids...)

	p := ExecProcess(s, []string{"sh", "-c", "id"}, true)
	if !equalStrings(p.Args, []string{"sh", "-c", "id"}) || !p.Terminal {
		t.Fatalf("args %q terminal %v", p.Args, p.Terminal)
	}
	if p.User.UID != 1000 || p.User.GID != 1000 || !equalGids(p.User.AdditionalGids, origGroups) {
		t.Fatalf("user %+v", p.User)
	}
	if p.Cwd != "/work" || !p.NoNewPrivileges || !equalStrings(p.Capabilities.Bounding, s.Process.Capabilities.Bounding) {
		t.Fatalf("cwd %q nnp %v caps %+v", p.Cwd, p.NoNewPrivileges, p.Capabilities)
	}
	if v, _ := envValue(&specs.Spec{Process: p}, "TERM"); v != "xterm" {
		t.Fatalf("TERM %q", v)
	}
	// The copy is deep: changing it leaves the container's spec alone.
	p.User.AdditionalGids[0] = 9999
	p.Capabilities.Bounding[0] = "CAP_CHANGED"
	if !equalStrings(s.Process.Env, origEnv) || !equalGids(s.Process.User.AdditionalGids, origGroups) ||
		s.Process.Capabilities.Bounding[0] == "CAP_CHANGED" || s.Process.Terminal {
		t.Fatal("ExecProcess changed the container's spec")
	}

	p = ExecProcess(s, []string{"true"}, false)
	if p.Terminal {
		t.Fatal("terminal without tty")
	}
	if _, ok := envValue(&specs.Spec{Process: p}, "TERM"); ok {
		t.Fatal("TERM without tty")
	}
	if p := ExecProcess(nil, []string{"x"}, false); p.Cwd != "/" || !equalStrings(p.Args, []string{"x"}) {
		t.Fatalf("nil spec: %+v", p)
	}
}

func TestStopSignal(t *testing.T) {
	for _, c := range []struct {
		in   string
		want syscall.Signal
		err  bool
	}{
		{"", syscall.SIGTERM, false},
		{"SIGQUIT", syscall.SIGQUIT, false},
		{"QUIT", syscall.SIGQUIT, false},
		{"9", syscall.SIGKILL, false},
		{"SIGRTMIN+3", syscall.Signal(37), false},
		{"SIGNOPE", 0, true},
		{"0", 0, true},
	} {
		got, err := StopSignal(imagespec.ImageConfig{StopSignal: c.in})
		if (err != nil) != c.err || got != c.want {
			t.Errorf("StopSignal(%q) = %v, %v; want %v, error %v", c.in, got, err, c.want, c.err)
		}
	}
}

func TestContainerStopSignal(t *testing.T) {
	cfg := testContainerConfig()
	img := imagespec.ImageConfig{StopSignal: "SIGQUIT"}
	if got, err := ContainerStopSignal(cfg, img); err != nil || got != syscall.SIGQUIT {
		t.Fatalf("image signal: %v %v", got, err)
	}
	cfg.StopSignal = runtime.Signal_SIGUSR1
	if got, err := ContainerStopSignal(cfg, img); err != nil || got != syscall.SIGUSR1 {
		t.Fatalf("config signal: %v %v", got, err)
	}
}
