package sandbox

import (
	"context"

	"github.com/containerd/containerd/namespaces"
	"github.com/containerd/log"

	"github.com/podshim/podshim/sandbox/shimproc"
)

// killOrphanShim ends the runc v2 shim of sandbox id when containerd lost
// track of it: a podshimd killed while containerd created the pause task
// can leave a shim that has no task, which no containerd call reaches any
// more. The shim is found by its command line (-namespace <ns> -id <id>;
// the shim of a pod is named after its sandbox) and killed with what it
// started.
func killOrphanShim(ctx context.Context, id string) {
	ns, ok := namespaces.Namespace(ctx)
	if !ok {
		return
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
}
