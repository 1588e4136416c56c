package cri

import (
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestContainerStatusUser(t *testing.T) {
	m := &Metadata{ID: "c1", Config: &runtime.ContainerConfig{Metadata: &runtime.ContainerMetadata{Name: "app"}},
		User: &specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{1000, 1234, 50000}}}
	_, st := criObjects(m, Status{State: runtime.ContainerState_CONTAINER_RUNNING})
	want := &runtime.ContainerUser{Linux: &runtime.LinuxContainerUser{Uid: 1000, Gid: 1000, SupplementalGroups: []int64{1000, 1234, 50000}}}
	if !proto.Equal(st.User, want) {
		t.Fatalf("user %v, want %v", st.User, want)
	}
	m.User = nil
	if _, st := criObjects(m, Status{}); st.User != nil {
		t.Fatalf("user %v for a container without a recorded user", st.User)
	}
}
