package sandbox

import (
	"errors"
	"os"
	"syscall"
	"testing"
	"time"
)

func TestRemoveCgroupDirRetriesWhileBusy(t *testing.T) {
	busy := func(n int) (func(string) error, *int) {
		calls := 0
		return func(string) error {
			calls++
			if calls <= n {
				return &os.PathError{Op: "remove", Path: "x", Err: syscall.EBUSY}
			}
			return nil
		}, &calls
	}
	// Busy three times (the killed processes still exiting), then gone.
	rmdir, calls := busy(3)
	if err := removeCgroupDir("x", rmdir, time.Now().Add(time.Second)); err != nil || *calls != 4 {
		t.Errorf("busy 3 times: err %v after %d calls, want nil after 4", err, *calls)
	}
	// Busy for good (a live process): gives up after the wait with EBUSY.
	rmdir, calls = busy(1 << 30)
	start := time.Now()
	if err := removeCgroupDir("x", rmdir, time.Now().Add(100*time.Millisecond)); !errors.Is(err, syscall.EBUSY) || time.Since(start) > time.Second || *calls < 2 {
		t.Errorf("always busy: err %v after %d calls in %s", err, *calls, time.Since(start))
	}
	// Other errors are not retried.
	n := 0
	if err := removeCgroupDir("x", func(string) error { n++; return os.ErrNotExist }, time.Now().Add(time.Second)); !errors.Is(err, os.ErrNotExist) || n != 1 {
		t.Errorf("not exist: err %v after %d calls", err, n)
	}
}
