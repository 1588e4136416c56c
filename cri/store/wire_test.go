package store

import (
	"testing"

	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestWireFormDecodesAsTheItem(t *testing.T) {
	item := &runtime.Container{
		Id:          "c1",
		Metadata:    &runtime.ContainerMetadata{Name: "web", Attempt: 2},
		State:       runtime.ContainerState_CONTAINER_RUNNING,
		Labels:      map[string]string{"b": "2", "a": "1"},
		Annotations: map[string]string{"io.kubernetes.container.hash": "abc"},
	}
	w, ok := WireForm(item)
	if !ok {
		t.Fatal("no wire form")
	}
	if w.Id != "" || w.Labels != nil {
		t.Errorf("wire form has fields set: %v", w)
	}
	data, err := proto.Marshal(&runtime.ListContainersResponse{Containers: []*runtime.Container{w}})
	if err != nil {
		t.Fatal(err)
	}
	var got runtime.ListContainersResponse
	if err := proto.Unmarshal(data, &got); err != nil {
		t.Fatal(err)
	}
	if len(got.Containers) != 1 || !proto.Equal(got.Containers[0], item) {
		t.Errorf("decoded %v, want %v", got.Containers, item)
	}

	if _, ok := WireForm(&runtime.Container{Id: "\xff"}); ok {
		t.Error("an item with invalid UTF-8 got a wire form")
	}
}
