// Package shimgroup is podshim's density mode: up to Size pods share one
// runc v2 shim. Each pod's pause and containers carry containerd's
// io.containerd.runc.v2.group annotation naming the group; the shim
// binary's start command then connects to the group's shim socket instead
// of starting a shim (containerd's runc v2 shim manager groups by that
// annotation before the sandbox-id one). On containerd 2.x the containers
// still join their pod's pause's shim through the sandbox store (package
// sandboxshim), which is the group's.
//
// Lifetime rule: a shim exits when its last task is deleted. A pod joining
// a group whose shim is about to exit would be left with no shim, so a
// group is never joined once it may empty: it closes for new pods when it
// is full, when any member's RunPodSandbox fails, when any member is
// stopped or removed, and when podshimd restarts (recovered groups are
// closed). A new pod then opens a new group.
//
// The group's ID is its first member's sandbox ID, which is also the -id
// of the shim process (the first pause task starts it); the other members
// wait for the first member's pause task before they make theirs, so that
// no other member starts the shim. Recovery and the shim reaper use the
// ID to tell a group's shim from a stray one.
//
// Groups are per runtime handler: a shim runs one runtime (runc binary,
// root, cgroup driver), so pods of different handlers never share one.
//
// Blast radius: a killed shim takes every pod of its group, not one: each
// of their containers reports exited and each sandbox NotReady.
package shimgroup

import (
	"context"
	"sync"

	"github.com/containerd/containerd/oci"
)

// Annotation is containerd's runc v2 shim grouping annotation.
const Annotation = "io.containerd.runc.v2.group"

// Groups allocates pods to shim groups. A nil *Groups is density mode off.
type Groups struct {
	size int
	mu   sync.Mutex
	open map[string]*group // by runtime handler: the group its new pods join
	all  map[string]*group // by ID
}

type group struct {
	id      string
	handler string
	members map[string]bool
	closed  bool
	// started is closed when the first member's pause task exists (or
	// its Run failed); ok says which.
	started chan struct{}
	ok      bool
}

// New returns the allocator for groups of size pods; size < 2 is off (nil).
func New(size int) *Groups {
	if size < 2 {
		return nil
	}
	return &Groups{size: size, open: map[string]*group{}, all: map[string]*group{}}
}

// Size is the number of pods per group (0 when off).
func (g *Groups) Size() int {
	if g == nil {
		return 0
	}
	return g.size
}

// Ticket is a pod's place in a group.
type Ticket struct {
	ID     string // the group's ID (its annotation value); "" when off
	member string
	first  bool
	g      *group
	gs     *Groups
}

// Join puts sandbox id, which runs on runtime handler, into the handler's
// open group, or opens a group named after it. A member other than the
// first waits (ctx bounds it) until the first member's pause task exists;
// if the first member failed, it tries the next group.
func (g *Groups) Join(ctx context.Context, handler, id string) (Ticket, error) {
	if g == nil {
		return Ticket{}, nil
	}
	for {
		g.mu.Lock()
		gr := g.open[handler]
		if gr == nil || gr.closed {
			gr = &group{id: id, handler: handler, members: map[string]bool{}, started: make(chan struct{})}
			g.open[handler], g.all[id] = gr, gr
		}
		gr.members[id] = true
		if len(gr.members) >= g.size {
			gr.closed = true
		}
		g.mu.Unlock()
		t := Ticket{ID: gr.id, member: id, first: gr.id == id, g: gr, gs: g}
		if t.first {
			return t, nil
		}
		select {
		case <-gr.started:
		case <-ctx.Done():
			t.Leave()
			return Ticket{}, ctx.Err()
		}
		if gr.ok {
			return t, nil
		}
		t.Leave() // the first member failed: the group is closed
	}
}

// Started tells the group's waiting members that the first member's pause
// task exists (ok) or will not (its Run failed). Only the first member's
// call counts.
func (t Ticket) Started(ok bool) {
	if t.g == nil || !t.first {
		return
	}
	t.gs.mu.Lock()
	defer t.gs.mu.Unlock()
	select {
	case <-t.g.started:
		return
	default:
	}
	t.g.ok = ok
	if !ok {
		t.g.closed = true
	}
	close(t.g.started)
}

// Leave takes the ticket's pod out of its group (a failed Run), closing it.
func (t Ticket) Leave() {
	if t.g == nil {
		return
	}
	if t.first {
		t.Started(false)
	}
	t.gs.Leave(t.ID, t.member)
}

// Recover records sandbox id, recovered at start-up, as a member of group
// groupID, which is closed: podshimd does not know whether its shim is
// about to exit.
func (g *Groups) Recover(groupID, id string) {
	if g == nil || groupID == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.all[groupID]
	if gr == nil {
		gr = &group{id: groupID, members: map[string]bool{}, started: make(chan struct{}), closed: true, ok: true}
		close(gr.started)
		g.all[groupID] = gr
	}
	gr.members[id] = true
}

// Close closes group groupID for new pods: a member is being stopped or
// removed, so the group may empty.
func (g *Groups) Close(groupID string) {
	if g == nil || groupID == "" {
		return
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if gr := g.all[groupID]; gr != nil {
		gr.closed = true
	}
}

// Leave removes sandbox id from group groupID, closes the group, and
// returns how many members remain.
func (g *Groups) Leave(groupID, id string) int {
	if g == nil || groupID == "" {
		return 0
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	gr := g.all[groupID]
	if gr == nil {
		return 0
	}
	gr.closed = true
	delete(gr.members, id)
	if len(gr.members) == 0 {
		delete(g.all, groupID)
		if g.open[gr.handler] == gr {
			delete(g.open, gr.handler)
		}
	}
	return len(gr.members)
}

// Has says whether group groupID has members: its shim serves pods.
func (g *Groups) Has(groupID string) bool {
	if g == nil {
		return false
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	return len(g.all[groupID].membersOrNil()) > 0
}

func (gr *group) membersOrNil() map[string]bool {
	if gr == nil {
		return nil
	}
	return gr.members
}

// SpecOpts annotate a pause or container spec with group groupID (none
// when groupID is "").
func SpecOpts(groupID string) []oci.SpecOpts {
	if groupID == "" {
		return nil
	}
	return []oci.SpecOpts{oci.WithAnnotations(map[string]string{Annotation: groupID})}
}
