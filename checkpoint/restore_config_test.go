package checkpoint

import (
	"reflect"
	"testing"
	"time"

	"github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestRestoreConfig(t *testing.T) {
	at := time.Date(2026, 12, 5, 10, 0, 0, 0, time.UTC)
	a := &Archive{
		Config: ContainerConfig{ID: "old", RootfsImageName: "docker.io/library/busybox:1.36", RootfsImageRef: "docker.io/library/busybox@sha256:abc", CheckpointedAt: at},
		Spec:   specs.Spec{Process: &specs.Process{Args: []string{"sh", "-c", "sleep 1000"}, Env: []string{"PATH=/bin", "A=b=c"}, Cwd: "/work"}},
		Status: &runtime.ContainerStatus{
			Metadata:    &runtime.ContainerMetadata{Name: "app"},
			Image:       &runtime.ImageSpec{Image: "busybox:1.36", UserSpecifiedImage: "busybox:1.36"},
			Labels:      map[string]string{"io.kubernetes.pod.name": "old-pod", "app": "x"},
			Annotations: map[string]string{"io.kubernetes.container.hash": "1", "keep": "me"},
		},
	}
	req := &runtime.ContainerConfig{
		Metadata:    &runtime.ContainerMetadata{Name: "restored", Attempt: 2},
		Image:       &runtime.ImageSpec{Image: "/cp/app.tar"},
		LogPath:     "restored/0.log",
		Labels:      map[string]string{"io.kubernetes.pod.name": "new-pod"},
		Annotations: map[string]string{"io.kubernetes.container.hash": "2"},
	}
	cfg, err := RestoreConfig(req, a)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Metadata.Name != "restored" || cfg.Metadata.Attempt != 2 || cfg.LogPath != "restored/0.log" {
		t.Errorf("request's fields lost: %v", cfg)
	}
	if cfg.Image.Image != "docker.io/library/busybox@sha256:abc" || cfg.Image.UserSpecifiedImage != "busybox:1.36" {
		t.Errorf("image %v, want the base image by digest", cfg.Image)
	}
	if !reflect.DeepEqual(cfg.Command, []string{"sh", "-c", "sleep 1000"}) || cfg.WorkingDir != "/work" {
		t.Errorf("command %q cwd %q", cfg.Command, cfg.WorkingDir)
	}
	if len(cfg.Envs) != 2 || cfg.Envs[1].Key != "A" || string(cfg.Envs[1].Value) != "b=c" {
		t.Errorf("envs %v", cfg.Envs)
	}
	if !reflect.DeepEqual(cfg.Labels, map[string]string{"io.kubernetes.pod.name": "new-pod", "app": "x"}) {
		t.Errorf("labels %v", cfg.Labels)
	}
	wantAnn := map[string]string{"io.kubernetes.container.hash": "2", "keep": "me",
		AnnotationRestored: "true", AnnotationCheckpointedAt: "2026-12-05T10:00:00Z", AnnotationCheckpointImage: "/cp/app.tar"}
	if !reflect.DeepEqual(cfg.Annotations, wantAnn) {
		t.Errorf("annotations %v, want %v", cfg.Annotations, wantAnn)
	}
	if req.Image.Image != "/cp/app.tar" || len(req.Command) != 0 {
		t.Errorf("request changed: %v", req)
	}

	// The request's command, env and name win; without status.dump the
	// name comes from the request only.
	req2 := &runtime.ContainerConfig{Metadata: &runtime.ContainerMetadata{}, Image: &runtime.ImageSpec{Image: "/cp/app.tar"},
		Command: []string{"top"}, Envs: []*runtime.KeyValue{{Key: "X", Value: []byte("1")}}, WorkingDir: "/"}
	cfg, _ = RestoreConfig(req2, a)
	if cfg.Metadata.Name != "app" || !reflect.DeepEqual(cfg.Command, []string{"top"}) || len(cfg.Envs) != 1 || cfg.WorkingDir != "/" {
		t.Errorf("request's command/env/cwd or status name: %v", cfg)
	}
}
