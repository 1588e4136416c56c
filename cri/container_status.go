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
func (c *Container) ToCRIStatus() *runtime.ContainerStatus { return c.criView().Status }

// criView is what the CRI reports of the container as of its current
// status (see store.Views).
type criView = store.View[Status, *runtime.Container, *runtime.ContainerStatus]

// criView returns the container's current view.
func (c *Container) criView() *criView {
	st := c.Status()
	return c.view.Get(st, func() (*runtime.Container, *runtime.ContainerStatus) { return criObjects(&c.meta, st) })
}

// criObjects builds the container's list item and status reply.
func criObjects(m *Metadata, st Status) (*runtime.Container, *runtime.ContainerStatus) {
	resources := m.Config.GetLinux().GetResources()
	if st.Resources != nil {
		resources = st.Resources
	}
	img := &runtime.ImageSpec{Image: m.ImageName, Annotations: m.Config.GetImage().GetAnnotations()}
	item := &runtime.Container{
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
	}
	status := &runtime.ContainerStatus{
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
		User:        containerUser(m),
	}
	return item, status
}

// WireListItem returns item's wire form (see store.WireForm) when item is
// what ListCRI returns for a container at present, else nil.
func (s *Service) WireListItem(item *runtime.Container) *runtime.Container {
	c, ok := s.store.Lookup(item.GetId())
	if !ok {
		return nil
	}
	w, _ := c.view.Wire(item)
	return w
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
		if item := c.criView().Item; matchesFilter(item, f) {
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

// containerUser is the identity of the container's first process, as the
// spec sets it (ids inside the container's user namespace, as kubelet
// reports them): uid, primary gid and every supplementary group.
func containerUser(m *Metadata) *runtime.ContainerUser {
	if m.User == nil {
		return nil
	}
	groups := make([]int64, 0, len(m.User.AdditionalGids))
	for _, g := range m.User.AdditionalGids {
		groups = append(groups, int64(g))
	}
	return &runtime.ContainerUser{Linux: &runtime.LinuxContainerUser{
		Uid: int64(m.User.UID), Gid: int64(m.User.GID), SupplementalGroups: groups,
	}}
}
