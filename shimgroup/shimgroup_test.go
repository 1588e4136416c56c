package shimgroup

import (
	"context"
	"testing"
	"time"
)

func join(t *testing.T, g *Groups, id string) Ticket {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	tk, err := g.Join(ctx, "", id)
	if err != nil {
		t.Fatalf("join %s: %v", id, err)
	}
	return tk
}

func TestGroupsFillAndClose(t *testing.T) {
	if New(1) != nil || New(0).Size() != 0 {
		t.Fatal("size < 2 must be off")
	}
	var off *Groups
	if tk, err := off.Join(context.Background(), "", "x"); err != nil || tk.ID != "" || len(SpecOpts(tk.ID)) != 0 {
		t.Fatalf("off: %+v %v", tk, err)
	}
	g := New(3)
	a := join(t, g, "a")
	a.Started(true)
	b, c := join(t, g, "b"), join(t, g, "c")
	d := join(t, g, "d") // the first group is full
	d.Started(true)
	if a.ID != "a" || b.ID != "a" || c.ID != "a" || d.ID != "d" {
		t.Fatalf("groups %s %s %s %s, want a a a d", a.ID, b.ID, c.ID, d.ID)
	}
	// A member being stopped closes its group, even with room left.
	g.Close("d")
	e := join(t, g, "e")
	e.Started(true)
	if e.ID != "e" {
		t.Fatalf("joined a closed group: %s", e.ID)
	}
	if n := g.Leave("a", "a"); n != 2 || !g.Has("a") {
		t.Fatalf("group a after its first member left: %d members, has %v", n, g.Has("a"))
	}
	g.Leave("a", "b")
	if n := g.Leave("a", "c"); n != 0 || g.Has("a") {
		t.Fatalf("emptied group a: %d, has %v", n, g.Has("a"))
	}
	// Recovered groups are closed.
	g.Recover("r", "r1")
	f := join(t, g, "f") // e's group is still open
	if f.ID != "e" || !g.Has("r") {
		t.Fatalf("f joined %s", f.ID)
	}
	if len(SpecOpts("e")) != 1 {
		t.Fatal("no spec annotation")
	}
}

func TestFirstMemberFails(t *testing.T) {
	g := New(2)
	a := join(t, g, "a")
	got := make(chan Ticket)
	go func() { got <- join(t, g, "b") }()
	select {
	case tk := <-got:
		t.Fatalf("b joined (%s) before the first member's pause existed", tk.ID)
	case <-time.After(100 * time.Millisecond):
	}
	a.Leave() // a's Run failed
	b := <-got
	if b.ID != "b" {
		t.Fatalf("b is in group %q after the first member failed, want a group of its own", b.ID)
	}
	if g.Has("a") {
		t.Fatal("failed group a still has members")
	}
}

func TestJoinCanceled(t *testing.T) {
	g := New(2)
	join(t, g, "a")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := g.Join(ctx, "", "b"); err == nil {
		t.Fatal("join with a canceled context while the first member starts")
	}
}

// TestGroupsPerHandler: pods of different runtime handlers never share a
// shim (it runs one runtime); each handler fills its own group.
func TestGroupsPerHandler(t *testing.T) {
	g := New(3)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	a, err := g.Join(ctx, "runc", "a")
	if err != nil {
		t.Fatal(err)
	}
	a.Started(true)
	x, err := g.Join(ctx, "other", "x")
	if err != nil {
		t.Fatal(err)
	}
	x.Started(true)
	b, _ := g.Join(ctx, "runc", "b")
	y, _ := g.Join(ctx, "other", "y")
	if a.ID != "a" || b.ID != "a" || x.ID != "x" || y.ID != "x" {
		t.Fatalf("groups a=%s b=%s x=%s y=%s, want a a x x", a.ID, b.ID, x.ID, y.ID)
	}
	// The last member of a handler's open group leaving forgets it as that
	// handler's open group only.
	x.Leave()
	y.Leave()
	c, _ := g.Join(ctx, "runc", "c")
	if c.ID != "a" {
		t.Fatalf("runc's open group changed to %s when the other handler's emptied", c.ID)
	}
}
