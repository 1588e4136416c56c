//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestImagePullPolicy checks kubelet's imagePullPolicy through the runtime's
// image service, on the registry's request log: IfNotPresent with the image
// present does not contact the registry; Always resolves the image on every
// container start; Never with the image absent leaves the container waiting
// with ErrImageNeverPull; a :latest image without a policy behaves as Always.
func TestImagePullPolicy(t *testing.T) {
	h.timed(t)
	ctx := context.Background()
	reg := h.registry
	ifNotPresent := "docker.io/" + ifNotPresentRepo + ":1.0"
	always := "docker.io/" + alwaysRepo + ":1.0"
	noPolicy := "docker.io/" + noPolicyRepo + ":latest"
	never := "docker.io/" + neverRepo + ":1.0"

	// All images that should be present are pulled beforehand, so every
	// registry request after `since` (a mark in the registry's request log)
	// is one kubelet's policy caused.
	for _, img := range []string{ifNotPresent, always, noPolicy} {
		if err := h.cri.pullImage(ctx, img); err != nil {
			t.Fatal(err)
		}
	}
	if err := h.cri.removeImage(ctx, never); err != nil {
		t.Fatal(err)
	}
	if present, err := h.cri.imagePresent(ctx, never); err != nil || present {
		t.Fatalf("image %s should be absent: present=%v, %v", never, present, err)
	}
	since := reg.mark()

	// Each container exits after a second and is restarted (restartPolicy
	// Always), so there are several container starts to count.
	restarting := func(name, image, policy string) *podRef {
		return h.runPod(t, Pod{
			Metadata: ObjectMeta{Name: name},
			Spec: PodSpec{Containers: []Container{{
				Name:            "main",
				Image:           image,
				ImagePullPolicy: policy,
				Command:         shell("sleep 1"),
			}}},
		})
	}
	ifNotPresentPod := restarting("pull-ifnotpresent", ifNotPresent, "IfNotPresent")
	alwaysPod := restarting("pull-always", always, "Always")
	noPolicyPod := restarting("pull-latest-default", noPolicy, "")
	neverPod := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "pull-never"},
		Spec: PodSpec{Containers: []Container{{
			Name:            "main",
			Image:           never,
			ImagePullPolicy: "Never",
			Command:         shell("sleep 3600"),
		}}},
	})

	// starts waits for the pod's container to have started at least n times
	// and returns how many times it has.
	starts := func(t *testing.T, p *podRef, n int) int {
		pod := p.waitFor(t, 60*time.Second, fmt.Sprintf("%d container starts", n), func(p *Pod) error {
			m := p.Status.container("main")
			if m == nil || m.RestartCount+1 < n {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		return pod.Status.container("main").RestartCount + 1
	}
	// resolvesAtLeast waits until repo's manifest was requested at least
	// n times since the pods were written.
	resolvesAtLeast := func(t *testing.T, repo string, n int) {
		waitUntil(t, 20*time.Second, fmt.Sprintf("%d manifest requests for %s", n, repo), func() error {
			if got := reg.manifestRequests(repo, since); got < n {
				return fmt.Errorf("%d requests: %v", got, reg.requestsFor(repo, since))
			}
			return nil
		})
	}

	var wg sync.WaitGroup
	run := func(name string, f func(t *testing.T)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t.Run(name, f)
		}()
	}
	run("IfNotPresent-present", func(t *testing.T) {
		n := starts(t, ifNotPresentPod, 2)
		// kubelet 1.35 and later verify, once, that a pod may use an image
		// that kubelet neither pulled itself nor found at its own start
		// (imagePullCredentialsVerificationPolicy NeverVerifyPreloadedImages,
		// the default): one resolve of the manifest and no blob. Earlier
		// kubelets make no request at all. containerd 2.4's CRI behaves the
		// same under the same kubelet.
		wantResolves := 0
		if h.kubeletMinor(t) >= 35 {
			wantResolves = 1
		}
		requests := reg.requestsFor(ifNotPresentRepo, since)
		if got := reg.manifestRequests(ifNotPresentRepo, since); got != wantResolves || len(requests) != got {
			t.Errorf("%d container starts with the image present made %d registry requests (%d manifest), want %d manifest requests and nothing else: %v",
				n, len(requests), got, wantResolves, requests)
		}
	})
	run("Always", func(t *testing.T) {
		n := starts(t, alwaysPod, 2)
		// One resolve per start, also for the starts after the first.
		resolvesAtLeast(t, alwaysRepo, n)
	})
	run("latest-without-policy", func(t *testing.T) {
		p := noPolicyPod.waitFor(t, 30*time.Second, "the pod", func(p *Pod) error { return nil })
		if got := p.Spec.Containers[0].ImagePullPolicy; got != "Always" {
			t.Errorf("kubelet defaulted imagePullPolicy of a :latest image to %q, want Always", got)
		}
		n := starts(t, noPolicyPod, 2)
		resolvesAtLeast(t, noPolicyRepo, n)
	})
	run("Never-absent", func(t *testing.T) {
		p := neverPod.waitFor(t, 30*time.Second, "ErrImageNeverPull", func(p *Pod) error {
			m := p.Status.container("main")
			if m == nil || m.State.Waiting == nil || m.State.Waiting.Reason != "ErrImageNeverPull" {
				return fmt.Errorf("not yet")
			}
			return nil
		})
		if p.Status.Phase != "Pending" {
			t.Errorf("phase %q, want Pending", p.Status.Phase)
		}
		if !strings.Contains(p.Status.container("main").State.Waiting.Message, never) {
			t.Errorf("waiting message %q does not name the image", p.Status.container("main").State.Waiting.Message)
		}
		// It stays so: kubelet never pulls it.
		holdsFor(t, 3*time.Second, "still waiting, nothing pulled", func() error {
			if got := reg.requestsFor(neverRepo, since); len(got) != 0 {
				return fmt.Errorf("registry contacted: %v", got)
			}
			p, err := neverPod.get()
			if err != nil || p == nil {
				return fmt.Errorf("pod gone: %v", err)
			}
			if m := p.Status.container("main"); m.State.Waiting == nil || m.State.Waiting.Reason != "ErrImageNeverPull" {
				return fmt.Errorf("status changed: %s", statusJSON(p))
			}
			return nil
		})
	})
	wg.Wait()
}
