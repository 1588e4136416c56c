// Package validate checks CRI requests before they reach containerd, runc
// or CNI. Its functions are pure: they read the request and, where a limit
// depends on the machine (CPUs, memory nodes, hugepage sizes, cgroup
// version), a Node read once at start-up. Every error wraps
// errdefs.ErrInvalidArgument and names the CRI field that is wrong (its
// proto name, with the path from the request: config.linux.resources.
// cpu_shares), so the server answers InvalidArgument, never Unknown.
//
// Request is the entry point: the server calls it once for every request,
// whatever the RPC; the other exported functions check one part and are
// used by the domain packages where they build from the same fields.
package validate

import (
	"fmt"

	"github.com/containerd/containerd/errdefs"
)

// invalid returns an InvalidArgument error about field.
func invalid(field, format string, args ...any) error {
	return fmt.Errorf("%w: %s: "+format, append([]any{errdefs.ErrInvalidArgument, field}, args...)...)
}
