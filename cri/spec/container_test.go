package spec

import (
	"os"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ctrInput is what one table case feeds Container.
type ctrInput struct {
	id   string
	cfg  *runtime.ContainerConfig
	sb   Sandbox
	img  imagespec.ImageConfig
	o    Options
	root string
}

// ctrCase is a table case: mod changes the default input; either err/msg
// name the expected failure (from Container or from generating the spec),
// or check inspects the generated spec.
type ctrCase struct {
	name  string
	mod   func(in *ctrInput)
	err   error
	msg   string
	check func(t *testing.T, s *specs.Spec, in *ctrInput)
}

func runContainerCases(t *testing.T, cases []ctrCase) {
	t.Helper()
	root := testRootfs(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := &ctrInput{id: "ctr1", cfg: testContainerConfig(), sb: testSandbox(), img: testImage(), root: root}
			if c.mod != nil {
				c.mod(in)
			}
			opts, err := Container(in.id, in.cfg, in.sb, in.img, in.o)
			var s *specs.Spec
			if err == nil {
				s, err = generate(t, in.root, in.id, opts)
			}
			if c.msg != "" || c.err != nil {
				checkErr(t, err, c.err, c.msg)
				return
			}
			if err != nil {
				t.Fatalf("unexpected error: %v", err)
			}
			c.check(t, s, in)
		})
	}
}

func TestContainerProcess(t *testing.T) {
	wantArgs := func(want ...string) func(*testing.T, *specs.Spec, *ctrInput) {
		return func(t *testing.T, s *specs.Spec, _ *ctrInput) {
			if !equalStrings(s.Process.Args, want) {
				t.Fatalf("args %q, want %q", s.Process.Args, want)
			}
		}
	}
	runContainerCases(t, []ctrCase{
		{name: "image entrypoint and cmd", check: wantArgs("/bin/entry", "serve", "--port=80")},
		{
			name:  "command replaces entrypoint and drops image cmd",
			mod:   func(in *ctrInput) { in.cfg.Command = []string{"/bin/sh"} },
			check: wantArgs("/bin/sh"),
		},
		{
			name:  "command and args",
			mod:   func(in *ctrInput) { in.cfg.Command, in.cfg.Args = []string{"/bin/sh"}, []string{"-c", "true"} },
			check: wantArgs("/bin/sh", "-c", "true"),
		},
		{
			name:  "args replace image cmd only",
			mod:   func(in *ctrInput) { in.cfg.Args = []string{"debug"} },
			check: wantArgs("/bin/entry", "debug"),
		},
		{
			name:  "empty-string entrypoint means none",
			mod:   func(in *ctrInput) { in.img.Entrypoint = []string{""} },
			check: wantArgs("serve", "--port=80"),
		},
		{
			name: "nothing to run",
			mod:  func(in *ctrInput) { in.img.Entrypoint, in.img.Cmd = nil, nil },
			err:  errdefs.ErrInvalidArgument, msg: "command: none given",
		},
		{
			name: "env: defaults, image, then config overriding by key",
			mod: func(in *ctrInput) {
				in.cfg.Envs = []*runtime.KeyValue{{Key: "IMG", Value: []byte("2")}, {Key: "NEW", Value: []byte("x=y")}}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				for k, want := range map[string]string{"PATH": "/usr/bin:/bin", "IMG": "2", "NEW": "x=y", "HOSTNAME": "web-host"} {
					if v, ok := envValue(s, k); !ok || v != want {
						t.Errorf("env %s=%q (set %v), want %q; env %q", k, v, ok, want, s.Process.Env)
					}
				}
				n := 0
				for _, e := range s.Process.Env {
					if len(e) > 4 && e[:4] == "IMG=" {
						n++
					}
				}
				if n != 1 {
					t.Errorf("IMG appears %d times in %q", n, s.Process.Env)
				}
			},
		},
		{
			name: "default PATH when the image has none; HOSTNAME of a host-network pod is the node's",
			mod: func(in *ctrInput) {
				in.img.Env = nil
				in.sb.Config.Hostname = ""
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if v, _ := envValue(s, "PATH"); v != "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin" {
					t.Errorf("PATH %q", v)
				}
				node, _ := os.Hostname()
				if v, _ := envValue(s, "HOSTNAME"); v != node {
					t.Errorf("HOSTNAME %q, want node's %q", v, node)
				}
			},
		},
		{
			name: "bad env key",
			mod:  func(in *ctrInput) { in.cfg.Envs = []*runtime.KeyValue{{Key: "", Value: []byte("v")}} },
			err:  errdefs.ErrInvalidArgument, msg: "envs[0].key",
		},
		{
			name: "image working dir",
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if s.Process.Cwd != "/srv" {
					t.Fatalf("cwd %q", s.Process.Cwd)
				}
			},
		},
		{
			name: "config working dir wins",
			mod:  func(in *ctrInput) { in.cfg.WorkingDir = "/work" },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if s.Process.Cwd != "/work" {
					t.Fatalf("cwd %q", s.Process.Cwd)
				}
			},
		},
		{
			name: "no working dir anywhere: /",
			mod:  func(in *ctrInput) { in.img.WorkingDir = "" },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if s.Process.Cwd != "/" {
					t.Fatalf("cwd %q", s.Process.Cwd)
				}
			},
		},
		{
			name: "relative working dir",
			mod:  func(in *ctrInput) { in.cfg.WorkingDir = "work" },
			err:  errdefs.ErrInvalidArgument, msg: "working_dir",
		},
		{
			name: "tty",
			mod:  func(in *ctrInput) { in.cfg.Tty, in.cfg.Stdin = true, true },
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if !s.Process.Terminal {
					t.Fatal("terminal not set")
				}
				if v, _ := envValue(s, "TERM"); v != "xterm" {
					t.Fatalf("TERM %q", v)
				}
			},
		},
		{
			name: "tty keeps the config's TERM",
			mod: func(in *ctrInput) {
				in.cfg.Tty = true
				in.cfg.Envs = []*runtime.KeyValue{{Key: "TERM", Value: []byte("vt100")}}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				n := 0
				for _, e := range s.Process.Env {
					if strings.HasPrefix(e, "TERM=") {
						n++
					}
				}
				if v, _ := envValue(s, "TERM"); v != "vt100" || n != 1 {
					t.Fatalf("TERM %q (%d entries)", v, n)
				}
			},
		},
		{
			name: "no tty",
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if s.Process.Terminal {
					t.Fatal("terminal set")
				}
				if _, ok := envValue(s, "TERM"); ok {
					t.Fatal("TERM set without tty")
				}
				if s.Process.Rlimits != nil || s.Process.ApparmorProfile != "" {
					t.Fatalf("default rlimits/apparmor kept: %+v %q", s.Process.Rlimits, s.Process.ApparmorProfile)
				}
				if s.Root.Readonly {
					t.Fatal("rootfs read-only by default")
				}
			},
		},
		{
			name: "minimal configs without linux sections",
			mod: func(in *ctrInput) {
				in.sb.Config = &runtime.PodSandboxConfig{Metadata: &runtime.PodSandboxMetadata{Name: "p"}}
				in.cfg = &runtime.ContainerConfig{Command: []string{"/bin/true"}}
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				if !equalStrings(s.Process.Args, []string{"/bin/true"}) || s.Process.User.UID != 0 {
					t.Fatalf("args %q user %+v", s.Process.Args, s.Process.User)
				}
				wantNS(t, s, specs.PIDNamespace, true, "/proc/42/ns/pid")
			},
		},
		{
			name: "missing config",
			mod:  func(in *ctrInput) { in.cfg = nil },
			err:  errdefs.ErrInvalidArgument, msg: "container config",
		},
	})
}

func TestContainerAnnotations(t *testing.T) {
	runContainerCases(t, []ctrCase{
		{
			name: "config annotations kept, CRI ones added",
			mod: func(in *ctrInput) {
				in.cfg.Annotations = map[string]string{"a": "1", AnnotationContainerType: "spoofed"}
				in.cfg.Image.UserSpecifiedImage = "busybox"
			},
			check: func(t *testing.T, s *specs.Spec, _ *ctrInput) {
				want := map[string]string{
					"a":                        "1",
					AnnotationContainerType:    ContainerTypeContainer,
					AnnotationSandboxID:        "sb1",
					AnnotationSandboxName:      "web",
					AnnotationSandboxNamespace: "default",
					AnnotationSandboxUID:       "uid-1",
					AnnotationContainerName:    "app",
					AnnotationImageName:        "busybox",
				}
				for k, v := range want {
					if s.Annotations[k] != v {
						t.Errorf("annotation %s=%q, want %q", k, s.Annotations[k], v)
					}
				}
				if _, ok := s.Annotations["pod-annotation"]; ok {
					t.Error("pod annotations leak into containers")
				}
			},
		},
	})
}
