package checkpoint

import (
	"context"
	"errors"
	"fmt"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/containerd/containerd/errdefs"
)

// probeTimeout bounds `criu check`.
const probeTimeout = 30 * time.Second

// CRIU says whether CRIU can checkpoint and restore on this host. It runs
// `criu check` once, at first use, and keeps the answer: a host that
// cannot run CRIU gets the same precise error at once on every call.
type CRIU struct {
	// Path is the criu binary; "" looks up "criu" on PATH, as runc does.
	Path string

	once sync.Once
	err  error
}

// Check returns nil when CRIU works here, else a FailedPrecondition error
// whose text starts with "criu: " and gives CRIU's own reason.
func (c *CRIU) Check(ctx context.Context) error {
	c.once.Do(func() {
		// The answer is kept: do not let one caller's cancellation decide it.
		ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), probeTimeout)
		defer cancel()
		c.err = c.probe(ctx)
	})
	return c.err
}

func (c *CRIU) probe(ctx context.Context) error {
	bin := c.Path
	if bin == "" {
		bin = "criu"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return fmt.Errorf("%w: criu: not installed (%v)", errdefs.ErrFailedPrecondition, err)
	}
	out, err := exec.CommandContext(ctx, path, "check").CombinedOutput()
	if err == nil {
		return nil
	}
	reason := checkReason(string(out))
	if reason == "" {
		reason = err.Error()
	}
	var exitErr *exec.ExitError
	if !errors.As(err, &exitErr) {
		reason = err.Error()
	}
	return fmt.Errorf("%w: criu: %s check failed: %s", errdefs.ErrFailedPrecondition, path, reason)
}

// criuMessage matches CRIU's log prefix: "Error (criu/vdso.c:613): ".
var criuMessage = regexp.MustCompile(`^(?:Error|Warn|Warning) \([^)]*\): `)

// checkReason turns `criu check` output into one line: its error
// messages without their source locations, joined by "; " (all its
// lines when it printed no error).
func checkReason(out string) string {
	var errs, all []string
	for _, line := range strings.Split(out, "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		msg := criuMessage.ReplaceAllString(line, "")
		all = append(all, msg)
		if strings.HasPrefix(line, "Error") {
			errs = append(errs, msg)
		}
	}
	if len(errs) == 0 {
		errs = all
	}
	return strings.Join(errs, "; ")
}
