package cri

import (
	"context"
	"encoding/json"
	"strings"

	"github.com/podshim/podshim/cri/store"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/image"
)

// ToCRIStatus returns the container's CRI status. It is shared with
// other callers and must not be modified.
func (c *Container) ToCRIStatus() *runtime.ContainerStatus { return c.criView().status }

// criView is what the CRI reports of a container as of one Status: kubelet
// asks every second, a container's status changes a few times in its life.
// A view is never modified once built, so responses and events share it
// and gRPC encodes it concurrently.
type criView struct {
	from   Status // the status the view was built from
	item   *runtime.Container
	wire   *runtime.Container // item's wire form (nil if it has none)
	status *runtime.ContainerStatus
}

// criView returns the container's current view, building a new one when
// the status changed since the last.
func (c *Container) criView() *criView {
	st := c.Status()
	if v := c.view.Load(); v != nil && v.from == st {
		return v
	}
	v := newCRIView(&c.meta, st)
	c.view.Store(v)
	return v
}

func newCRIView(m *Metadata, st Status) *criView {
	resources := m.Config.GetLinux().GetResources()
	if st.Resources != nil {
		resources = st.Resources
	}
	img := &runtime.ImageSpec{Image: m.ImageName, Annotations: m.Config.GetImage().GetAnnotations()}
	v := &criView{
		from: st,
		item: &runtime.Container{
			Id:           m.ID,
			PodSandboxId: m.SandboxID,
			Metadata:     m.Config.GetMetadata(),
			Image:        img,
			ImageRef:     m.ImageRef,
			ImageId:      m.ImageID,
			State:        st.State,
			CreatedAt:    m.CreatedAt,
			Labels:       m.Config.GetLabels(),
			Annotations:  m.Config.GetAnnotations(),
		},
		status: &runtime.ContainerStatus{
			Id:          m.ID,
			Metadata:    m.Config.GetMetadata(),
			State:       st.State,
			CreatedAt:   m.CreatedAt,
			StartedAt:   st.StartedAt,
			FinishedAt:  st.FinishedAt,
			ExitCode:    st.ExitCode,
			Image:       img,
			ImageRef:    m.ImageRef,
			ImageId:     m.ImageID,
			Reason:      st.Reason,
			Message:     st.Message,
			Labels:      m.Config.GetLabels(),
			Annotations: m.Config.GetAnnotations(),
			Mounts:      m.Config.GetMounts(),
			LogPath:     m.LogPath,
			Resources:   &runtime.ContainerResources{Linux: resources},
		},
	}
	if w, ok := store.WireForm(v.item); ok {
		v.wire = w
	}
	return v
}

// WireListItem returns item's wire form (see store.WireForm), made once,
// when item is what ListCRI returns for a container at present, else nil.
func (s *Service) WireListItem(item *runtime.Container) *runtime.Container {
	c, ok := s.store.Lookup(item.GetId())
	if !ok {
		return nil
	}
	if v := c.view.Load(); v != nil && v.item == item {
		return v.wire
	}
	return nil
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

// ListCRI returns the containers that pass the filter, ordered by ID. The
// items are shared with other callers and must not be modified.
func (s *Service) ListCRI(f *runtime.ContainerFilter) []*runtime.Container {
	var candidates []*Container
	if id := f.GetId(); id != "" {
		c, err := s.store.Get(id)
		if err != nil {
			return nil
		}
		candidates = []*Container{c}
	} else {
		candidates = s.store.List()
	}
	out := make([]*runtime.Container, 0, len(candidates))
	for _, c := range candidates {
		if item := c.criView().item; matchesFilter(item, f) {
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
