package main

import (
	"context"
	"fmt"
	"time"

	"google.golang.org/protobuf/proto"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// referenceRows measures what every steady-state call pays whatever the
// runtime does, so that its figures can be read against them:
//
//   - Version, a CRI call that does no work: the gRPC round trip over the
//     unix socket, the floor of PodSandboxStatus and ContainerStatus;
//   - the size of the ListPodSandbox and ListContainers replies, and the
//     time the client (here, as in kubelet, grpc-go with protobuf-go) takes
//     to decode them: proto.Unmarshal of the same bytes, timed on its own.
func (b *Bench) referenceRows(ctx context.Context, sec string) error {
	rts := b.env.RTs
	var version pair
	for s := 0; s < b.opts.Samples; s++ {
		for _, i := range order(s) {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			t0 := time.Now()
			_, err := rts[i].RT.Version(cctx, &cri.VersionRequest{})
			d := time.Since(t0)
			cancel()
			if err != nil {
				return fmt.Errorf("%s: Version: %w", rts[i].Name, err)
			}
			version[i] = append(version[i], d)
		}
	}
	b.latency(sec, "reference: Version, a call that does no work (gRPC round trip)", version)

	replies := []struct {
		name  string
		fetch func(context.Context, *Runtime) (proto.Message, error)
		empty func() proto.Message
	}{
		{"ListPodSandbox", func(ctx context.Context, rt *Runtime) (proto.Message, error) {
			return rt.RT.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
		}, func() proto.Message { return &cri.ListPodSandboxResponse{} }},
		{"ListContainers", func(ctx context.Context, rt *Runtime) (proto.Message, error) {
			return rt.RT.ListContainers(ctx, &cri.ListContainersRequest{})
		}, func() proto.Message { return &cri.ListContainersResponse{} }},
	}
	for _, r := range replies {
		var sizes [2]float64
		var decode pair
		for i, rt := range rts {
			cctx, cancel := context.WithTimeout(ctx, callTimeout)
			resp, err := r.fetch(cctx, rt)
			cancel()
			if err != nil {
				return fmt.Errorf("%s: %s: %w", rt.Name, r.name, err)
			}
			data, err := proto.Marshal(resp)
			if err != nil {
				return err
			}
			sizes[i] = float64(len(data)) / 1024
			for s := 0; s < b.opts.Samples; s++ {
				out := r.empty()
				t0 := time.Now()
				if err := proto.Unmarshal(data, out); err != nil {
					return fmt.Errorf("%s: decode %s reply: %w", rt.Name, r.name, err)
				}
				decode[i] = append(decode[i], time.Since(t0))
			}
		}
		b.value(sec, "reference: "+r.name+" reply size", "KiB", sizes[0], sizes[1], "")
		b.latency(sec, "reference: "+r.name+" reply, client-side decode only (proto.Unmarshal)", decode)
	}
	logf("steady state: reference rows timed")
	return nil
}
