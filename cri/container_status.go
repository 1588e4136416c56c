package cri

import (
	"context"
	"encoding/json"
	"strings"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/image"
)

// ToCRIStatus returns the container's CRI status.
func (c *Container) ToCRIStatus() *runtime.ContainerStatus {
	st := c.Status()
	m := c.meta
	resources := m.Config.GetLinux().GetResources()
	if st.Resources != nil {
		resources = st.Resources
	}
	return &runtime.ContainerStatus{
		Id:          m.ID,
		Metadata:    m.Config.GetMetadata(),
		State:       st.State,
		CreatedAt:   m.CreatedAt,
		StartedAt:   st.StartedAt,
		FinishedAt:  st.FinishedAt,
		ExitCode:    st.ExitCode,
		Image:       &runtime.ImageSpec{Image: m.ImageName, Annotations: m.Config.GetImage().GetAnnotations()},
		ImageRef:    m.ImageRef,
		ImageId:     m.ImageID,
		Reason:      st.Reason,
		Message:     st.Message,
		Labels:      m.Config.GetLabels(),
		Annotations: m.Config.GetAnnotations(),
		Mounts:      m.Config.GetMounts(),
		LogPath:     m.LogPath,
		Resources:   &runtime.ContainerResources{Linux: resources},
	}
}

// Info is the verbose status (`crictl inspect`).
func (s *Service) Info(ctx context.Context, c *Container) map[string]string {
	st := c.Status()
	info := map[string]interface{}{
		"sandboxID": c.meta.SandboxID,
		"pid":       st.Pid,
		"removing":  st.Removing,
		"config":    c.meta.Config,
	}
	if sp, err := c.loadSpec(ctx); err == nil {
		info["runtimeSpec"] = sp
	}
	data, _ := json.Marshal(info)
	return map[string]string{"info": string(data)}
}

func (c *Container) toCRIListItem() *runtime.Container {
	st := c.Status()
	m := c.meta
	return &runtime.Container{
		Id:           m.ID,
		PodSandboxId: m.SandboxID,
		Metadata:     m.Config.GetMetadata(),
		Image:        &runtime.ImageSpec{Image: m.ImageName, Annotations: m.Config.GetImage().GetAnnotations()},
		ImageRef:     m.ImageRef,
		ImageId:      m.ImageID,
		State:        st.State,
		CreatedAt:    m.CreatedAt,
		Labels:       m.Config.GetLabels(),
		Annotations:  m.Config.GetAnnotations(),
	}
}

// ListCRI returns the containers that pass the filter.
func (s *Service) ListCRI(f *runtime.ContainerFilter) []*runtime.Container {
	var out []*runtime.Container
	candidates := s.store.List()
	if id := f.GetId(); id != "" {
		c, err := s.store.Get(id)
		if err != nil {
			return nil
		}
		candidates = []*Container{c}
	}
	for _, c := range candidates {
		item := c.toCRIListItem()
		if matchesFilter(item, f) {
			out = append(out, item)
		}
	}
	return out
}

func matchesFilter(c *runtime.Container, f *runtime.ContainerFilter) bool {
	if f == nil {
		return true
	}
	if st := f.GetState(); st != nil && c.State != st.State {
		return false
	}
	if sb := f.GetPodSandboxId(); sb != "" && !strings.HasPrefix(c.PodSandboxId, sb) {
		return false
	}
	for k, v := range f.GetLabelSelector() {
		if got, ok := c.Labels[k]; !ok || got != v {
			return false
		}
	}
	return true
}

// imageName is the image a container reports: what the user asked for
// when it names the image, else the image's first tag, else its ID.
func imageName(requested string, img image.Image) string {
	if !strings.HasPrefix(requested, "sha256:") && !isHexID(requested) {
		return requested
	}
	if len(img.RepoTags) > 0 {
		return img.RepoTags[0]
	}
	return img.ID
}

// imageRef is the image reference a container reports: a repo digest when
// the image has one, else its ID.
func imageRef(img image.Image) string {
	if len(img.RepoDigests) > 0 {
		return img.RepoDigests[0]
	}
	return img.ID
}

func isHexID(s string) bool {
	if len(s) < 12 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdef", r) {
			return false
		}
	}
	return true
}
