package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// imageStatus returns the image ref names, or nil when it is absent; the
// call itself must succeed either way.
func imageStatus(t *testing.T, ref string) *criapi.Image {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := img().ImageStatus(ctx, &criapi.ImageStatusRequest{Image: &criapi.ImageSpec{Image: ref}})
	if err != nil {
		t.Fatalf("ImageStatus %s: %v (an absent image must be an OK response)", ref, err)
	}
	return resp.Image
}

func removeImage(t *testing.T, ref string) {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	if _, err := img().RemoveImage(ctx, &criapi.RemoveImageRequest{Image: &criapi.ImageSpec{Image: ref}}); err != nil {
		t.Fatalf("RemoveImage %s: %v", ref, err)
	}
}

func listImages(t *testing.T) []*criapi.Image {
	t.Helper()
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := img().ListImages(ctx, &criapi.ListImagesRequest{})
	if err != nil {
		t.Fatalf("ListImages: %v", err)
	}
	return resp.Images
}

// wantIDs returns the ID (config digest) and repo digest the registry's
// copy of name has.
func wantIDs(t *testing.T, name string) (id, repoDigest string) {
	t.Helper()
	i := env.images[name]
	cfg, err := i.ConfigName()
	if err != nil {
		t.Fatal(err)
	}
	manifest, err := i.Digest()
	if err != nil {
		t.Fatal(err)
	}
	repo, _, _ := strings.Cut(name, ":")
	return cfg.String(), repo + "@" + manifest.String()
}

// TestPullThroughMirror pulls docker.io names that resolve only through the
// hosts.toml mirror (the local plain-http registry) and checks what
// ImageStatus and ListImages then report.
func TestPullThroughMirror(t *testing.T) {
	id, repoDigest := wantIDs(t, pullTestImage)
	t.Cleanup(func() { removeImage(t, id) })
	if imageStatus(t, pullTestImage) != nil {
		t.Fatalf("%s is present before the pull", pullTestImage)
	}
	env.registry.ResetRequests()
	// The short name normalizes to docker.io/library/podshim-pulltest:1.
	ref := pullImage(t, "podshim-pulltest:1")
	if ref != id {
		t.Errorf("PullImage returned %q, want the image ID %s", ref, id)
	}
	if reqs := env.registry.Requests(); !slices.ContainsFunc(reqs, func(r string) bool {
		return strings.HasSuffix(r, " /v2/library/podshim-pulltest/manifests/1")
	}) {
		t.Errorf("the mirror saw no manifest request for library/podshim-pulltest:1; requests: %v", reqs)
	}

	for _, name := range []string{pullTestImage, "podshim-pulltest:1", id, id[len("sha256:"):], repoDigest} {
		got := imageStatus(t, name)
		if got == nil {
			t.Errorf("ImageStatus(%s) = absent after the pull", name)
			continue
		}
		if got.Id != id || !slices.Contains(got.RepoTags, pullTestImage) || !slices.Contains(got.RepoDigests, repoDigest) {
			t.Errorf("ImageStatus(%s) = id %s tags %v digests %v; want %s, %s, %s", name, got.Id, got.RepoTags, got.RepoDigests, id, pullTestImage, repoDigest)
		}
		if got.Username != "nobody" || got.Size == 0 {
			t.Errorf("ImageStatus(%s): username %q size %d, want the image's USER nobody and a size", name, got.Username, got.Size)
		}
	}

	var busybox, pause, pulled *criapi.Image
	for _, i := range listImages(t) {
		switch {
		case slices.Contains(i.RepoTags, busyboxImage):
			busybox = i
		case slices.Contains(i.RepoTags, pullTestImage):
			pulled = i
		case i.Pinned:
			pause = i
		}
	}
	bbID, bbDigest := wantIDs(t, busyboxImage)
	if busybox == nil || busybox.Id != bbID || !slices.Contains(busybox.RepoDigests, bbDigest) {
		t.Errorf("ListImages: busybox = %+v, want id %s digest %s", busybox, bbID, bbDigest)
	}
	if pulled == nil || pulled.Id != id {
		t.Errorf("ListImages: %s = %+v, want id %s", pullTestImage, pulled, id)
	}
	if pause == nil {
		t.Errorf("ListImages has no pinned (sandbox) image")
	}

	// A name the mirror does not have fails (and is not looked up anywhere
	// else: there is no other registry reachable).
	ctx, cancel := callCtx()
	defer cancel()
	if _, err := img().PullImage(ctx, &criapi.PullImageRequest{Image: &criapi.ImageSpec{Image: "docker.io/library/podshim-absent:1"}}); err == nil {
		t.Errorf("pulling an image the mirror does not hold succeeded")
	}
}

// TestImageStatusAbsent checks that absent images are OK responses with no
// image, whatever the form of the name.
func TestImageStatusAbsent(t *testing.T) {
	for _, ref := range []string{
		"docker.io/library/podshim-never-pulled:1",
		"podshim-never-pulled",
		"sha256:" + strings.Repeat("0", 64),
		"localhost:5999/nothing/here@sha256:" + strings.Repeat("1", 64),
	} {
		if got := imageStatus(t, ref); got != nil {
			t.Errorf("ImageStatus(%s) = %+v, want no image", ref, got)
		}
	}
	if got := imageStatus(t, busyboxImage); got == nil {
		t.Errorf("ImageStatus(%s) = absent, but the suite pulled it", busyboxImage)
	}
}

// TestRemoveImage removes an image by tag and by ID, and again when it is
// already gone.
func TestRemoveImage(t *testing.T) {
	id, repoDigest := wantIDs(t, pullTestImage)
	t.Cleanup(func() { removeImage(t, id) })

	pullImage(t, pullTestImage)
	removeImage(t, pullTestImage)
	for _, name := range []string{pullTestImage, id, repoDigest} {
		if got := imageStatus(t, name); got != nil {
			t.Errorf("after RemoveImage by tag: ImageStatus(%s) = %+v, want absent", name, got)
		}
	}
	removeImage(t, pullTestImage) // idempotent

	pullImage(t, pullTestImage)
	removeImage(t, id)
	for _, name := range []string{pullTestImage, id, repoDigest} {
		if got := imageStatus(t, name); got != nil {
			t.Errorf("after RemoveImage by ID: ImageStatus(%s) = %+v, want absent", name, got)
		}
	}
	removeImage(t, id) // idempotent
	removeImage(t, id)
	for _, i := range listImages(t) {
		if i.Id == id {
			t.Errorf("ListImages still lists the removed image %s: %+v", id, i)
		}
	}
	// The other images are untouched.
	if imageStatus(t, busyboxImage) == nil {
		t.Errorf("removing %s removed busybox too", pullTestImage)
	}
}

// TestRemoveImageRemovesImageFiles: a container's create copies its image's
// /etc/passwd and /etc/group once (podshimd's per-image cache); removing
// the image removes the copies.
func TestRemoveImageRemovesImageFiles(t *testing.T) {
	id, _ := wantIDs(t, pullTestImage)
	t.Cleanup(func() { removeImage(t, id) })
	pullImage(t, pullTestImage)
	copies := filepath.Join(env.dir, "podshimd", "state", "image-files", strings.ReplaceAll(id, ":", "-"))

	pod := podConfig(t)
	podID := runPod(t, pod)
	cfg := containerConfig(pod, "from-pull-test-image", "sh", "-c", "exit 0")
	cfg.Image = &criapi.ImageSpec{Image: pullTestImage}
	cfg.Linux.SecurityContext.RunAsUsername = "root" // resolved in the image's /etc/passwd
	createContainer(t, podID, pod, cfg)
	if _, err := os.Stat(filepath.Join(copies, "etc", "passwd")); err != nil {
		t.Fatalf("no copy of the image's /etc/passwd after a create: %v", err)
	}
	removePod(t, podID)

	removeImage(t, id)
	if _, err := os.Stat(copies); !os.IsNotExist(err) {
		t.Errorf("the image's copies are still there after RemoveImage (%v)", err)
	}
}
