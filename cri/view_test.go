package cri

import (
	"sync"
	"testing"

	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/cri/store"
)

func testContainer(t *testing.T, s *Service, id string) *Container {
	t.Helper()
	c := s.AddForTest(Metadata{
		ID: id, SandboxID: "sb1", ImageName: "busybox", ImageRef: "docker.io/library/busybox@sha256:00", ImageID: "sha256:01", CreatedAt: 1,
		Config: &runtime.ContainerConfig{
			Metadata:    &runtime.ContainerMetadata{Name: "app"},
			Labels:      map[string]string{"io.kubernetes.container.name": "app"},
			Annotations: map[string]string{"io.kubernetes.container.restartCount": "0"},
			Linux:       &runtime.LinuxContainerConfig{Resources: &runtime.LinuxContainerResources{CpuShares: 2}},
		},
	}, Status{State: runtime.ContainerState_CONTAINER_CREATED})
	c.dir = t.TempDir()
	return c
}

// decodeWire is what a client decodes from a list item's wire form.
func decodeWire(t *testing.T, w *runtime.Container) *runtime.Container {
	t.Helper()
	data, err := proto.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	got := &runtime.Container{}
	if err := proto.Unmarshal(data, got); err != nil {
		t.Fatal(err)
	}
	return got
}

// The cached CRI objects follow every status change, and a list item's
// wire form is handed out only while the item is current.
func TestViewFollowsStatus(t *testing.T) {
	s := &Service{store: store.New[*Container]("container")}
	c := testContainer(t, s, "c1")

	item := s.ListCRI(nil)[0]
	if again := s.ListCRI(nil)[0]; again != item || c.ToCRIStatus() != c.ToCRIStatus() {
		t.Error("an unchanged container's CRI objects are built again")
	}
	w := s.WireListItem(item)
	if w == nil || !proto.Equal(decodeWire(t, w), item) {
		t.Fatalf("wire form of %v decodes differently", item)
	}

	if err := c.update(func(st *Status) {
		st.State, st.StartedAt, st.Pid = runtime.ContainerState_CONTAINER_RUNNING, 5, 42
	}); err != nil {
		t.Fatal(err)
	}
	if st := c.ToCRIStatus(); st.State != runtime.ContainerState_CONTAINER_RUNNING || st.StartedAt != 5 {
		t.Errorf("status after start = %v", st)
	}
	if s.WireListItem(item) != nil {
		t.Error("the wire form of a stale item is handed out")
	}
	item = s.ListCRI(&runtime.ContainerFilter{State: &runtime.ContainerStateValue{State: runtime.ContainerState_CONTAINER_RUNNING}})[0]
	if w := s.WireListItem(item); w == nil || decodeWire(t, w).State != runtime.ContainerState_CONTAINER_RUNNING {
		t.Error("the wire form does not follow the state")
	}

	if err := c.update(func(st *Status) { st.Resources = &runtime.LinuxContainerResources{CpuShares: 512} }); err != nil {
		t.Fatal(err)
	}
	if got := c.ToCRIStatus().Resources.Linux.CpuShares; got != 512 {
		t.Errorf("resources after update: cpu shares %d", got)
	}

	if err := c.update(func(st *Status) {
		st.State, st.FinishedAt, st.ExitCode, st.Reason, st.Message = runtime.ContainerState_CONTAINER_EXITED, 9, 137, "OOMKilled", "out of memory"
	}); err != nil {
		t.Fatal(err)
	}
	st := c.ToCRIStatus()
	if st.State != runtime.ContainerState_CONTAINER_EXITED || st.FinishedAt != 9 || st.ExitCode != 137 || st.Reason != "OOMKilled" || st.Message != "out of memory" || st.StartedAt != 5 {
		t.Errorf("status after exit = %v", st)
	}
	if got := s.ListCRI(&runtime.ContainerFilter{State: &runtime.ContainerStateValue{State: runtime.ContainerState_CONTAINER_RUNNING}}); len(got) != 0 {
		t.Errorf("running containers after exit: %v", got)
	}
}

// Responses share the cached objects: encoding them while statuses change
// must be race-free (run with -race).
func TestViewConcurrentUse(t *testing.T) {
	s := &Service{store: store.New[*Container]("container")}
	cs := []*Container{testContainer(t, s, "c1"), testContainer(t, s, "c2")}
	var wg sync.WaitGroup
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				for _, item := range s.ListCRI(nil) {
					if w := s.WireListItem(item); w != nil {
						_, _ = proto.Marshal(w)
					}
					_, _ = proto.Marshal(item)
				}
				_, _ = proto.Marshal(cs[i%2].ToCRIStatus())
			}
		}()
	}
	for i := 0; i < 200; i++ {
		_ = cs[i%2].update(func(st *Status) { st.Pid = uint32(i) })
	}
	wg.Wait()
}
