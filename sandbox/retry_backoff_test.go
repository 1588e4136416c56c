package sandbox

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestNextDelRetryBacksOffToMax(t *testing.T) {
	d, waited := delRetryFirst, delRetryFirst
	var seq []time.Duration
	for i := 0; i < 10; i++ {
		d = nextDelRetry(d)
		seq = append(seq, d)
		waited += d
	}
	want := []time.Duration{2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 32 * time.Second, time.Minute, time.Minute}
	for i, w := range want {
		if seq[i] != w {
			t.Fatalf("retry delays %v, want to start %v", seq, want)
		}
	}
	if waited > 8*time.Minute {
		t.Errorf("10 retries take %s", waited)
	}
}

func TestRetryWithBackoffUntilDone(t *testing.T) {
	var attempts []int
	retryWithBackoff(context.Background(), "test", func(_ context.Context, attempt int) (bool, error) {
		attempts = append(attempts, attempt)
		if attempt < 2 {
			return false, errors.New("not yet")
		}
		return true, nil
	})
	if len(attempts) != 2 || attempts[0] != 1 || attempts[1] != 2 {
		t.Fatalf("attempts %v, want [1 2]: a failed try is retried, a done one is not", attempts)
	}
}

func TestRetryWithBackoffStopsWithItsContext(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	calls := 0
	finished := make(chan struct{})
	go func() {
		defer close(finished)
		retryWithBackoff(ctx, "test", func(context.Context, int) (bool, error) {
			calls++
			cancel()
			return false, errors.New("fails")
		})
	}()
	<-finished
	if calls != 1 {
		t.Fatalf("try called %d times after its context ended, want 1", calls)
	}
}
