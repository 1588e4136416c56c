package selfcheck

import (
	"context"
	"fmt"
	"os/exec"
	"sort"
)

// checkRuntimes: each OCI runtime binary is there and tells its version;
// the runc shim containerd starts is on PATH.
func checkRuntimes(ctx context.Context, o Options) []Finding {
	names := make([]string, 0, len(o.Runtimes))
	for name := range o.Runtimes {
		names = append(names, name)
	}
	sort.Strings(names)
	var fs []Finding
	for _, name := range names {
		bin := o.Runtimes[name]
		f := Finding{Check: "oci runtime " + name}
		path, v, err := BinaryVersion(ctx, bin)
		switch {
		case path == "":
			f.Severity, f.Detail = Error, fmt.Sprintf("%s not found: %v", bin, err)
			f.Fix = fmt.Sprintf("install %s (Debian: apt-get install %s) so that it is on containerd's and podshimd's PATH", bin, bin)
		case err != nil:
			f.Severity, f.Detail = Error, fmt.Sprintf("%s does not run: %v", path, err)
			f.Fix = fmt.Sprintf("reinstall %s", bin)
		default:
			f.Detail = fmt.Sprintf("%s %s (%s)", bin, v, path)
		}
		fs = append(fs, f)
	}
	f := Finding{Check: "runc shim"}
	if path, err := exec.LookPath("containerd-shim-runc-v2"); err != nil {
		f.Severity, f.Detail = Warning, "containerd-shim-runc-v2 is not on podshimd's PATH"
		f.Fix = "it comes with containerd; containerd finds it on its own PATH, so make sure it is there"
	} else {
		f.Detail = path
	}
	return append(fs, f)
}
