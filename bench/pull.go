package main

import (
	"context"
	"fmt"
	"time"

	cri "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// pull runs workload 6: in each A/B round both runtimes pull the round's
// image (4 layers, ~50 MB, content no runtime has seen) from the local
// registry, then remove it again.
func (b *Bench) pull(ctx context.Context) error {
	var pulls pair
	for r, ref := range b.env.Images.Big {
		for _, i := range order(r) {
			rt := b.env.RTs[i]
			cctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
			t0 := time.Now()
			_, err := rt.Img.PullImage(cctx, &cri.PullImageRequest{Image: &cri.ImageSpec{Image: ref}})
			d := time.Since(t0)
			cancel()
			if err != nil {
				return fmt.Errorf("%s: pull %s: %w", rt.Name, ref, err)
			}
			pulls[i] = append(pulls[i], d)
			cctx, cancel = context.WithTimeout(ctx, time.Minute)
			_, err = rt.Img.RemoveImage(cctx, &cri.RemoveImageRequest{Image: &cri.ImageSpec{Image: ref}})
			cancel()
			if err != nil {
				return fmt.Errorf("%s: remove %s: %w", rt.Name, ref, err)
			}
		}
		logf("pull round %d/%d done", r+1, len(b.env.Images.Big))
	}
	sec := fmt.Sprintf("6. Image pull, cold, 4 layers, %.0f MB, local registry (%d per runtime)",
		float64(b.env.Images.BigSize)/1e6, len(b.env.Images.Big))
	b.latency(sec, "PullImage", pulls)
	return nil
}
