package checkpoint

import (
	"fmt"
	"strings"
	"time"

	"github.com/containerd/containerd/errdefs"
	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// BaseImage is the image the checkpointed container ran: its repo digest
// (or ID) when config.dump has one, else its name.
func (a *Archive) BaseImage() string {
	for _, ref := range []string{a.Config.RootfsImageRef, a.Config.RootfsImageName, a.Config.RootfsImage} {
		if ref != "" {
			return ref
		}
	}
	return ""
}

// RestoreConfig is the config of the container that restores a's
// checkpoint, built from the CreateContainer request's config req (whose
// image names the archive): the request's metadata, mounts, devices,
// resources and log path, which kubelet sets for the new container; the
// checkpointed container's base image; its command, working dir and
// environment from spec.dump when the request leaves them out; its labels
// and annotations from status.dump, overridden by the request's; and the
// annotations that mark a restored container. req is not changed.
func RestoreConfig(req *runtime.ContainerConfig, a *Archive) (*runtime.ContainerConfig, error) {
	if req == nil {
		return nil, fmt.Errorf("%w: config is required", errdefs.ErrInvalidArgument)
	}
	cfg := proto.Clone(req).(*runtime.ContainerConfig)
	if cfg.Metadata == nil {
		cfg.Metadata = &runtime.ContainerMetadata{}
	}
	if cfg.Metadata.Name == "" && a.Status != nil {
		cfg.Metadata.Name = a.Status.GetMetadata().GetName()
	}
	cfg.Image = &runtime.ImageSpec{Image: a.BaseImage()}
	if a.Status != nil && a.Status.GetImage().GetUserSpecifiedImage() != "" {
		cfg.Image.UserSpecifiedImage = a.Status.GetImage().GetUserSpecifiedImage()
	}
	p := a.Spec.Process
	if len(cfg.Command) == 0 && len(cfg.Args) == 0 {
		cfg.Command = append([]string(nil), p.Args...)
	}
	if cfg.WorkingDir == "" {
		cfg.WorkingDir = p.Cwd
	}
	if len(cfg.Envs) == 0 {
		for _, kv := range p.Env {
			k, v, _ := strings.Cut(kv, "=")
			cfg.Envs = append(cfg.Envs, &runtime.KeyValue{Key: k, Value: []byte(v)})
		}
	}
	cfg.Labels = merge(a.Status.GetLabels(), req.GetLabels())
	cfg.Annotations = merge(a.Status.GetAnnotations(), req.GetAnnotations())
	cfg.Annotations[AnnotationRestored] = "true"
	cfg.Annotations[AnnotationCheckpointedAt] = a.Config.CheckpointedAt.Format(time.RFC3339Nano)
	cfg.Annotations[AnnotationCheckpointImage] = req.GetImage().GetImage()
	return cfg, nil
}

// merge returns base with over's entries set on it (a new map).
func merge(base, over map[string]string) map[string]string {
	out := make(map[string]string, len(base)+len(over))
	for k, v := range base {
		out[k] = v
	}
	for k, v := range over {
		out[k] = v
	}
	return out
}
