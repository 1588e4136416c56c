// Package cleanup undoes the steps of a creation flow that failed part way:
// each step that allocates something pushes a described undo function, and
// when the flow fails they run last-in-first-out on a context of their own,
// so a cancelled request still cleans up.
package cleanup

import (
	"context"
	"time"

	"github.com/containerd/log"
)

// Timeout bounds all undo steps of one flow together.
const Timeout = 2 * time.Minute

type step struct {
	desc string
	fn   func(context.Context) error
}

// Stack is a list of undo steps. The zero value is ready to use.
type Stack struct {
	steps []step
}

// Push adds an undo step, to run before every step pushed earlier.
func (s *Stack) Push(desc string, fn func(context.Context) error) {
	s.steps = append(s.steps, step{desc: desc, fn: fn})
}

// Run runs the steps last-in-first-out on a context detached from ctx
// (keeping its values, such as the containerd namespace and log fields),
// logs the ones that fail and goes on with the rest.
func (s *Stack) Run(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), Timeout)
	defer cancel()
	for i := len(s.steps) - 1; i >= 0; i-- {
		st := s.steps[i]
		if err := st.fn(ctx); err != nil {
			log.G(ctx).WithError(err).Warnf("cleanup: %s failed", st.desc)
		}
	}
	s.steps = nil
}
