package sandbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/containerd/containerd/namespaces"
	runcoptions "github.com/containerd/containerd/runtime/v2/runc/options"
	"github.com/containerd/log"

	"github.com/podshim/podshim/sandbox/shimproc"
)

// killOrphanShim ends the runc v2 shim of sandbox id when containerd lost
// track of it: a podshimd killed while containerd created the pause task
// can leave a shim that has no task, which no containerd call reaches any
// more. The shim is found by its command line (-namespace <ns> -id <id>;
// the shim of a pod is named after its sandbox) and killed with what it
// started.
func killOrphanShim(ctx context.Context, id string) (killed bool) {
	ns, ok := namespaces.Namespace(ctx)
	if !ok {
		return false
	}
	shims := shimproc.Find(func(args []string) bool {
		return shimproc.Arg(args, "-namespace") == ns && shimproc.Arg(args, "-id") == id
	})
	var pids []int
	for _, p := range shims {
		log.G(ctx).WithFields(log.Fields{"sandbox": id, "pid": p.Pid}).Warn("killing shim that containerd lost track of")
		pids = append(pids, p.Pid)
	}
	shimproc.KillTrees(pids...)
	return len(pids) > 0
}

// shimExitGrace is how long a removed pod's shim gets to exit by itself.
const shimExitGrace = 2 * time.Second

// reapShim kills the shim of removed sandbox id if it is still there after
// shimExitGrace. A shim normally exits once its last task is deleted; one
// whose task delete a crash cut short keeps running with no task that
// containerd knows (found by TestChaos). It runs in the background, off
// RemovePodSandbox's path.
func (s *Service) reapShim(ctx context.Context, id string) {
	time.Sleep(shimExitGrace)
	if killOrphanShim(ctx, id) {
		s.CleanRuncLeftovers(ctx, id)
	}
}

// killStrayShims kills the shims of containerd address and ctx's namespace
// that serve no sandbox of known: left by a crash (see reapShim and killOrphanShim). Recovery
// calls it once every sandbox is loaded.
func killStrayShims(ctx context.Context, address string, known func(id string) bool) (ids []string) {
	ns, ok := namespaces.Namespace(ctx)
	address = strings.TrimPrefix(address, "unix://")
	if !ok || address == "" {
		return nil
	}
	shims := shimproc.Find(func(args []string) bool {
		return shimproc.Arg(args, "-namespace") == ns && shimproc.Arg(args, "-address") == address && !known(shimproc.Arg(args, "-id"))
	})
	var pids []int
	for _, p := range shims {
		log.G(ctx).WithFields(log.Fields{"id": shimproc.Arg(p.Args, "-id"), "pid": p.Pid}).Warn("killing shim of no known sandbox")
		pids = append(pids, p.Pid)
		ids = append(ids, shimproc.Arg(p.Args, "-id"))
	}
	shimproc.KillTrees(pids...)
	return ids
}

// CleanRuncLeftovers runs `runc delete --force` on container id in the
// runc root of every handler, if runc still has state for it: a shim
// killed with a container half made, or a task create cut short in a
// pod's shim (a crash during it), leaves runc's state dir, a waiting
// `runc init` and the container's cgroup behind, which no containerd call
// reaches.
func (s *Service) CleanRuncLeftovers(ctx context.Context, id string) {
	for _, h := range s.opts.Runtimes.All() {
		cleanRuncLeftoversIn(ctx, h.Options, id)
	}
}

// cleanRuncLeftoversIn is CleanRuncLeftovers in the root of one handler.
func cleanRuncLeftoversIn(ctx context.Context, opts *runcoptions.Options, id string) {
	ns, nsOK := namespaces.Namespace(ctx)
	if opts == nil || opts.Root == "" || !nsOK || id == "" {
		return
	}
	root := filepath.Join(opts.Root, ns)
	if _, err := os.Stat(filepath.Join(root, id)); err != nil {
		return
	}
	binary := opts.BinaryName
	if binary == "" {
		binary = "runc"
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, binary, "--root", root, "delete", "--force", id).CombinedOutput(); err != nil {
		log.G(ctx).WithError(err).WithField("output", strings.TrimSpace(string(out))).WithField("id", id).Warn("runc delete of a container no task holds")
		return
	}
	log.G(ctx).WithField("id", id).Info("deleted runc state that no task holds (a task create cut short)")
}
