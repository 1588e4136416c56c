package selfcheck

import (
	"context"
	"fmt"
	"os"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
)

// checkSandboxImage: podshim's built-in pause image needs its pause
// binary; a configured image should be in containerd already, or it is
// pulled at the first pod.
func checkSandboxImage(ctx context.Context, o Options, containerdUp bool) Finding {
	f := Finding{Check: "pause image"}
	if o.SandboxImage == "" {
		st, err := os.Stat(o.PauseBinary)
		switch {
		case err != nil:
			f.Severity, f.Detail = Error, fmt.Sprintf("podshim's pause binary: %v", err)
			f.Fix = "install pause next to podshimd (make install does), or set pause_binary to it, or set sandbox_image to a pause image"
		case !st.Mode().IsRegular() || st.Mode().Perm()&0o111 == 0:
			f.Severity, f.Detail = Error, fmt.Sprintf("podshim's pause binary %s is not an executable file", o.PauseBinary)
			f.Fix = "reinstall it (make install), or set pause_binary to podshim's pause"
		default:
			f.Detail = fmt.Sprintf("podshim's built-in pause image, from %s", o.PauseBinary)
		}
		return f
	}
	if !containerdUp {
		f.Severity, f.Detail = Warning, fmt.Sprintf("%s: not looked up (containerd does not answer)", o.SandboxImage)
		return f
	}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	client, err := containerd.New(o.ContainerdAddress, containerd.WithTimeout(o.Timeout))
	if err != nil {
		f.Severity, f.Detail = Warning, fmt.Sprintf("%s: not looked up: %v", o.SandboxImage, err)
		return f
	}
	defer client.Close()
	ctx = namespaces.WithNamespace(ctx, o.ContainerdNamespace)
	if _, err := client.ImageService().Get(ctx, o.SandboxImage); err != nil {
		f.Severity = Warning
		f.Detail = fmt.Sprintf("%s is not in containerd's %s namespace yet: it is pulled at the first pod (%v)", o.SandboxImage, o.ContainerdNamespace, err)
		f.Fix = "make sure its registry is reachable from the node, or leave sandbox_image empty for podshim's built-in pause image (no registry needed)"
		return f
	}
	f.Detail = fmt.Sprintf("%s is in containerd's %s namespace", o.SandboxImage, o.ContainerdNamespace)
	return f
}
