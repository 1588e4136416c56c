package integration

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/critest/testimage"
)

// The optional features podshimd announces depend on the stack the suite
// runs on (containerd and runc from PATH). Each test below runs on every
// stack: where the feature is announced it checks that it works, where it
// is not it checks that requests for it are refused with
// FailedPrecondition naming the field. On containerd 2.x with runc 1.2+
// (the current stack) everything must be announced; on Debian's
// containerd 1.6 with runc 1.1, user namespaces must not be.

// announced is what Status says about the default runtime handler.
type announced struct{ userns, rro, sgp bool }

func statusFeatures(t *testing.T) announced {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().Status(ctx, &criapi.StatusRequest{})
	if err != nil {
		t.Fatalf("Status: %v", err)
	}
	var a announced
	found := false
	for _, h := range resp.GetRuntimeHandlers() {
		if h.GetName() == "" {
			found = true
			a.userns, a.rro = h.GetFeatures().GetUserNamespaces(), h.GetFeatures().GetRecursiveReadOnlyMounts()
		}
	}
	if !found {
		t.Fatalf("Status lists no default runtime handler: %v", resp.GetRuntimeHandlers())
	}
	a.sgp = resp.GetFeatures().GetSupplementalGroupsPolicy()
	return a
}

// containerdMajor is the major version of the suite's containerd.
func containerdMajor(t *testing.T) int {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	v, err := env.ctrd.Version(ctx)
	if err != nil {
		t.Fatalf("containerd version: %v", err)
	}
	major, err := strconv.Atoi(strings.SplitN(strings.TrimPrefix(v.Version, "v"), ".", 2)[0])
	if err != nil {
		t.Fatalf("containerd version %q: %v", v.Version, err)
	}
	return major
}

// wantRefused checks that err is FailedPrecondition and names field.
func wantRefused(t *testing.T, err error, field string) {
	t.Helper()
	if grpcCode(err) != codes.FailedPrecondition || !strings.Contains(err.Error(), field) {
		t.Fatalf("want FailedPrecondition naming %q, got %v: %v", field, grpcCode(err), err)
	}
}

const (
	usernsHostID = 200000
	usernsSize   = 65536
)

func usernsPodConfig(t *testing.T) *criapi.PodSandboxConfig {
	pod := podConfig(t)
	m := []*criapi.IDMapping{{ContainerId: 0, HostId: usernsHostID, Length: usernsSize}}
	pod.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &criapi.UserNamespace{Mode: criapi.NamespaceMode_POD, Uids: m, Gids: m}
	return pod
}

func usernsContainerConfig(pod *criapi.PodSandboxConfig, name string, cmd ...string) *criapi.ContainerConfig {
	cfg := containerConfig(pod, name, cmd...)
	cfg.Linux.SecurityContext.NamespaceOptions.UsernsOptions = pod.Linux.SecurityContext.NamespaceOptions.UsernsOptions
	return cfg
}

func TestFeatureUserNamespace(t *testing.T) {
	a := statusFeatures(t)
	if major := containerdMajor(t); major >= 2 && !a.userns {
		t.Fatalf("containerd %d.x with this runc: user namespaces must be announced (see podshimd's feature log lines)", major)
	} else if major < 2 && a.userns {
		t.Fatalf("containerd %d.x has no idmapped snapshots: user namespaces must not be announced", major)
	}
	pod := usernsPodConfig(t)
	if !a.userns {
		ctx, cancel := callCtx()
		defer cancel()
		_, err := rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: pod})
		wantRefused(t, err, "userns_options")
		return
	}

	podID := runPod(t, pod)
	_, info := podStatus(t, podID)
	hostUserns, err := os.Readlink("/proc/self/ns/user")
	if err != nil {
		t.Fatal(err)
	}
	pauseUserns, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", info.Pid))
	if err != nil {
		t.Fatal(err)
	}
	if pauseUserns == hostUserns {
		t.Fatalf("the pause runs in the host's user namespace %s", hostUserns)
	}
	// The pod's netns belongs to the pod's user namespace.
	netnsFile, err := os.Open(info.NetNSPath)
	if err != nil {
		t.Fatal(err)
	}
	ownerFd, err := unix.IoctlRetInt(int(netnsFile.Fd()), unix.NS_GET_USERNS)
	netnsFile.Close()
	if err != nil {
		t.Fatalf("NS_GET_USERNS on %s: %v", info.NetNSPath, err)
	}
	owner, err := os.Readlink(fmt.Sprintf("/proc/self/fd/%d", ownerFd))
	unix.Close(ownerFd)
	if err != nil || owner != pauseUserns {
		t.Fatalf("netns %s is owned by %s (%v), want the pod's user namespace %s", info.NetNSPath, owner, err, pauseUserns)
	}

	// A host directory, idmapped into the container with the pod's mapping.
	vol := t.TempDir()
	if err := os.WriteFile(filepath.Join(vol, "owned-by-host-root"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	m := pod.Linux.SecurityContext.NamespaceOptions.UsernsOptions.Uids
	cfg := usernsContainerConfig(pod, "app", "sleep", "3600")
	cfg.Mounts = []*criapi.Mount{{ContainerPath: "/vol", HostPath: vol, UidMappings: m, GidMappings: m}}
	ctrID := runContainer(t, podID, pod, cfg)

	if got := strings.Fields(execOK(t, ctrID, "cat", "/proc/self/uid_map")); !slices.Equal(got, []string{"0", strconv.Itoa(usernsHostID), strconv.Itoa(usernsSize)}) {
		t.Errorf("uid_map in the container %q, want 0 %d %d", got, usernsHostID, usernsSize)
	}
	// The idmapped rootfs, pod files and volume: host root's files belong
	// to the container's root, and the container's root can write.
	for _, p := range []string{"/bin/busybox", "/etc/passwd", "/etc/hostname", "/etc/hosts", "/vol/owned-by-host-root"} {
		if got := strings.TrimSpace(execOK(t, ctrID, "stat", "-c", "%u:%g", p)); got != "0:0" {
			t.Errorf("%s is owned by %s in the container, want 0:0 (idmapped)", p, got)
		}
	}
	execOK(t, ctrID, "touch", "/new-in-rootfs", "/vol/new-in-volume")
	st, err := os.Stat(filepath.Join(vol, "new-in-volume"))
	if err != nil {
		t.Fatal(err)
	}
	if uid := st.Sys().(*syscall.Stat_t).Uid; uid != 0 {
		t.Errorf("a file the container's root made in the idmapped volume is owned by host uid %d, want 0", uid)
	}
	// On the host, the container's root is usernsHostID, in the pause's
	// user namespace.
	pid := containerPid(t, ctrID)
	status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(status), fmt.Sprintf("\nUid:\t%d\t%d\t%d\t%d\n", usernsHostID, usernsHostID, usernsHostID, usernsHostID)) {
		t.Errorf("container process status: %s", status)
	}
	if ns, _ := os.Readlink(fmt.Sprintf("/proc/%d/ns/user", pid)); ns != pauseUserns {
		t.Errorf("container user namespace %s, want the pause's %s", ns, pauseUserns)
	}
	if u := containerStatus(t, ctrID).GetUser().GetLinux(); u == nil || u.Uid != 0 || u.Gid != 0 {
		t.Errorf("ContainerStatus.user %v, want uid 0 gid 0 (inside the user namespace)", u)
	}

	// A container whose userns options differ from the pod's is refused.
	bad := containerConfig(pod, "bad", "true")
	bad.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &criapi.UserNamespace{Mode: criapi.NamespaceMode_NODE}
	ctx, cancel := callCtx()
	defer cancel()
	if _, err := rt().CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: bad, SandboxConfig: pod}); grpcCode(err) != codes.InvalidArgument {
		t.Errorf("CreateContainer with another user namespace: %v, want InvalidArgument", err)
	}
	// Bad mappings are refused before anything is made.
	for name, mapping := range map[string][]*criapi.IDMapping{
		"two mappings":    {{ContainerId: 0, HostId: 300000, Length: 10}, {ContainerId: 10, HostId: 400000, Length: 10}},
		"root not mapped": {{ContainerId: 1, HostId: 300000, Length: 10}},
	} {
		p := podConfig(t)
		p.Linux.SecurityContext.NamespaceOptions.UsernsOptions = &criapi.UserNamespace{Mode: criapi.NamespaceMode_POD, Uids: mapping, Gids: mapping}
		if _, err := rt().RunPodSandbox(ctx, &criapi.RunPodSandboxRequest{Config: p}); grpcCode(err) != codes.InvalidArgument ||
			!strings.Contains(err.Error(), "userns_options.uids") {
			t.Errorf("%s: RunPodSandbox: %v, want InvalidArgument naming userns_options.uids", name, err)
		}
	}
}

// rroHostDir is a host directory with a tmpfs mounted on its "tmpfs" subdir.
func rroHostDir(t *testing.T) string {
	dir := t.TempDir()
	sub := filepath.Join(dir, "tmpfs")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := unix.Mount("none", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = unix.Unmount(sub, unix.MNT_DETACH) })
	return dir
}

func TestFeatureRecursiveReadOnlyMounts(t *testing.T) {
	a := statusFeatures(t)
	if containerdMajor(t) >= 2 && !a.rro {
		t.Fatal("recursive read-only mounts must be announced on the current stack (runc 1.5 has rro)")
	}
	pod := podConfig(t)
	podID := runPod(t, pod)
	dir := rroHostDir(t)
	mount := func(rro bool, prop criapi.MountPropagation, ro bool) []*criapi.Mount {
		return []*criapi.Mount{{ContainerPath: "/mnt", HostPath: dir, Readonly: ro, RecursiveReadOnly: rro, Propagation: prop}}
	}
	create := func(name string, mounts []*criapi.Mount) (string, error) {
		cfg := containerConfig(pod, name, "sleep", "3600")
		cfg.Mounts = mounts
		ctx, cancel := callCtx()
		defer cancel()
		resp, err := rt().CreateContainer(ctx, &criapi.CreateContainerRequest{PodSandboxId: podID, Config: cfg, SandboxConfig: pod})
		return resp.GetContainerId(), err
	}
	if !a.rro {
		_, err := create("rro", mount(true, criapi.MountPropagation_PROPAGATION_PRIVATE, true))
		wantRefused(t, err, "mounts[0].recursive_read_only")
		return
	}
	// A plain read-only mount leaves the submount writable; rro does not.
	roID, err := create("ro", mount(false, criapi.MountPropagation_PROPAGATION_PRIVATE, true))
	if err != nil {
		t.Fatal(err)
	}
	startContainer(t, roID)
	execOK(t, roID, "touch", "/mnt/tmpfs/from-ro")
	if r := execSync(t, roID, "touch", "/mnt/top"); r.code == 0 {
		t.Errorf("a read-only mount is writable")
	}
	rroID, err := create("rro", mount(true, criapi.MountPropagation_PROPAGATION_PRIVATE, true))
	if err != nil {
		t.Fatal(err)
	}
	startContainer(t, rroID)
	if r := execSync(t, rroID, "touch", "/mnt/tmpfs/from-rro"); r.code == 0 || !strings.Contains(r.stderr, "Read-only file system") {
		t.Errorf("touch in the submount of a recursive read-only mount: exit %d, stderr %q", r.code, r.stderr)
	}
	if _, err := os.Stat(filepath.Join(dir, "tmpfs", "from-rro")); err == nil {
		t.Errorf("the container wrote through a recursive read-only mount")
	}
	for name, m := range map[string][]*criapi.Mount{
		"not readonly":  mount(true, criapi.MountPropagation_PROPAGATION_PRIVATE, false),
		"bidirectional": mount(true, criapi.MountPropagation_PROPAGATION_BIDIRECTIONAL, true),
	} {
		if _, err := create("bad", m); grpcCode(err) != codes.InvalidArgument || !strings.Contains(err.Error(), "recursive_read_only") {
			t.Errorf("%s: %v, want InvalidArgument naming recursive_read_only", name, err)
		}
	}
}

const (
	groupsImage    = "docker.io/library/podshim-groups:1"
	groupsUID      = 1000
	groupsImageGID = 50000
	groupsSuppl    = 1234
)

// pushGroupsImage pushes busybox with a user 1000 that /etc/group puts in
// group 50000, and pulls it.
func pushGroupsImage(t *testing.T) {
	t.Helper()
	l := testimage.NewLayer()
	l.File("/etc/passwd", 0o644, []byte(testimage.Passwd+fmt.Sprintf("default-user:x:%d:%d::/home:/bin/sh\n", groupsUID, groupsUID)))
	l.File("/etc/group", 0o644, []byte(testimage.Group+fmt.Sprintf("default-user:x:%d:\ngroup-defined-in-image:x:%d:default-user\n", groupsUID, groupsImageGID)))
	busybox, err := testimage.Busybox()
	if err != nil {
		t.Fatal(err)
	}
	image, err := testimage.WithLayer(busybox, l, "groups", nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	if err := env.registry.PushContext(ctx, strings.TrimPrefix(groupsImage, "docker.io/"), image); err != nil {
		t.Fatal(err)
	}
	if _, err := img().PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: groupsImage}}); err != nil {
		t.Fatal(err)
	}
}

func TestFeatureSupplementalGroupsPolicy(t *testing.T) {
	// podshim resolves groups itself: announced on every stack.
	if !statusFeatures(t).sgp {
		t.Fatal("Status does not announce SupplementalGroupsPolicy")
	}
	pushGroupsImage(t)
	pod := podConfig(t)
	podID := runPod(t, pod)
	for _, c := range []struct {
		policy criapi.SupplementalGroupsPolicy
		want   []int64
	}{
		{criapi.SupplementalGroupsPolicy_Merge, []int64{groupsUID, groupsSuppl, groupsImageGID}},
		{criapi.SupplementalGroupsPolicy_Strict, []int64{groupsUID, groupsSuppl}},
	} {
		name := strings.ToLower(c.policy.String())
		cfg := containerConfig(pod, name, "sleep", "3600")
		cfg.Image.Image = groupsImage
		cfg.Linux.SecurityContext.RunAsUser = &criapi.Int64Value{Value: groupsUID}
		cfg.Linux.SecurityContext.SupplementalGroups = []int64{groupsSuppl}
		cfg.Linux.SecurityContext.SupplementalGroupsPolicy = c.policy
		id := runContainer(t, podID, pod, cfg)
		var want []string
		for _, g := range c.want {
			want = append(want, strconv.FormatInt(g, 10))
		}
		if got := strings.Fields(execOK(t, id, "id", "-G")); !slices.Equal(got, want) {
			t.Errorf("%s: id -G %q, want %q", name, got, want)
		}
		u := containerStatus(t, id).GetUser().GetLinux()
		if u == nil || u.Uid != groupsUID || u.Gid != groupsUID || !slices.Equal(u.SupplementalGroups, c.want) {
			t.Errorf("%s: ContainerStatus.user %v, want uid %d gid %d groups %v", name, u, groupsUID, groupsUID, c.want)
		}
		// The status matches what the kernel says of the process.
		status, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", containerPid(t, id)))
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(string(status), "\nGroups:\t"+strings.Join(want, " ")+" \n") {
			t.Errorf("%s: process status %s, want Groups %v", name, status, want)
		}
	}
}
