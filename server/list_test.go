package server

import (
	"context"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The poll calls as a client sees them must report exactly what the
// handlers return, though list items travel pre-encoded (see wireForm).
func TestPollCallsOverGRPC(t *testing.T) {
	f := newPollFixture(t, 20, 2)
	ctx := context.Background()
	running := &runtime.ContainerStateValue{State: runtime.ContainerState_CONTAINER_RUNNING}
	exited := &runtime.ContainerStateValue{State: runtime.ContainerState_CONTAINER_EXITED}
	for _, tc := range []struct {
		name   string
		filter *runtime.ContainerFilter
		want   int
	}{
		{"all", nil, 40},
		{"empty filter", &runtime.ContainerFilter{}, 40},
		{"id", &runtime.ContainerFilter{Id: f.ctrIDs[3]}, 1},
		{"id prefix", &runtime.ContainerFilter{Id: f.ctrIDs[3][:20]}, 1},
		{"unknown id", &runtime.ContainerFilter{Id: "ffff"}, 0},
		{"running", &runtime.ContainerFilter{State: running}, 40},
		{"exited", &runtime.ContainerFilter{State: exited}, 0},
		{"sandbox prefix", &runtime.ContainerFilter{PodSandboxId: f.sandboxIDs[5][:20]}, 2},
		{"labels", &runtime.ContainerFilter{LabelSelector: map[string]string{"io.kubernetes.container.name": "sidecar", "app": "web"}}, 20},
		{"labels and sandbox", &runtime.ContainerFilter{PodSandboxId: f.sandboxIDs[5], LabelSelector: map[string]string{"io.kubernetes.container.name": "app"}}, 1},
		{"label mismatch", &runtime.ContainerFilter{LabelSelector: map[string]string{"app": "db"}}, 0},
	} {
		req := &runtime.ListContainersRequest{Filter: tc.filter}
		got, err := f.client.ListContainers(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want, _ := f.srv.ListContainers(ctx, req)
		if len(got.Containers) != tc.want || !proto.Equal(got, want) {
			t.Errorf("ListContainers %s: got %d containers, want %d and the handler's response", tc.name, len(got.Containers), tc.want)
		}
		for _, c := range got.Containers {
			if c.Id == "" || len(c.Labels) != 5 || len(c.Annotations) != 5 || c.Metadata.GetName() == "" || c.Image.GetImage() == "" {
				t.Fatalf("ListContainers %s: incomplete item %v", tc.name, c)
			}
		}
	}

	ready := &runtime.PodSandboxStateValue{State: runtime.PodSandboxState_SANDBOX_READY}
	for _, tc := range []struct {
		name   string
		filter *runtime.PodSandboxFilter
		want   int
	}{
		{"all", nil, 20},
		{"id prefix", &runtime.PodSandboxFilter{Id: f.sandboxIDs[7][:20]}, 1},
		{"id prefix, not ready", &runtime.PodSandboxFilter{Id: f.sandboxIDs[7][:20], State: &runtime.PodSandboxStateValue{State: runtime.PodSandboxState_SANDBOX_NOTREADY}}, 0},
		{"ready", &runtime.PodSandboxFilter{State: ready}, 20},
		{"labels", &runtime.PodSandboxFilter{LabelSelector: map[string]string{"io.kubernetes.pod.namespace": "team-3"}}, 3},
	} {
		req := &runtime.ListPodSandboxRequest{Filter: tc.filter}
		got, err := f.client.ListPodSandbox(ctx, req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		want, _ := f.srv.ListPodSandbox(ctx, req)
		if len(got.Items) != tc.want || !proto.Equal(got, want) {
			t.Errorf("ListPodSandbox %s: got %d sandboxes, want %d and the handler's response", tc.name, len(got.Items), tc.want)
		}
	}

	for _, id := range []string{f.sandboxIDs[0], f.sandboxIDs[19][:16]} {
		for _, verbose := range []bool{false, true} {
			req := &runtime.PodSandboxStatusRequest{PodSandboxId: id, Verbose: verbose}
			got, err := f.client.PodSandboxStatus(ctx, req)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := f.srv.PodSandboxStatus(ctx, req)
			if !proto.Equal(got, want) || got.Status.Network.GetIp() == "" || (len(got.Info) == 1) != verbose {
				t.Errorf("PodSandboxStatus(%s, verbose %v) = %v, want %v", id, verbose, got, want)
			}
		}
	}
	for _, id := range []string{f.ctrIDs[0], f.ctrIDs[39][:16]} {
		req := &runtime.ContainerStatusRequest{ContainerId: id}
		got, err := f.client.ContainerStatus(ctx, req)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := f.srv.ContainerStatus(ctx, req)
		if !proto.Equal(got, want) || len(got.Status.Mounts) != 3 || got.Status.Resources.GetLinux() == nil {
			t.Errorf("ContainerStatus(%s) = %v, want %v", id, got, want)
		}
	}
	if _, err := f.client.ContainerStatus(ctx, &runtime.ContainerStatusRequest{ContainerId: "ffff"}); status.Code(err) != codes.NotFound {
		t.Errorf("ContainerStatus of an unknown ID: %v, want NotFound", err)
	}
	if _, err := f.client.PodSandboxStatus(ctx, &runtime.PodSandboxStatusRequest{PodSandboxId: "ffff"}); status.Code(err) != codes.NotFound {
		t.Errorf("PodSandboxStatus of an unknown ID: %v, want NotFound", err)
	}
}

// wireForm swaps the current list items for their wire forms and leaves
// any other item (here: one whose container was replaced meanwhile) as it
// is.
func TestWireForm(t *testing.T) {
	f := newPollFixture(t, 2, 2)
	ctx := context.Background()
	resp, _ := f.srv.ListContainers(ctx, &runtime.ListContainersRequest{})
	want := proto.Clone(resp)
	old, _ := f.containers.Get(f.ctrIDs[1])
	f.containers.AddForTest(old.Metadata(), old.Status())
	sent := f.srv.wireForm(resp).(*runtime.ListContainersResponse)
	for i, c := range sent.Containers {
		isWire := c.Id == "" && len(c.ProtoReflect().GetUnknown()) > 0
		if isWire == (i == 1) {
			t.Errorf("item %d: wire form %v", i, isWire)
		}
	}
	data, err := proto.Marshal(sent)
	if err != nil {
		t.Fatal(err)
	}
	got := &runtime.ListContainersResponse{}
	if err := proto.Unmarshal(data, got); err != nil || !proto.Equal(got, want) {
		t.Errorf("decoded %v, %v; want %v", got, err, want)
	}
}
