package integration

import (
	"context"
	"errors"
	"io"
	"testing"

	"google.golang.org/protobuf/proto"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// drain receives a stream's pages until EOF and returns their items.
func drain[R any, T any](t *testing.T, what string, recv func() (R, error), items func(R) []T) []T {
	t.Helper()
	var out []T
	for {
		r, err := recv()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		out = append(out, items(r)...)
	}
}

// sameItems fails t unless got and want hold equal messages in one order.
func sameItems[T proto.Message](t *testing.T, what string, got, want []T) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: streamed %d items, listed %d", what, len(got), len(want))
	}
	for i := range got {
		if !proto.Equal(got[i], want[i]) {
			t.Fatalf("%s: item %d differs:\nstreamed %v\nlisted   %v", what, i, got[i], want[i])
		}
	}
}

// podsWithContainers runs n pods with two running containers each and an
// exited one in the first pod; it returns the pods' IDs and configs and the
// containers' IDs by pod.
func podsWithContainers(t *testing.T, n int) ([]string, []*criapi.PodSandboxConfig, [][]string) {
	t.Helper()
	pullImage(t, busyboxImage)
	var ids []string
	var cfgs []*criapi.PodSandboxConfig
	var ctrs [][]string
	for i := 0; i < n; i++ {
		cfg := podConfig(t)
		id := runPod(t, cfg)
		var cs []string
		for _, name := range []string{"app", "sidecar"} {
			cs = append(cs, runContainer(t, id, cfg, containerConfig(cfg, name, "sleep", "3600")))
		}
		if i == 0 {
			done := runContainer(t, id, cfg, containerConfig(cfg, "done", "true"))
			waitExited(t, done, callTimeout)
			cs = append(cs, done)
		}
		ids, cfgs, ctrs = append(ids, id), append(cfgs, cfg), append(ctrs, cs)
	}
	return ids, cfgs, ctrs
}

// TestStreamListsMatchListCalls compares each Stream* call with its List*
// twin, item for item, with and without filters, on real pods.
func TestStreamListsMatchListCalls(t *testing.T) {
	pods, cfgs, ctrs := podsWithContainers(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	podLabel := map[string]string{"io.kubernetes.pod.name": cfgs[1].Metadata.Name}
	sidecar := map[string]string{"io.kubernetes.container.name": "sidecar"}

	for _, f := range []*criapi.PodSandboxFilter{
		nil, {Id: pods[1]}, {Id: pods[2][:13]}, {LabelSelector: podLabel},
		{State: &criapi.PodSandboxStateValue{State: criapi.PodSandboxState_SANDBOX_READY}},
	} {
		want, err := rt().ListPodSandbox(ctx, &criapi.ListPodSandboxRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		st, err := rt().StreamPodSandboxes(ctx, &criapi.StreamPodSandboxesRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, "StreamPodSandboxes", st.Recv, (*criapi.StreamPodSandboxesResponse).GetPodSandboxes)
		sameItems(t, "StreamPodSandboxes "+f.String(), got, want.Items)
		if f != nil && f.LabelSelector != nil && len(got) != 1 {
			t.Fatalf("StreamPodSandboxes %v: %d pods, want 1", f, len(got))
		}
		if f == nil && len(got) < 3 {
			t.Fatalf("StreamPodSandboxes: %d pods, want at least the test's 3", len(got))
		}
	}

	for _, f := range []*criapi.ContainerFilter{
		nil, {Id: ctrs[0][2]}, {PodSandboxId: pods[0]}, {LabelSelector: sidecar},
		{State: &criapi.ContainerStateValue{State: criapi.ContainerState_CONTAINER_EXITED}},
		{PodSandboxId: pods[1], LabelSelector: sidecar, State: &criapi.ContainerStateValue{State: criapi.ContainerState_CONTAINER_RUNNING}},
	} {
		want, err := rt().ListContainers(ctx, &criapi.ListContainersRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		st, err := rt().StreamContainers(ctx, &criapi.StreamContainersRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, "StreamContainers", st.Recv, (*criapi.StreamContainersResponse).GetContainers)
		sameItems(t, "StreamContainers "+f.String(), got, want.Containers)
		if f != nil && f.PodSandboxId == pods[0] && len(got) != 3 {
			t.Fatalf("StreamContainers of pod 0: %d containers, want 3", len(got))
		}
	}

	// Stats change between two calls: the same items, with equal
	// attributes, and CPU and memory where the list has them.
	for _, f := range []*criapi.ContainerStatsFilter{nil, {Id: ctrs[1][0]}, {PodSandboxId: pods[2]}, {LabelSelector: sidecar}} {
		want, err := rt().ListContainerStats(ctx, &criapi.ListContainerStatsRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		st, err := rt().StreamContainerStats(ctx, &criapi.StreamContainerStatsRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, "StreamContainerStats", st.Recv, (*criapi.StreamContainerStatsResponse).GetContainerStats)
		if len(got) != len(want.Stats) || len(got) == 0 {
			t.Fatalf("StreamContainerStats %v: streamed %d, listed %d", f, len(got), len(want.Stats))
		}
		for i := range got {
			if !proto.Equal(got[i].Attributes, want.Stats[i].Attributes) || (got[i].Cpu == nil) != (want.Stats[i].Cpu == nil) || (got[i].Memory == nil) != (want.Stats[i].Memory == nil) {
				t.Fatalf("StreamContainerStats %v: item %d differs:\nstreamed %v\nlisted   %v", f, i, got[i], want.Stats[i])
			}
		}
	}
	for _, f := range []*criapi.PodSandboxStatsFilter{nil, {Id: pods[0]}, {LabelSelector: podLabel}} {
		want, err := rt().ListPodSandboxStats(ctx, &criapi.ListPodSandboxStatsRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		st, err := rt().StreamPodSandboxStats(ctx, &criapi.StreamPodSandboxStatsRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, "StreamPodSandboxStats", st.Recv, (*criapi.StreamPodSandboxStatsResponse).GetPodSandboxStats)
		if len(got) != len(want.Stats) || len(got) == 0 {
			t.Fatalf("StreamPodSandboxStats %v: streamed %d, listed %d", f, len(got), len(want.Stats))
		}
		for i := range got {
			g, w := got[i], want.Stats[i]
			if !proto.Equal(g.Attributes, w.Attributes) || len(g.Linux.GetContainers()) != len(w.Linux.GetContainers()) || (g.Linux.GetCpu() == nil) != (w.Linux.GetCpu() == nil) {
				t.Fatalf("StreamPodSandboxStats %v: item %d differs:\nstreamed %v\nlisted   %v", f, i, g, w)
			}
		}
	}

	for _, f := range []*criapi.ImageFilter{nil, {Image: &criapi.ImageSpec{Image: busyboxImage}}, {Image: &criapi.ImageSpec{Image: "docker.io/library/absent:1"}}} {
		want, err := img().ListImages(ctx, &criapi.ListImagesRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		st, err := img().StreamImages(ctx, &criapi.StreamImagesRequest{Filter: f})
		if err != nil {
			t.Fatal(err)
		}
		got := drain(t, "StreamImages", st.Recv, (*criapi.StreamImagesResponse).GetImages)
		sameItems(t, "StreamImages "+f.String(), got, want.Images)
		if f != nil && f.Image.Image == busyboxImage && len(got) != 1 {
			t.Fatalf("StreamImages %s: %d images, want 1", busyboxImage, len(got))
		}
	}
}
