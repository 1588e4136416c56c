package instance

import (
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"
)

// ClaimSocket makes path free for a new listener. A missing path is free.
// A socket that accepts a connection belongs to a running server and is
// never removed: ClaimSocket fails naming it. A socket that refuses
// connections is stale (its server is gone) and is removed. Anything
// else at path (a file, a directory) is left alone and is an error.
func ClaimSocket(path string) error {
	st, err := os.Lstat(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("socket %s: %w", path, err)
	}
	if st.Mode()&os.ModeSocket == 0 {
		return fmt.Errorf("%s exists and is not a socket (%s); remove it or choose another --listen", path, st.Mode().Type())
	}
	conn, err := net.DialTimeout("unix", path, 2*time.Second)
	if err == nil {
		conn.Close()
		return fmt.Errorf("socket %s is in use: a running server accepts connections on it (another podshimd, or another CRI runtime); stop it or choose another --listen", path)
	}
	if !errors.Is(err, syscall.ECONNREFUSED) {
		return fmt.Errorf("cannot tell whether socket %s is in use: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale socket %s: %w", path, err)
	}
	return nil
}
