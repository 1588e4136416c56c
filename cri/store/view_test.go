package store

import (
	"testing"

	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestViewsRebuildOnlyWhenTheStatusChanges(t *testing.T) {
	var vs Views[int, *runtime.PodSandbox, string]
	builds := 0
	build := func(st int) func() (*runtime.PodSandbox, string) {
		return func() (*runtime.PodSandbox, string) {
			builds++
			return &runtime.PodSandbox{Id: "sb", State: runtime.PodSandboxState(st)}, "status"
		}
	}
	v1 := vs.Get(0, build(0))
	if again := vs.Get(0, build(0)); again != v1 || builds != 1 {
		t.Fatalf("same status: view rebuilt (builds %d)", builds)
	}
	if w, ok := vs.Wire(v1.Item); !ok || w == v1.Item || !proto.Equal(decodeSandbox(t, w), v1.Item) {
		t.Errorf("wire form of the current item: %v, %v", w, ok)
	}
	v2 := vs.Get(1, build(1))
	if v2 == v1 || builds != 2 || v2.Item.State != runtime.PodSandboxState_SANDBOX_NOTREADY {
		t.Fatalf("changed status: got the old view (builds %d)", builds)
	}
	if _, ok := vs.Wire(v1.Item); ok {
		t.Error("a stale item got a wire form")
	}
}

func decodeSandbox(t *testing.T, m *runtime.PodSandbox) *runtime.PodSandbox {
	t.Helper()
	data, err := proto.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	var out runtime.PodSandbox
	if err := proto.Unmarshal(data, &out); err != nil {
		t.Fatal(err)
	}
	return &out
}
