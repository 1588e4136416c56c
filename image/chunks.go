package image

import (
	"runtime/debug"
	"sync"
	"time"
)

// chunkIdleRelease is how long the chunk pool keeps its chunks once no
// pull runs.
const chunkIdleRelease = 5 * time.Second

// chunkPool recycles the chunks of layer downloads while pulls come, and
// lets them go once none ran for a while.
//
// Both halves matter on a node: fresh memory costs a page fault per 4 KiB,
// which made pulls 1.5x slower when every pull allocated its own chunks;
// chunks kept for good held up to 50 MB in an idle daemon. Pulls mark
// their span with begin and end; chunkIdleRelease after the last one ends,
// the free chunks are dropped and the memory is returned to the OS.
type chunkPool struct {
	idleAfter time.Duration
	freeOS    func() // returns freed memory to the OS; debug.FreeOSMemory

	mu     sync.Mutex
	free   []*[streamChunk]byte
	active int         // pulls under way
	timer  *time.Timer // pending release
}

func newChunkPool() *chunkPool {
	return &chunkPool{idleAfter: chunkIdleRelease, freeOS: debug.FreeOSMemory}
}

// get returns a chunk: a free one, else a new one.
func (p *chunkPool) get() *[streamChunk]byte {
	p.mu.Lock()
	if n := len(p.free); n > 0 {
		b := p.free[n-1]
		p.free = p.free[:n-1]
		p.mu.Unlock()
		return b
	}
	p.mu.Unlock()
	return new([streamChunk]byte)
}

// put gives a chunk back for the next get.
func (p *chunkPool) put(b *[streamChunk]byte) {
	p.mu.Lock()
	p.free = append(p.free, b)
	p.mu.Unlock()
}

// begin marks the start of a pull: the free chunks stay.
func (p *chunkPool) begin() {
	p.mu.Lock()
	p.active++
	if p.timer != nil {
		p.timer.Stop()
		p.timer = nil
	}
	p.mu.Unlock()
}

// end marks the end of a pull; the last one to end arms the release.
func (p *chunkPool) end() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.active--
	if p.active == 0 && p.timer == nil {
		p.timer = time.AfterFunc(p.idleAfter, p.release)
	}
}

// release drops the free chunks unless a pull started meanwhile.
func (p *chunkPool) release() {
	p.mu.Lock()
	p.timer = nil
	dropped := len(p.free)
	if p.active > 0 || dropped == 0 {
		p.mu.Unlock()
		return
	}
	p.free = nil
	p.mu.Unlock()
	p.freeOS()
}
