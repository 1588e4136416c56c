package cri

// AddForTest stores a container built from m and st without touching
// containerd or the disk, so that tests and benchmarks of the layers above
// (the gRPC server) can fill the store. The container has no containerd
// container or task: only the in-memory calls (Get, the status and list
// conversions, ListCRI) work on it. The daemon never calls it.
func (s *Service) AddForTest(m Metadata, st Status) *Container {
	c := &Container{meta: m, status: st}
	s.store.Add(m.ID, c)
	return c
}
