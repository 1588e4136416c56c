package listpage

import (
	"errors"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func image(id string, tagBytes int) *runtime.Image {
	return &runtime.Image{Id: id, RepoTags: []string{strings.Repeat("t", tagBytes)}}
}

func TestSendPagesBySize(t *testing.T) {
	var items []*runtime.Image
	for i := 0; i < 1000; i++ {
		items = append(items, image(string(rune('a'+i%26))+strings.Repeat("x", i%7), 100+i%300))
	}
	const limit = 16 << 10
	var got []*runtime.Image
	pages := 0
	err := Send(items, limit, func(p []*runtime.Image) error {
		pages++
		if len(p) == 0 {
			t.Fatal("empty page")
		}
		if n := proto.Size(&runtime.StreamImagesResponse{Images: p}); n > limit {
			t.Fatalf("page %d encodes to %d bytes, over the limit %d", pages, n, limit)
		}
		got = append(got, p...)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(items) {
		t.Fatalf("got %d items, want %d", len(got), len(items))
	}
	for i := range items {
		if got[i] != items[i] {
			t.Fatalf("item %d out of order or duplicated", i)
		}
	}
	// Pages are full: fewer than one page more than the bytes need.
	total := 0
	for _, it := range items {
		total += Size(it)
	}
	if max := total/limit + 2; pages > max {
		t.Fatalf("%d pages for %d bytes at %d a page, want at most %d", pages, total, limit, max)
	}
}

func TestSendLargeItemAlone(t *testing.T) {
	items := []*runtime.Image{image("a", 10), image("big", 5000), image("c", 10)}
	var sizes []int
	if err := Send(items, 1000, func(p []*runtime.Image) error { sizes = append(sizes, len(p)); return nil }); err != nil {
		t.Fatal(err)
	}
	if len(sizes) != 3 || sizes[0] != 1 || sizes[1] != 1 || sizes[2] != 1 {
		t.Fatalf("page sizes %v, want [1 1 1]", sizes)
	}
}

func TestSendNothingAndErrors(t *testing.T) {
	calls := 0
	if err := Send([]*runtime.Image(nil), 0, func([]*runtime.Image) error { calls++; return nil }); err != nil || calls != 0 {
		t.Fatalf("empty list: %d sends, err %v", calls, err)
	}
	boom := errors.New("boom")
	items := []*runtime.Image{image("a", 600), image("b", 600), image("c", 600)}
	err := Send(items, 1000, func([]*runtime.Image) error { calls++; return boom })
	if !errors.Is(err, boom) || calls != 1 {
		t.Fatalf("send error: %d sends, err %v; want 1 send and boom", calls, err)
	}
}
