package store

import (
	"slices"
	"testing"
)

func TestListFollowsAddAndDelete(t *testing.T) {
	s := New[string]("sandbox")
	if l := s.List(); len(l) != 0 {
		t.Fatalf("empty List = %v", l)
	}
	s.Add("b", "B")
	s.Add("a", "A")
	if l := s.List(); !slices.Equal(l, []string{"A", "B"}) {
		t.Fatalf("List = %v", l)
	}
	l := s.List()
	l[0] = "changed by the caller"
	s.Add("c", "C")
	if l := s.List(); !slices.Equal(l, []string{"A", "B", "C"}) {
		t.Fatalf("after Add List = %v", l)
	}
	s.Add("a", "A2")
	s.Delete("b")
	s.Delete("unknown")
	if l := s.List(); !slices.Equal(l, []string{"A2", "C"}) {
		t.Fatalf("after replace and Delete List = %v", l)
	}
	if v, ok := s.Lookup("c"); !ok || v != "C" {
		t.Fatalf("Lookup(c) = %q, %v", v, ok)
	}
	if _, ok := s.Lookup("a2"); ok {
		t.Fatal("Lookup matched a prefix-less unknown ID")
	}
}

func BenchmarkList(b *testing.B) {
	s := New[int]("container")
	for i := 0; i < 400; i++ {
		s.Add(string(rune('a'+i%26))+string(rune(i)), i)
	}
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if len(s.List()) != 400 {
			b.Fatal("short list")
		}
	}
}
