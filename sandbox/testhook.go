package sandbox

// AddForTest stores a sandbox built from m and st without touching
// containerd, the network or the disk, so that tests and benchmarks of the
// layers above (the gRPC server) can fill the store. The sandbox has no
// pause container: only the in-memory calls (Get, List, the status and
// list conversions) work on it. The daemon never calls it.
func (s *Service) AddForTest(m Metadata, st Status) *Sandbox {
	sb := &Sandbox{meta: m, status: st}
	s.store.Add(m.ID, sb)
	return sb
}
