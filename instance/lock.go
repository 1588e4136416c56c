// Package instance keeps podshimd to one instance per state: a lock on a
// file in the root dir that a second podshimd with the same root cannot
// take, and a CRI socket that is only replaced when nothing answers on
// it.
package instance

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// LockFile is the name of the lock file in the root dir. It holds the PID
// of the podshimd that has the lock.
const LockFile = "podshimd.lock"

// Lock is a held claim on a root dir. The kernel drops it when the process
// ends, however it ends, so a crash leaves no stale lock.
type Lock struct {
	f    *os.File
	path string
}

// HeldError is returned by Acquire when another process holds the lock.
type HeldError struct {
	Root string
	Path string
	PID  int // 0 when the holder has not written its PID yet
}

func (e *HeldError) Error() string {
	who := "another podshimd"
	if e.PID > 0 {
		who = fmt.Sprintf("another podshimd (PID %d)", e.PID)
	}
	return fmt.Sprintf("%s is running with root %s (it holds the lock on %s); stop it, or give this one another --root and --listen",
		who, e.Root, e.Path)
}

// Acquire creates root when it is missing, takes the lock on
// <root>/podshimd.lock without waiting, and writes the caller's PID into
// it. When another process holds the lock it returns a *HeldError naming
// that process's PID.
func Acquire(root string) (*Lock, error) {
	if err := os.MkdirAll(root, 0o711); err != nil {
		return nil, fmt.Errorf("create root %s: %w", root, err)
	}
	path := filepath.Join(root, LockFile)
	// No O_TRUNC: the holder's PID must survive a refused open.
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open lock file: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, &HeldError{Root: root, Path: path, PID: readPID(path)}
		}
		return nil, fmt.Errorf("lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		_, err = f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("write PID to %s: %w", path, err)
	}
	return &Lock{f: f, path: path}, nil
}

// Release gives the lock up. The file stays: removing it would let a
// waiting process lock an unlinked file while a third creates a new one.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	err := l.f.Close()
	l.f = nil
	return err
}

// readPID returns the PID written in the lock file at path, or 0.
func readPID(path string) int {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0
	}
	return pid
}
