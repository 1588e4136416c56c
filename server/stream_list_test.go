package server

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/listpage"
)

// lastApplied is a kubectl last-applied-configuration annotation of about
// 3 KiB, as Deployments applied with kubectl carry on their pods.
func lastApplied(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, `{"apiVersion":"v1","kind":"Pod","metadata":{"name":"web-%d","labels":{"app":"web"}},"spec":{"containers":[`, i)
	for b.Len() < 3<<10 {
		fmt.Fprintf(&b, `{"name":"c%d","image":"registry.k8s.io/e2e-test-images/agnhost:2.52","args":["netexec","--http-port=8080"]},`, b.Len())
	}
	b.WriteString(`{}]}}`)
	return b.String()
}

// bigFixture serves 5000 containers in 1250 pods whose labels and
// annotations are kubelet's plus a last-applied-configuration: together
// more than the 16 MiB a message may have.
func bigFixture(t *testing.T) *pollFixture {
	n := 0
	return newFixture(t, 1250, 4, fixtureOptions{
		pod: func(c *runtime.PodSandboxConfig) {
			c.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = lastApplied(n)
			n++
		},
		container: func(c *runtime.ContainerConfig) {
			c.Annotations["kubectl.kubernetes.io/last-applied-configuration"] = lastApplied(n)
			n++
		},
	})
}

// collect receives a stream's pages until EOF, checks each page's encoded
// size against the default page limit and returns the items and the number
// of pages.
func collect[R proto.Message, T any](t *testing.T, recv func() (R, error), items func(R) []T) ([]T, int) {
	t.Helper()
	var out []T
	pages := 0
	for {
		r, err := recv()
		if errors.Is(err, io.EOF) {
			return out, pages
		}
		if err != nil {
			t.Fatalf("receive page %d: %v", pages+1, err)
		}
		pages++
		if n := proto.Size(r); n > listpage.DefaultLimit {
			t.Fatalf("page %d encodes to %d bytes, over the %d page limit", pages, n, listpage.DefaultLimit)
		}
		out = append(out, items(r)...)
	}
}

func TestStreamContainers5000(t *testing.T) {
	f := bigFixture(t)
	ctx := context.Background()

	// The List twin meets the ceiling: that is what streaming is for.
	_, err := f.client.ListContainers(ctx, &runtime.ListContainersRequest{}, grpc.MaxCallRecvMsgSize(64<<20))
	if status.Code(err) != codes.ResourceExhausted {
		t.Fatalf("ListContainers of 5000 big containers: %v, want ResourceExhausted (the fixture is too small to test paging)", err)
	}

	sidecar := map[string]string{"io.kubernetes.container.name": "sidecar"}
	for _, tc := range []struct {
		name     string
		filter   *runtime.ContainerFilter
		want     int
		minPages int
	}{
		{"all", nil, 5000, 5},
		{"label", &runtime.ContainerFilter{LabelSelector: sidecar}, 1250, 2},
		{"sandbox", &runtime.ContainerFilter{PodSandboxId: f.sandboxIDs[17][:16]}, 4, 1},
		{"id", &runtime.ContainerFilter{Id: f.ctrIDs[4321]}, 1, 1},
		{"exited", &runtime.ContainerFilter{State: &runtime.ContainerStateValue{State: runtime.ContainerState_CONTAINER_EXITED}}, 0, 0},
	} {
		st, err := f.client.StreamContainers(ctx, &runtime.StreamContainersRequest{Filter: tc.filter})
		if err != nil {
			t.Fatal(err)
		}
		got, pages := collect(t, st.Recv, (*runtime.StreamContainersResponse).GetContainers)
		want, err := f.srv.ListContainers(ctx, &runtime.ListContainersRequest{Filter: tc.filter})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != tc.want || len(want.Containers) != tc.want {
			t.Fatalf("%s: streamed %d containers, listed %d, want %d", tc.name, len(got), len(want.Containers), tc.want)
		}
		if pages < tc.minPages {
			t.Errorf("%s: %d pages, want at least %d", tc.name, pages, tc.minPages)
		}
		for i := range got {
			if !proto.Equal(got[i], want.Containers[i]) {
				t.Fatalf("%s: item %d differs: streamed %s, listed %s", tc.name, i, got[i].Id, want.Containers[i].Id)
			}
		}
		t.Logf("%s: %d containers in %d pages", tc.name, len(got), pages)
	}
}

func TestStreamPodSandboxesPaged(t *testing.T) {
	f := bigFixture(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name   string
		filter *runtime.PodSandboxFilter
		want   int
	}{
		{"all", nil, 1250},
		{"label", &runtime.PodSandboxFilter{LabelSelector: map[string]string{"io.kubernetes.pod.namespace": "team-3"}}, 179},
		{"id", &runtime.PodSandboxFilter{Id: f.sandboxIDs[99][:20]}, 1},
		{"notready", &runtime.PodSandboxFilter{State: &runtime.PodSandboxStateValue{State: runtime.PodSandboxState_SANDBOX_NOTREADY}}, 0},
	} {
		st, err := f.client.StreamPodSandboxes(ctx, &runtime.StreamPodSandboxesRequest{Filter: tc.filter})
		if err != nil {
			t.Fatal(err)
		}
		got, pages := collect(t, st.Recv, (*runtime.StreamPodSandboxesResponse).GetPodSandboxes)
		want, _ := f.srv.ListPodSandbox(ctx, &runtime.ListPodSandboxRequest{Filter: tc.filter})
		if len(got) != tc.want || len(want.Items) != tc.want {
			t.Fatalf("%s: streamed %d pods, listed %d, want %d", tc.name, len(got), len(want.Items), tc.want)
		}
		if tc.want == 1250 && pages < 2 {
			t.Errorf("%s: %d pages for %d pods with 3 KiB annotations, want at least 2", tc.name, pages, tc.want)
		}
		for i := range got {
			if !proto.Equal(got[i], want.Items[i]) {
				t.Fatalf("%s: item %d differs", tc.name, i)
			}
		}
	}
}
