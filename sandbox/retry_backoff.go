package sandbox

import (
	"context"
	"time"

	"github.com/containerd/log"
)

// Back-off of the background CNI DEL retries: the first retry follows a
// failed DEL after delRetryFirst, each next one waits twice as long, up to
// delRetryMax.
const (
	delRetryFirst = time.Second
	delRetryMax   = time.Minute
)

// retryWithBackoff calls try after delRetryFirst, and again with a doubling
// delay (up to delRetryMax), until try reports done or ctx (the daemon's
// lifetime) ends: a restarted podshimd resumes what was recorded. Each
// failed attempt is logged as "<what> retried in the background failed
// again" with the attempt number and the next delay; try logs its own
// success.
func retryWithBackoff(ctx context.Context, what string, try func(ctx context.Context, attempt int) (done bool, err error)) {
	delay := delRetryFirst
	for attempt := 1; ; attempt++ {
		select {
		case <-ctx.Done():
			return
		case <-time.After(delay):
		}
		done, err := try(ctx, attempt)
		if done {
			return
		}
		delay = nextDelRetry(delay)
		log.G(ctx).WithError(err).WithFields(log.Fields{"attempt": attempt, "next": delay}).Warnf("%s retried in the background failed again", what)
	}
}

// nextDelRetry doubles the delay up to delRetryMax.
func nextDelRetry(d time.Duration) time.Duration {
	if d *= 2; d > delRetryMax {
		return delRetryMax
	}
	return d
}
