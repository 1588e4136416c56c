package stats

import (
	"io/fs"
	"path/filepath"
	"syscall"
)

// DirUsage returns the bytes (allocated blocks) and inodes used below dir,
// counting hard-linked files once. It is how a container's writable layer
// (its overlay upper dir) is measured.
func DirUsage(dir string) (bytes, inodes uint64, err error) {
	seen := map[uint64]bool{}
	err = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return nil // vanished while walking: a live container changes its files
		}
		info, err := d.Info()
		if err != nil {
			return nil
		}
		if st, ok := info.Sys().(*syscall.Stat_t); ok {
			if seen[st.Ino] {
				return nil
			}
			seen[st.Ino] = true
			bytes += uint64(st.Blocks) * 512
		}
		inodes++
		return nil
	})
	return bytes, inodes, err
}
