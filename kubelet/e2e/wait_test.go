//go:build kubelet_e2e

package e2e

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"
)

// errStop ends a poll at once: what it waits for cannot happen any more.
var errStop = errors.New("process exited")

// pollInterval is how often conditions are checked.
const pollInterval = 250 * time.Millisecond

// poll calls check until it returns nil, errStop, or timeout passes; the
// error then says what check last saw.
func poll(ctx context.Context, timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	for {
		err := check()
		if err == nil {
			return nil
		}
		if errors.Is(err, errStop) {
			return err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not after %s: %w", timeout, err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%w (last: %v)", ctx.Err(), err)
		case <-time.After(pollInterval):
		}
	}
}

// waitUntil polls check and fails the test if it does not hold within
// timeout, saying what was awaited and what check last saw.
func waitUntil(t *testing.T, timeout time.Duration, what string, check func() error) {
	t.Helper()
	if err := poll(context.Background(), timeout, check); err != nil {
		t.Fatalf("waiting for %s: %v", what, err)
	}
}

// holdsFor checks that check keeps returning nil for the whole duration:
// for the properties that must stay true ("the app never starts").
func holdsFor(t *testing.T, d time.Duration, what string, check func() error) {
	t.Helper()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		if err := check(); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		time.Sleep(pollInterval)
	}
}
