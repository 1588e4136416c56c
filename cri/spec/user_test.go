package spec

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/containerd/containerd/errdefs"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// wantUser checks uid, gid and the sorted supplementary groups.
func wantUser(uid, gid uint32, groups ...uint32) func(*testing.T, *specs.Spec, *ctrInput) {
	return func(t *testing.T, s *specs.Spec, _ *ctrInput) {
		u := s.Process.User
		if u.UID != uid || u.GID != gid || !equalGids(u.AdditionalGids, groups) {
			t.Fatalf("user %d:%d groups %v, want %d:%d groups %v", u.UID, u.GID, u.AdditionalGids, uid, gid, groups)
		}
	}
}

func sc(in *ctrInput) *runtime.LinuxContainerSecurityContext { return in.cfg.Linux.SecurityContext }

func TestContainerUser(t *testing.T) {
	runContainerCases(t, []ctrCase{
		{name: "no user anywhere: root", check: wantUser(0, 0, 0)},
		{
			name:  "run_as_user from passwd, with the groups listing the user",
			mod:   func(in *ctrInput) { sc(in).RunAsUser = i64(1000) },
			check: wantUser(1000, 1000, 50, 1000, 50000),
		},
		{
			name:  "run_as_user not in passwd: gid 0",
			mod:   func(in *ctrInput) { sc(in).RunAsUser = i64(4242) },
			check: wantUser(4242, 0, 0),
		},
		{
			name:  "run_as_user and run_as_group",
			mod:   func(in *ctrInput) { sc(in).RunAsUser, sc(in).RunAsGroup = i64(1000), i64(2000) },
			check: wantUser(1000, 2000, 50, 2000, 50000),
		},
		{
			name:  "run_as_username",
			mod:   func(in *ctrInput) { sc(in).RunAsUsername = "bob" },
			check: wantUser(1001, 1002, 50, 1002),
		},
		{
			name:  "run_as_username wins over run_as_user",
			mod:   func(in *ctrInput) { sc(in).RunAsUsername, sc(in).RunAsUser = "bob", i64(1000) },
			check: wantUser(1001, 1002, 50, 1002),
		},
		{
			name:  "run_as_username with run_as_group",
			mod:   func(in *ctrInput) { sc(in).RunAsUsername, sc(in).RunAsGroup = "alice", i64(7) },
			check: wantUser(1000, 7, 7, 50, 50000),
		},
		{
			name: "run_as_username not in the image",
			mod:  func(in *ctrInput) { sc(in).RunAsUsername = "mallory" },
			err:  errdefs.ErrInvalidArgument, msg: `linux.security_context.run_as_username "mallory" not found`,
		},
		{
			name: "run_as_group without a user",
			mod:  func(in *ctrInput) { sc(in).RunAsGroup = i64(1000) },
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.run_as_group is set without run_as_user",
		},
		{
			name: "negative run_as_user",
			mod:  func(in *ctrInput) { sc(in).RunAsUser = i64(-1) },
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.run_as_user -1 is out of range",
		},
		{
			name:  "image USER name",
			mod:   func(in *ctrInput) { in.img.User = "alice" },
			check: wantUser(1000, 1000, 50, 1000, 50000),
		},
		{
			name:  "image USER uid",
			mod:   func(in *ctrInput) { in.img.User = "1001" },
			check: wantUser(1001, 1002, 50, 1002),
		},
		{
			name:  "image USER uid:gid",
			mod:   func(in *ctrInput) { in.img.User = "1001:77" },
			check: wantUser(1001, 77, 50, 77),
		},
		{
			name:  "image USER name:group",
			mod:   func(in *ctrInput) { in.img.User = "alice:staff" },
			check: wantUser(1000, 50, 50, 50000),
		},
		{
			name:  "run_as_user overrides image USER",
			mod:   func(in *ctrInput) { in.img.User, sc(in).RunAsUser = "alice", i64(1001) },
			check: wantUser(1001, 1002, 50, 1002),
		},
		{
			name: "image USER unknown",
			mod:  func(in *ctrInput) { in.img.User = "nobody-here" },
			err:  errdefs.ErrInvalidArgument, msg: `image config user "nobody-here" not found`,
		},
		{
			name: "image USER unknown group",
			mod:  func(in *ctrInput) { in.img.User = "alice:nogroup" },
			err:  errdefs.ErrInvalidArgument, msg: `image config user "alice:nogroup" not found`,
		},
		{
			name: "image USER malformed",
			mod:  func(in *ctrInput) { in.img.User = "a:b:c" },
			err:  errdefs.ErrInvalidArgument, msg: "image config user",
		},
		{
			name:  "supplemental_groups merged (policy Merge)",
			mod:   func(in *ctrInput) { sc(in).RunAsUser, sc(in).SupplementalGroups = i64(1000), []int64{1234, 50} },
			check: wantUser(1000, 1000, 50, 1000, 1234, 50000),
		},
		{
			name: "supplemental_groups_policy Strict ignores /etc/group",
			mod: func(in *ctrInput) {
				sc(in).RunAsUser, sc(in).SupplementalGroups = i64(1000), []int64{1234}
				sc(in).SupplementalGroupsPolicy = runtime.SupplementalGroupsPolicy_Strict
			},
			check: wantUser(1000, 1000, 1000, 1234),
		},
		{
			name: "negative supplemental group",
			mod:  func(in *ctrInput) { sc(in).SupplementalGroups = []int64{-5} },
			err:  errdefs.ErrInvalidArgument, msg: "linux.security_context.supplemental_groups[0]",
		},
		{
			name: "image without /etc/passwd: numeric users still work",
			mod: func(in *ctrInput) {
				in.root = t.TempDir()
				sc(in).RunAsUser, sc(in).RunAsGroup = i64(1000), i64(3000)
			},
			check: wantUser(1000, 3000, 3000),
		},
		{
			name: "image without /etc/passwd: a user name is an error",
			mod: func(in *ctrInput) {
				in.root = t.TempDir()
				sc(in).RunAsUsername = "alice"
			},
			err: errdefs.ErrInvalidArgument, msg: "run_as_username",
		},
	})
}

// TestContainerUserNoGroupFile checks the user's groups are optional.
func TestContainerUserNoGroupFile(t *testing.T) {
	root := t.TempDir()
	if err := os.MkdirAll(filepath.Join(root, "etc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(root, "etc/passwd"), []byte(testPasswd), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := testContainerConfig()
	cfg.Linux.SecurityContext.RunAsUsername = "alice"
	opts, err := Container("c", cfg, testSandbox(), testImage(), Options{})
	if err != nil {
		t.Fatal(err)
	}
	s, err := generate(t, root, "c", opts)
	if err != nil {
		t.Fatal(err)
	}
	if u := s.Process.User; u.UID != 1000 || u.GID != 1000 || !equalGids(u.AdditionalGids, []uint32{1000}) {
		t.Fatalf("user %+v", u)
	}
}
