package sandbox

import (
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
