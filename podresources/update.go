// Package podresources carries out UpdatePodSandboxResources, the CRI's
// in-place pod resize: it writes the pod-level limits (the containers'
// resources plus the pod's overhead) into the pod's cgroup, the cgroup
// parent kubelet gave the sandbox, on cgroup v1 or v2, and records them in
// the sandbox's config. The containers' own cgroups are resized by
// UpdateContainerResources.
package podresources

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path"
	"path/filepath"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/log"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/stats"
	"github.com/podshim/podshim/sandbox"
)

// Options configure an Updater.
type Options struct {
	Sandboxes    *sandbox.Service
	Cgroups      *stats.Reader // the host's cgroup mounts
	CgroupDriver string        // "cgroupfs" (or "") or "systemd"
}

// Updater resizes pods.
type Updater struct{ opts Options }

// New returns an Updater.
func New(o Options) *Updater { return &Updater{opts: o} }

// Update applies resources plus overhead to the pod cgroup of sandbox id
// and records both in its config. Either may be nil; zero fields leave the
// cgroup's values as they are. A sandbox that is not ready (its cgroup may
// be gone) or that has no cgroup parent only gets its config updated.
func (u *Updater) Update(ctx context.Context, id string, overhead, resources *runtime.LinuxContainerResources) error {
	if id == "" {
		return fmt.Errorf("%w: pod_sandbox_id is required", errdefs.ErrInvalidArgument)
	}
	if err := validate("overhead", overhead); err != nil {
		return err
	}
	if err := validate("resources", resources); err != nil {
		return err
	}
	if u.opts.Cgroups != nil && !u.opts.Cgroups.V2() && (len(resources.GetUnified()) > 0 || len(overhead.GetUnified()) > 0) {
		return fmt.Errorf("%w: resources.unified is for cgroup v2, and this host runs cgroup v1", errdefs.ErrInvalidArgument)
	}
	sb, err := u.opts.Sandboxes.Get(id)
	if err != nil {
		return err
	}
	sb.Lock()
	defer sb.Unlock()
	m := sb.Metadata()
	if dir := u.podCgroup(m.Config.GetLinux().GetCgroupParent()); dir != "" && sb.Status().State == runtime.PodSandboxState_SANDBOX_READY {
		if err := u.apply(dir, plan(total(overhead, resources), u.opts.Cgroups.V2())); err != nil {
			return fmt.Errorf("resize pod %s: %w", m.ID, err)
		}
	} else {
		log.G(ctx).WithField("sandbox", m.ID).Debug("pod has no live pod cgroup: only its config is updated")
	}
	return u.opts.Sandboxes.SetResources(m.ID, overhead, resources)
}

// podCgroup is the pod cgroup's path relative to a hierarchy's root, or ""
// when the pod has none (or cgroups cannot be read).
func (u *Updater) podCgroup(parent string) string {
	if parent == "" || u.opts.Cgroups == nil {
		return ""
	}
	if u.opts.CgroupDriver == "systemd" {
		return stats.SliceDir(path.Base(parent))
	}
	return path.Clean("/" + parent)
}

// apply carries out the writes in the pod cgroup rel. On v1 a CFS period
// and quota the kernel refuses in one order (the new quota against the old
// period, say) are written in the other.
func (u *Updater) apply(rel string, writes []write) error {
	for i := 0; i < len(writes); i++ {
		w := writes[i]
		err := u.write(rel, w)
		if err != nil && w.File == "cpu.cfs_period_us" && i+1 < len(writes) && writes[i+1].File == "cpu.cfs_quota_us" {
			if err = u.write(rel, writes[i+1]); err == nil {
				err = u.write(rel, w)
			}
			i++
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func (u *Updater) write(rel string, w write) error {
	dir := u.opts.Cgroups.ControllerDir(w.Controller, rel)
	if dir == "" {
		return fmt.Errorf("%w: the %s cgroup controller is not mounted (for %s)", errdefs.ErrFailedPrecondition, w.Controller, w.File)
	}
	if _, err := os.Stat(dir); errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("%w: pod cgroup %s does not exist", errdefs.ErrFailedPrecondition, dir)
	}
	p := filepath.Join(dir, w.File)
	if err := os.WriteFile(p, []byte(w.Value), 0); err != nil {
		return fmt.Errorf("write %q to %s: %w", w.Value, p, err)
	}
	return nil
}
