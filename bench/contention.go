package main

import (
	"context"
	"fmt"
	"time"
)

// midStartDump is how long after the release of a concurrent start the
// goroutine dump of the daemons is taken: the pods are then between their
// first and last call.
const midStartDump = 1500 * time.Millisecond

// dumpMidStart takes a goroutine dump (debug=1: stacks grouped with their
// counts) of runtime i's CRI daemon midStartDump after the start of c
// pods at once, in the background: what the handlers wait on while the
// pods start. The last round's dump of each level is kept (key names the
// file).
func (b *Bench) dumpMidStart(ctx context.Context, i, c int) func() {
	rt := b.env.RTs[i]
	if rt.Prof == nil {
		return func() {}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		select {
		case <-ctx.Done():
			return
		case <-time.After(midStartDump):
		}
		text, err := rt.Prof.get(ctx, "goroutine?debug=1")
		b.mu.Lock()
		defer b.mu.Unlock()
		if b.midDumps == nil {
			b.midDumps = map[string][]byte{}
		}
		key := fmt.Sprintf("%s-goroutines-2-concurrent-%d-mid-start.txt", rt.Prof.Daemon, c)
		if err != nil {
			b.midDumps[key] = []byte("error: " + err.Error())
			return
		}
		b.midDumps[key] = text
	}()
	return func() { <-done }
}

// saveContention saves, after the concurrent workload, the mid-start
// goroutine dumps and each CRI daemon's mutex and block profiles (podshimd
// samples them while --debug-address is on; they cover the daemon's life
// up to here: the warm-up, workload 1 when it ran, and workload 2).
func (b *Bench) saveContention(ctx context.Context) {
	b.mu.Lock()
	dumps := b.midDumps
	b.midDumps = nil
	b.mu.Unlock()
	for i, rt := range b.env.RTs {
		if rt.Prof == nil {
			continue
		}
		for key, text := range dumps {
			if len(key) <= len(rt.Prof.Daemon) || key[:len(rt.Prof.Daemon)+1] != rt.Prof.Daemon+"-" {
				continue
			}
			p := Profile{Runtime: rt.Name, Daemon: rt.Prof.Daemon, Kind: "goroutine",
				During: "1.5 s into the last round of pods started at once (debug=1 dump)"}
			if g, err := goroutineTotal(text); err == nil {
				p.Goroutines = g
			}
			b.addProfile(ctx, "", p, text, key)
		}
		if i != 0 { // containerd samples neither
			continue
		}
		for _, kind := range []string{"mutex", "block"} {
			p := Profile{Runtime: rt.Name, Daemon: rt.Prof.Daemon, Kind: kind,
				During: "from the daemon's start to the end of workload 2 (" + kind + " contention)"}
			data, err := rt.Prof.get(ctx, kind)
			if err != nil {
				p.Error = err.Error()
				b.addProfile(ctx, "", p, nil, "")
				continue
			}
			b.addProfile(ctx, rt.Prof.Binary, p, data, fmt.Sprintf("%s-%s-2-concurrent.pb.gz", rt.Prof.Daemon, kind))
		}
	}
}
