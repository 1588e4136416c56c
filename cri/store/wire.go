package store

import (
	"google.golang.org/protobuf/proto"
)

// WireForm returns an empty message of item's type that holds item's
// encoding as unknown fields, or false when item cannot be encoded (its
// sender then reports the error). The protobuf codec sends a wire form by
// copying those bytes, where encoding item goes through its label and
// annotation maps by reflection every time; a client decodes the same
// message from either. Cached list items are sent this way.
func WireForm[M proto.Message](item M) (M, bool) {
	data, err := proto.MarshalOptions{Deterministic: true}.Marshal(item)
	if err != nil {
		var zero M
		return zero, false
	}
	w := item.ProtoReflect().New()
	w.SetUnknown(data)
	return w.Interface().(M), true
}
