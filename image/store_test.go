package image

import (
	"context"
	"crypto/sha256"
	"fmt"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
)

var bg = context.Background()

func testID(n int) string {
	return fmt.Sprintf("sha256:%x", sha256.Sum256([]byte(fmt.Sprint(n))))
}

// storeOnly is a service with an index but no containerd: Get and List
// must work without one.
func storeOnly() *Service {
	return &Service{store: newStore()}
}

func TestStoreNamesAndLookups(t *testing.T) {
	s := storeOnly()
	a := Image{ID: "sha256:aaaa1" + strings.Repeat("0", 59)}
	b := Image{ID: "sha256:aaaa2" + strings.Repeat("0", 59)}
	s.store.set(a.ID, a, false)
	s.store.set("docker.io/library/busybox:1.36", a, false)
	s.store.set("docker.io/library/busybox@sha256:"+strings.Repeat("1", 64), a, false)
	s.store.set("docker.io/library/busybox:latest", a, false)
	s.store.set(b.ID, b, true)

	got, err := s.Get(bg, "busybox:1.36")
	if err != nil || got.ID != a.ID {
		t.Fatalf("Get(busybox:1.36) = %q, %v", got.ID, err)
	}
	mustEqualSlice(t, "RepoTags", got.RepoTags, []string{"docker.io/library/busybox:1.36", "docker.io/library/busybox:latest"})
	mustEqualSlice(t, "RepoDigests", got.RepoDigests, []string{"docker.io/library/busybox@sha256:" + strings.Repeat("1", 64)})
	if got, err := s.Get(bg, "busybox"); err != nil || got.ID != a.ID {
		t.Fatalf("Get(busybox) = %q, %v", got.ID, err)
	}
	if got, err := s.Get(bg, "aaaa2"); err != nil || got.ID != b.ID || !got.Pinned {
		t.Fatalf("Get(aaaa2) = %+v, %v", got, err)
	}
	if _, err := s.Get(bg, "aaaa"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Get(ambiguous prefix) = %v", err)
	}
	if _, err := s.Get(bg, "sha256:aaaa"); !errdefs.IsInvalidArgument(err) {
		t.Fatalf("Get(ambiguous sha256 prefix) = %v", err)
	}
	if _, err := s.Get(bg, "aaaa3"); !errdefs.IsNotFound(err) {
		t.Fatalf("Get(unknown prefix) = %v", err)
	}

	// The latest tag moves to b; a keeps its other names.
	s.store.set("docker.io/library/busybox:latest", b, false)
	got, _ = s.Get(bg, a.ID)
	mustEqualSlice(t, "a's tags after move", got.RepoTags, []string{"docker.io/library/busybox:1.36"})
	got, _ = s.Get(bg, "busybox")
	mustEqual(t, "latest", got.ID, b.ID)
	mustEqualSlice(t, "names of a", s.store.namesOf(a.ID),
		[]string{"docker.io/library/busybox:1.36", "docker.io/library/busybox@sha256:" + strings.Repeat("1", 64), a.ID})

	// Dropping every name drops the image; its short ID then finds b.
	for _, n := range s.store.namesOf(a.ID) {
		s.store.remove(n)
	}
	if _, err := s.Get(bg, a.ID); !errdefs.IsNotFound(err) {
		t.Fatalf("Get(removed) = %v", err)
	}
	if got, err := s.Get(bg, "aaaa"); err != nil || got.ID != b.ID {
		t.Fatalf("Get(aaaa) after removal = %q, %v", got.ID, err)
	}
	mustEqual(t, "List length", len(s.List(bg)), 1)
}

func TestStorePinnedSticks(t *testing.T) {
	st := newStore()
	img := Image{ID: testID(1)}
	st.set("localhost/p:1", img, true)
	st.set("localhost/p:1", img, false) // re-pulled without the label: containerd keeps it
	got, _ := st.byID(img.ID)
	mustEqual(t, "pinned", got.Pinned, true)
	st.set("localhost/other:1", img, false)
	st.remove("localhost/p:1")
	got, _ = st.byID(img.ID)
	mustEqual(t, "pinned after the pinned name went", got.Pinned, false)
}

// BenchmarkLookups measures Get and List with 500 images (1500 names) in
// the index. The service has no containerd client: a call to containerd
// would panic.
func BenchmarkLookups(b *testing.B) {
	s := storeOnly()
	const n = 500
	for i := 0; i < n; i++ {
		img := Image{ID: testID(i), Size: 1 << 20}
		s.store.set(img.ID, img, false)
		s.store.set(fmt.Sprintf("docker.io/library/app%d:1.0", i), img, false)
		s.store.set(fmt.Sprintf("docker.io/library/app%d@sha256:%064x", i, i), img, false)
	}
	id := testID(250)
	cases := map[string]string{
		"full tag":  "docker.io/library/app250:1.0",
		"short tag": "app250:1.0",
		"id":        id,
		"short id":  id[7:19],
	}
	for name, ref := range cases {
		b.Run("Get "+name, func(b *testing.B) {
			for b.Loop() {
				if img, err := s.Get(bg, ref); err != nil || img.ID != id {
					b.Fatalf("Get(%q) = %q, %v", ref, img.ID, err)
				}
			}
		})
	}
	b.Run("List", func(b *testing.B) {
		for b.Loop() {
			if l := s.List(bg); len(l) != n {
				b.Fatalf("List = %d images", len(l))
			}
		}
	})
}

// TestStoreReportsDroppedImages: set and remove return the ID of an image
// that lost its last name, and only then.
func TestStoreReportsDroppedImages(t *testing.T) {
	st := newStore()
	a, b := Image{ID: testID(1)}, Image{ID: testID(2)}
	if d := st.set("docker.io/library/app:1", a, false); d != "" {
		t.Fatalf("first set dropped %q", d)
	}
	st.set(a.ID, a, false)
	st.set("docker.io/library/app:latest", a, false)
	// A tag moving to b leaves a with names: nothing dropped.
	if d := st.set("docker.io/library/app:latest", b, false); d != "" {
		t.Fatalf("moving a tag off an image with other names dropped %q", d)
	}
	if d := st.remove("docker.io/library/app:1"); d != "" {
		t.Fatalf("removing one of two names dropped %q", d)
	}
	if d := st.remove(a.ID); d != a.ID {
		t.Fatalf("removing a's last name dropped %q, want %q", d, a.ID)
	}
	if d := st.remove(a.ID); d != "" {
		t.Fatalf("removing an unknown name dropped %q", d)
	}
	// b's only name moves to a: b is dropped.
	if d := st.set("docker.io/library/app:latest", a, false); d != b.ID {
		t.Fatalf("moving b's last name away dropped %q, want %q", d, b.ID)
	}
}
