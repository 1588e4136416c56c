package store

import (
	"fmt"
	"testing"

	"github.com/containerd/containerd/errdefs"
)

func TestGetByIDAndPrefix(t *testing.T) {
	s := New[string]("container")
	s.Add("abcdef01", "one")
	s.Add("abc99999", "two")
	s.Add("ffff0000", "three")
	for _, tc := range []struct {
		id      string
		want    string
		errKind func(error) bool
	}{
		{"abcdef01", "one", nil},
		{"abcd", "one", nil},
		{"ff", "three", nil},
		{"abc", "", errdefs.IsInvalidArgument},
		{"0123", "", errdefs.IsNotFound},
		{"", "", errdefs.IsInvalidArgument},
	} {
		got, err := s.Get(tc.id)
		if tc.errKind != nil {
			if !tc.errKind(err) {
				t.Errorf("Get(%q) err = %v, want another kind", tc.id, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("Get(%q) = %q, %v; want %q", tc.id, got, err, tc.want)
		}
	}
	s.Delete("abc99999")
	s.Delete("unknown")
	if got, err := s.Get("abc"); err != nil || got != "one" {
		t.Errorf("after delete Get(abc) = %q, %v", got, err)
	}
	if l := s.List(); len(l) != 2 || l[0] != "one" || l[1] != "three" {
		t.Errorf("List = %v", l)
	}
}

func TestNames(t *testing.T) {
	n := NewNames()
	if err := n.Reserve("web_default_uid_0", "id1"); err != nil {
		t.Fatal(err)
	}
	if err := n.Reserve("web_default_uid_0", "id1"); err != nil {
		t.Fatalf("re-reserving for the same ID = %v", err)
	}
	if err := n.Reserve("web_default_uid_0", "id2"); !errdefs.IsAlreadyExists(err) {
		t.Fatalf("conflicting Reserve = %v, want AlreadyExists", err)
	}
	n.ReleaseID("id1")
	if err := n.Reserve("web_default_uid_0", "id2"); err != nil {
		t.Fatalf("Reserve after release = %v", err)
	}
}

func BenchmarkGet(b *testing.B) {
	s := New[int]("sandbox")
	ids := make([]string, 500)
	for i := range ids {
		ids[i] = fmt.Sprintf("%064x", i*7919+1)
		s.Add(ids[i], i)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := s.Get(ids[i%len(ids)]); err != nil {
			b.Fatal(err)
		}
	}
}
