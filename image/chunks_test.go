package image

import (
	"sync/atomic"
	"testing"
	"time"
)

// TestChunkPoolKeepsChunksWhilePullsCome: chunks come back for the next
// pull, also one starting after the last ended, as long as it starts within
// the idle delay.
func TestChunkPoolKeepsChunksWhilePullsCome(t *testing.T) {
	var freed atomic.Int32
	p := &chunkPool{idleAfter: time.Hour, freeOS: func() { freed.Add(1) }}
	p.begin()
	a, b := p.get(), p.get()
	p.put(a)
	p.put(b)
	p.end()
	p.begin()
	if got := p.get(); got != a && got != b {
		t.Fatal("a pull right after another got a new chunk instead of a pooled one")
	}
	p.end()
	if p.size() != 1 || freed.Load() != 0 {
		t.Fatalf("free chunks = %d, releases = %d; want 1 and 0 within the idle delay", p.size(), freed.Load())
	}
}

// TestChunkPoolReleasesWhenIdle: once no pull ran for the idle delay the
// free chunks go and the memory is handed back to the OS, once; a pull
// under way (or starting in time) holds the release off.
func TestChunkPoolReleasesWhenIdle(t *testing.T) {
	var freed atomic.Int32
	p := &chunkPool{idleAfter: 50 * time.Millisecond, freeOS: func() { freed.Add(1) }}

	// Two pulls overlap: the first one's end arms nothing.
	p.begin()
	p.begin()
	p.put(p.get())
	p.end()
	time.Sleep(120 * time.Millisecond)
	if p.size() != 1 || freed.Load() != 0 {
		t.Fatalf("released while a pull ran: free chunks = %d, releases = %d", p.size(), freed.Load())
	}
	p.end()

	// A pull starting within the delay cancels the release.
	time.Sleep(10 * time.Millisecond)
	p.begin()
	time.Sleep(120 * time.Millisecond)
	if p.size() != 1 || freed.Load() != 0 {
		t.Fatalf("released although a pull started in time: free chunks = %d, releases = %d", p.size(), freed.Load())
	}
	p.end()

	deadline := time.Now().Add(5 * time.Second)
	for freed.Load() == 0 && time.Now().Before(deadline) {
		time.Sleep(10 * time.Millisecond)
	}
	if p.size() != 0 || freed.Load() != 1 {
		t.Fatalf("after the idle delay: free chunks = %d, releases = %d; want 0 and 1", p.size(), freed.Load())
	}
}

// size returns the number of free chunks held.
func (p *chunkPool) size() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.free)
}
