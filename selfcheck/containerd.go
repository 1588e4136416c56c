package selfcheck

import (
	"context"
	"fmt"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/namespaces"
)

// checkContainerd: containerd answers at its address (first finding), and
// has the configured snapshotter working.
func checkContainerd(ctx context.Context, o Options) []Finding {
	v, rev, err := ContainerdVersion(ctx, o.ContainerdAddress, o.Timeout)
	if err != nil {
		return []Finding{{Check: "containerd", Severity: Error,
			Detail: fmt.Sprintf("nothing answers at %s: %v", o.ContainerdAddress, err),
			Fix:    "start containerd (systemctl start containerd), or set containerd_address to the socket it listens on"}}
	}
	fs := []Finding{{Check: "containerd", Severity: OK,
		Detail: fmt.Sprintf("containerd %s (revision %s) serving at %s", v, rev, o.ContainerdAddress)}}
	if o.Snapshotter != "" {
		fs = append(fs, checkSnapshotter(ctx, o))
	}
	return fs
}

func checkSnapshotter(ctx context.Context, o Options) Finding {
	f := Finding{Check: "snapshotter"}
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	client, err := containerd.New(o.ContainerdAddress, containerd.WithTimeout(o.Timeout))
	if err != nil {
		f.Severity, f.Detail = Error, fmt.Sprintf("connect to containerd: %v", err)
		return f
	}
	defer client.Close()
	ctx = namespaces.WithNamespace(ctx, o.ContainerdNamespace)
	resp, err := client.IntrospectionService().Plugins(ctx, []string{
		fmt.Sprintf("type==io.containerd.snapshotter.v1,id==%s", o.Snapshotter)})
	switch {
	case err != nil:
		f.Severity, f.Detail = Warning, fmt.Sprintf("could not list containerd's plugins: %v", err)
	case len(resp.Plugins) == 0:
		f.Severity, f.Detail = Error, fmt.Sprintf("containerd has no snapshotter %q", o.Snapshotter)
		f.Fix = "set snapshotter to one containerd has (ctr plugins ls | grep snapshotter), usually overlayfs"
	case resp.Plugins[0].InitErr != nil:
		f.Severity = Error
		f.Detail = fmt.Sprintf("containerd's snapshotter %q failed to start: %s", o.Snapshotter, resp.Plugins[0].InitErr.Message)
		f.Fix = "fix what containerd's log says about it (overlayfs needs a kernel with overlay and a root on ext4/xfs), or choose another snapshotter"
	default:
		f.Detail = fmt.Sprintf("containerd's %s snapshotter is up", o.Snapshotter)
	}
	return f
}
