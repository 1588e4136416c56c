// Package listpage sends a list in pages for the CRI's Stream* calls
// (StreamContainers, StreamPodSandboxes, ...): the same items as the List*
// twin, cut so that no page's encoding comes near gRPC's message ceiling
// however many items there are and however large their labels and
// annotations. Pages are sized by encoded bytes, not by a count of items.
package listpage

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// DefaultLimit is the encoded size a page stays within: a quarter of the
// 16 MiB that kubelet and podshim accept in one message.
const DefaultLimit = 4 << 20

// Size is what one item adds to the encoding of its page: the item's
// encoding plus the field tag and length prefix of a repeated field.
func Size(item proto.Message) int {
	n := proto.Size(item)
	return protowire.SizeTag(1) + protowire.SizeBytes(n)
}

// Send calls send with consecutive pages of items, in order, each item in
// exactly one page. A page holds as many items as fit in limit encoded
// bytes (DefaultLimit when limit <= 0); an item larger than limit on its
// own goes alone in a page. No items means no page. Send stops at the
// first error send returns and returns it.
func Send[T proto.Message](items []T, limit int, send func(page []T) error) error {
	if limit <= 0 {
		limit = DefaultLimit
	}
	start, size := 0, 0
	for i, item := range items {
		n := Size(item)
		if i > start && size+n > limit {
			if err := send(items[start:i:i]); err != nil {
				return err
			}
			start, size = i, 0
		}
		size += n
	}
	if start < len(items) {
		return send(items[start:])
	}
	return nil
}
