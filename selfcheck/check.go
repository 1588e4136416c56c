package selfcheck

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"
)

// Severity says how bad a finding is.
type Severity int

const (
	// OK: nothing to do.
	OK Severity = iota
	// Warning: podshim runs pods, but something is off or degraded.
	Warning
	// Error: podshim could not run pods until it is fixed.
	Error
)

func (s Severity) String() string {
	switch s {
	case OK:
		return "ok"
	case Warning:
		return "warning"
	default:
		return "ERROR"
	}
}

// Finding is the outcome of one check, in plain words.
type Finding struct {
	Check    string // what was looked at: "containerd", "cni plugins", ...
	Severity Severity
	Detail   string // what was found
	Fix      string // what to do about it; empty when Severity is OK
}

// Options are the settings podshimd would run with.
type Options struct {
	ContainerdAddress   string
	ContainerdNamespace string
	Snapshotter         string
	// Runtimes maps each OCI runtime podshim uses to its binary (a name
	// looked up on PATH, or a path). Empty: {"runc": "runc"}.
	Runtimes          map[string]string
	CNIConfDir        string
	CNIBinDirs        []string
	CgroupDriver      string
	NetNSDir          string
	Root              string
	State             string
	RegistryConfigDir string
	// SandboxImage is the configured pause image; empty for podshim's
	// built-in one, made from PauseBinary.
	SandboxImage string
	PauseBinary  string
	// Timeout bounds each call to containerd and each plugin run
	// (default 5s).
	Timeout time.Duration
}

// Run runs every check and returns the findings in a fixed order.
func Run(ctx context.Context, o Options) []Finding {
	if o.Timeout == 0 {
		o.Timeout = 5 * time.Second
	}
	if len(o.Runtimes) == 0 {
		o.Runtimes = map[string]string{"runc": "runc"}
	}
	var fs []Finding
	ctrd := checkContainerd(ctx, o)
	fs = append(fs, ctrd...)
	up := ctrd[0].Severity == OK
	fs = append(fs, checkRuntimes(ctx, o)...)
	fs = append(fs, checkCNI(ctx, o)...)
	fs = append(fs, checkCgroups(o)...)
	fs = append(fs, checkDirs(o)...)
	fs = append(fs, checkPrivileges()...)
	fs = append(fs, checkRegistryConfig(o)...)
	fs = append(fs, checkSandboxImage(ctx, o, up))
	return fs
}

// Count returns the number of errors and warnings in fs.
func Count(fs []Finding) (errors, warnings int) {
	for _, f := range fs {
		switch f.Severity {
		case Error:
			errors++
		case Warning:
			warnings++
		}
	}
	return errors, warnings
}

// Write prints fs as a table, each problem followed by its fix, and a
// verdict line last.
func Write(w io.Writer, fs []Finding) error {
	width := 0
	for _, f := range fs {
		width = max(width, len(f.Check))
	}
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "%-8s %-*s  %s\n", f.Severity, width, f.Check, f.Detail)
		if f.Fix != "" {
			for i, l := range strings.Split(f.Fix, "\n") {
				label := "fix:"
				if i > 0 {
					label = ""
				}
				fmt.Fprintf(&b, "%-8s %-*s  %-4s %s\n", "", width, "", label, l)
			}
		}
	}
	errs, warns := Count(fs)
	switch {
	case errs > 0:
		fmt.Fprintf(&b, "\n%d error(s), %d warning(s): podshim could not run pods on this node.\n", errs, warns)
	case warns > 0:
		fmt.Fprintf(&b, "\n%d warning(s): podshim can run pods on this node.\n", warns)
	default:
		b.WriteString("\nall good: podshim can run pods on this node.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}
