//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	runtimeapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// podUIDLabel is the label kubelet puts on every sandbox and container.
const podUIDLabel = "io.kubernetes.pod.uid"

// criClient talks CRI to the runtime under test, the way kubelet does. The
// tests use it to look behind kubelet: which sandboxes and containers
// exist, which images are present, and to clean up at the end.
type criClient struct {
	conn    *grpc.ClientConn
	runtime runtimeapi.RuntimeServiceClient
	images  runtimeapi.ImageServiceClient
}

func dialCRI(socket string) (*criClient, error) {
	conn, err := grpc.NewClient("unix://"+socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, fmt.Errorf("dial CRI %s: %w", socket, err)
	}
	return &criClient{
		conn:    conn,
		runtime: runtimeapi.NewRuntimeServiceClient(conn),
		images:  runtimeapi.NewImageServiceClient(conn),
	}, nil
}

func (c *criClient) close() {
	if c != nil {
		_ = c.conn.Close()
	}
}

// criVersion makes one Version call on socket: the runtime's readiness.
func criVersion(ctx context.Context, socket string) error {
	c, err := dialCRI(socket)
	if err != nil {
		return err
	}
	defer c.close()
	ctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	_, err = c.runtime.Version(ctx, &runtimeapi.VersionRequest{})
	return err
}

// sandboxesOf lists the sandboxes of the pod with this UID, in any state.
func (c *criClient) sandboxesOf(ctx context.Context, podUID string) ([]*runtimeapi.PodSandbox, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.runtime.ListPodSandbox(ctx, &runtimeapi.ListPodSandboxRequest{
		Filter: &runtimeapi.PodSandboxFilter{LabelSelector: map[string]string{podUIDLabel: podUID}},
	})
	if err != nil {
		return nil, fmt.Errorf("list sandboxes of pod %s: %w", podUID, err)
	}
	return resp.Items, nil
}

// containersOf lists the containers of the pod with this UID, in any state.
func (c *criClient) containersOf(ctx context.Context, podUID string) ([]*runtimeapi.Container, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.runtime.ListContainers(ctx, &runtimeapi.ListContainersRequest{
		Filter: &runtimeapi.ContainerFilter{LabelSelector: map[string]string{podUIDLabel: podUID}},
	})
	if err != nil {
		return nil, fmt.Errorf("list containers of pod %s: %w", podUID, err)
	}
	return resp.Containers, nil
}

// imagePresent reports whether the runtime has image (ImageStatus answers an
// absent image with an empty response).
func (c *criClient) imagePresent(ctx context.Context, image string) (bool, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	resp, err := c.images.ImageStatus(ctx, &runtimeapi.ImageStatusRequest{Image: &runtimeapi.ImageSpec{Image: image}})
	if err != nil {
		return false, fmt.Errorf("image status %s: %w", image, err)
	}
	return resp.Image != nil, nil
}

// pullImage pulls image through the runtime.
func (c *criClient) pullImage(ctx context.Context, image string) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if _, err := c.images.PullImage(ctx, &runtimeapi.PullImageRequest{Image: &runtimeapi.ImageSpec{Image: image}}); err != nil {
		return fmt.Errorf("pull %s: %w", image, err)
	}
	return nil
}

// removeImage removes image from the runtime (no error when absent).
func (c *criClient) removeImage(ctx context.Context, image string) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	if _, err := c.images.RemoveImage(ctx, &runtimeapi.RemoveImageRequest{Image: &runtimeapi.ImageSpec{Image: image}}); err != nil {
		return fmt.Errorf("remove image %s: %w", image, err)
	}
	return nil
}

// removeAllPods stops and removes every sandbox the runtime has (the
// runtime tears down their networks and containers), for teardown.
func (c *criClient) removeAllPods(ctx context.Context) []error {
	lctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	resp, err := c.runtime.ListPodSandbox(lctx, &runtimeapi.ListPodSandboxRequest{})
	cancel()
	if err != nil {
		return []error{fmt.Errorf("list sandboxes: %w", err)}
	}
	var errs []error
	for _, s := range resp.Items {
		sctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		if _, err := c.runtime.StopPodSandbox(sctx, &runtimeapi.StopPodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			errs = append(errs, fmt.Errorf("stop sandbox %s: %w", s.Id, err))
		}
		if _, err := c.runtime.RemovePodSandbox(sctx, &runtimeapi.RemovePodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			errs = append(errs, fmt.Errorf("remove sandbox %s: %w", s.Id, err))
		}
		cancel()
	}
	return errs
}
