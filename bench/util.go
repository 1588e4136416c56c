package main

import (
	"fmt"
	"os"
	"sync"
	"time"
)

// logf prints a progress line to stderr.
func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "%s bench: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
}

// forEach calls f for every item, at most workers at a time, and returns
// when all calls have.
func forEach[T any](items []T, workers int, f func(T)) {
	if workers < 1 {
		workers = 1
	}
	ch := make(chan T)
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for it := range ch {
				f(it)
			}
		}()
	}
	for _, it := range items {
		ch <- it
	}
	close(ch)
	wg.Wait()
}

// errList collects errors from concurrent calls.
type errList struct {
	mu   sync.Mutex
	errs []error
}

func (l *errList) add(err error) {
	l.mu.Lock()
	l.errs = append(l.errs, err)
	l.mu.Unlock()
}

// err returns nil when nothing was added, else one error naming what and
// how many failed, wrapping the first.
func (l *errList) err(what string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.errs) == 0 {
		return nil
	}
	return fmt.Errorf("%s: %d failed, first: %w", what, len(l.errs), l.errs[0])
}
