package server

import (
	"context"
	"strings"
	"testing"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestCheckpointRouting checks that a server without the checkpoint
// service answers Unimplemented to CheckpointContainer and to a
// CreateContainer whose image is an archive path (so the latter reaches
// restore, not the image lookup), while image names still reach Create.
func TestCheckpointRouting(t *testing.T) {
	f := newPollFixture(t, 1, 1)
	ctx := context.Background()
	_, err := f.client.CheckpointContainer(ctx, &runtime.CheckpointContainerRequest{ContainerId: f.ctrIDs[0], Location: "/tmp/cp.tar"})
	if status.Code(err) != codes.Unimplemented {
		t.Errorf("CheckpointContainer = %v, want Unimplemented", err)
	}
	create := func(image string) error {
		_, err := f.client.CreateContainer(ctx, &runtime.CreateContainerRequest{
			PodSandboxId: f.sandboxIDs[0],
			Config:       &runtime.ContainerConfig{Metadata: &runtime.ContainerMetadata{Name: "r"}, Image: &runtime.ImageSpec{Image: image}},
		})
		return err
	}
	if err := create("/var/lib/kubelet/checkpoints/cp.tar"); status.Code(err) != codes.Unimplemented || !strings.Contains(err.Error(), "checkpoint archive") {
		t.Errorf("CreateContainer from an archive path = %v, want Unimplemented", err)
	}
	if err := create("busybox"); status.Code(err) == codes.Unimplemented {
		t.Errorf("CreateContainer from an image = %v: routed to restore", err)
	}
}
