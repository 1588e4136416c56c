package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

const cgroupRoot = "/sys/fs/cgroup"

// cgroupV2 reports whether the host runs the unified hierarchy alone.
func cgroupV2() bool {
	_, err := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers"))
	return err == nil
}

// cgroupDirs returns the directories of the cgroup at rel in every
// hierarchy of the host that has it.
func cgroupDirs(rel string) []string {
	if cgroupV2() {
		if _, err := os.Stat(filepath.Join(cgroupRoot, rel)); err == nil {
			return []string{filepath.Join(cgroupRoot, rel)}
		}
		return nil
	}
	var out []string
	seen := map[string]bool{}
	entries, _ := os.ReadDir(cgroupRoot)
	for _, e := range entries {
		root := filepath.Join(cgroupRoot, e.Name())
		if real, err := filepath.EvalSymlinks(root); err == nil {
			if seen[real] {
				continue
			}
			seen[real] = true
		}
		d := filepath.Join(root, rel)
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			out = append(out, d)
		}
	}
	return out
}

// removeCgroup takes a live cgroup away from under its processes, as when
// its directory is removed by someone else: the processes move to the
// parent cgroup and the directory is removed in every hierarchy. When t
// ends (before the pods are removed) the cgroup is made again with its
// processes back in it: runc cannot kill a container whose cgroup is gone.
func removeCgroup(t *testing.T, rel string) {
	t.Helper()
	dirs := cgroupDirs(rel)
	if len(dirs) == 0 {
		t.Fatalf("no cgroup %s to remove", rel)
	}
	var moved []string
	t.Cleanup(func() {
		for _, d := range dirs {
			_ = os.Mkdir(d, 0o755)
			for _, pid := range moved {
				_ = os.WriteFile(filepath.Join(d, "cgroup.procs"), []byte(pid), 0o644)
			}
		}
	})
	for _, d := range dirs {
		procs, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			t.Fatal(err)
		}
		for _, pid := range strings.Fields(string(procs)) {
			if !slices.Contains(moved, pid) {
				moved = append(moved, pid)
			}
			// A process may exit meanwhile: ignore the error.
			_ = os.WriteFile(filepath.Join(filepath.Dir(d), "cgroup.procs"), []byte(pid), 0o644)
		}
		var err2 error
		for i := 0; i < 50; i++ {
			if err2 = os.Remove(d); err2 == nil || os.IsNotExist(err2) {
				err2 = nil
				break
			}
			time.Sleep(20 * time.Millisecond)
		}
		if err2 != nil {
			t.Fatalf("remove cgroup %s: %v", d, err2)
		}
	}
}

// containerCgroup returns a container's cgroups path from its verbose
// status (the OCI spec).
func containerCgroup(t *testing.T, id string) string {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().ContainerStatus(ctx, &criapi.ContainerStatusRequest{ContainerId: id, Verbose: true})
	if err != nil {
		t.Fatal(err)
	}
	var info struct {
		Spec struct {
			Linux struct {
				CgroupsPath string `json:"cgroupsPath"`
			} `json:"linux"`
		} `json:"runtimeSpec"`
	}
	if err := json.Unmarshal([]byte(resp.Info["info"]), &info); err != nil || info.Spec.Linux.CgroupsPath == "" {
		t.Fatalf("container %s: no cgroups path in verbose info (%v)", id, err)
	}
	return info.Spec.Linux.CgroupsPath
}
