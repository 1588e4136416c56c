package image

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/containerd/containerd/errdefs"
)

// store is the in-memory image index: the images podshim manages, by ID,
// and every containerd image name (tag ref, digest ref, ID) pointing at
// one of them. It mirrors containerd's image records and is updated right
// after each change made there, so reads never go to containerd.
//
// An image lives in the store while at least one containerd name points at
// it. Names move between images (a tag re-pulled after it moved upstream);
// an image whose last name went away is dropped.
type store struct {
	mu     sync.RWMutex
	images map[string]*entry // by ID ("sha256:<hex>")
	names  map[string]string // containerd image name -> ID
	ids    []string          // sorted IDs, for short-ID (prefix) lookup
}

// entry is one image and the containerd names pointing at it.
type entry struct {
	img   Image           // RepoTags, RepoDigests and Pinned derived from names
	names map[string]bool // name -> carries the pinned label
}

func newStore() *store {
	return &store{images: map[string]*entry{}, names: map[string]string{}}
}

// set records that containerd name now points at img. img carries the
// image's own data (ID, Config, Size, Target, ChainID); its name-derived
// fields are recomputed here. A name that pointed at another image is
// taken off that image first; set returns that image's ID when it was its
// last name, else "".
func (s *store) set(name string, img Image, pinned bool) (dropped string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if old, ok := s.names[name]; ok && old != img.ID {
		if s.unlink(name, old) {
			dropped = old
		}
	}
	e, ok := s.images[img.ID]
	if !ok {
		img.Config.Entrypoint = slices.Clip(img.Config.Entrypoint)
		img.Config.Cmd = slices.Clip(img.Config.Cmd)
		img.Config.Env = slices.Clip(img.Config.Env)
		e = &entry{img: img, names: map[string]bool{}}
		s.images[img.ID] = e
		s.addID(img.ID)
	}
	// containerd names never lose the pinned label (see setName), nor do
	// they here while they point at the same image.
	e.names[name] = e.names[name] || pinned
	s.names[name] = img.ID
	e.refresh()
	return dropped
}

// remove forgets containerd name. It returns the ID of the image it
// pointed at when that was the image's last name, else "".
func (s *store) remove(name string) (dropped string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := s.names[name]; ok && s.unlink(name, id) {
		return id
	}
	return ""
}

// unlink takes name off image id and drops the image when it was the
// last name, which it reports. The caller holds s.mu.
func (s *store) unlink(name, id string) bool {
	delete(s.names, name)
	e, ok := s.images[id]
	if !ok {
		return false
	}
	delete(e.names, name)
	if len(e.names) == 0 {
		delete(s.images, id)
		s.removeID(id)
		return true
	}
	e.refresh()
	return false
}

// refresh recomputes the name-derived fields. Slices are rebuilt, never
// changed in place, so Images handed out earlier stay valid.
func (e *entry) refresh() {
	var tags, digests []string
	pinned := false
	for name, p := range e.names {
		pinned = pinned || p
		switch kind := nameKind(name); kind {
		case kindTag:
			tags = append(tags, name)
		case kindDigest:
			digests = append(digests, name)
		}
	}
	sort.Strings(tags)
	sort.Strings(digests)
	e.img.RepoTags = slices.Clip(tags)
	e.img.RepoDigests = slices.Clip(digests)
	e.img.Pinned = pinned
}

// byID returns the image with full ID id.
func (s *store) byID(id string) (Image, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.images[id]
	if !ok {
		return Image{}, false
	}
	return e.img, true
}

// byName returns the image containerd name points at.
func (s *store) byName(name string) (Image, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	id, ok := s.names[name]
	if !ok {
		return Image{}, false
	}
	e, ok := s.images[id]
	if !ok {
		return Image{}, false
	}
	return e.img, true
}

// byPrefix returns the one image whose ID starts with prefix
// ("sha256:<start of hex>"). Several matches are an invalid (ambiguous)
// argument; none is not found.
func (s *store) byPrefix(prefix string) (Image, error) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	i := sort.SearchStrings(s.ids, prefix)
	if i == len(s.ids) || !strings.HasPrefix(s.ids[i], prefix) {
		return Image{}, errdefs.ErrNotFound
	}
	if i+1 < len(s.ids) && strings.HasPrefix(s.ids[i+1], prefix) {
		return Image{}, fmt.Errorf("short image ID %q matches several images: %w", prefix, errdefs.ErrInvalidArgument)
	}
	return s.images[s.ids[i]].img, nil
}

// namesOf returns the containerd names of image id: tags and digest refs
// sorted, the ID name (if any) last.
func (s *store) namesOf(id string) []string {
	s.mu.RLock()
	defer s.mu.RUnlock()
	e, ok := s.images[id]
	if !ok {
		return nil
	}
	var names []string
	for n := range e.names {
		if n != id {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if _, ok := e.names[id]; ok {
		names = append(names, id)
	}
	return names
}

// list returns every image, ordered by ID.
func (s *store) list() []Image {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Image, 0, len(s.ids))
	for _, id := range s.ids {
		out = append(out, s.images[id].img)
	}
	return out
}

func (s *store) addID(id string) {
	if i, found := slices.BinarySearch(s.ids, id); !found {
		s.ids = slices.Insert(s.ids, i, id)
	}
}

func (s *store) removeID(id string) {
	if i, found := slices.BinarySearch(s.ids, id); found {
		s.ids = slices.Delete(s.ids, i, i+1)
	}
}
