package selfcheck

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// checkDirs: root, state and the netns dir are writable directories, or
// can be created.
func checkDirs(o Options) []Finding {
	var fs []Finding
	for _, d := range []struct{ key, path string }{
		{"root", o.Root}, {"state", o.State}, {"netns_dir", o.NetNSDir},
	} {
		f := Finding{Check: d.key}
		detail, err := writableDir(d.path)
		if err != nil {
			f.Severity, f.Detail = Error, err.Error()
			f.Fix = fmt.Sprintf("make %s a directory podshimd (root) can write, or set %s to one", d.path, d.key)
		} else {
			f.Detail = detail
		}
		fs = append(fs, f)
	}
	return fs
}

// writableDir says whether podshimd can write in dir: dir exists and a
// file can be created in it, or dir is missing and its nearest existing
// parent is a writable directory (podshimd creates the rest). It leaves
// nothing behind.
func writableDir(dir string) (string, error) {
	if dir == "" {
		return "", errors.New("not set")
	}
	st, err := os.Stat(dir)
	switch {
	case err == nil && !st.IsDir():
		return "", fmt.Errorf("%s is not a directory", dir)
	case err == nil:
		if err := tryWrite(dir); err != nil {
			return "", fmt.Errorf("%s is not writable: %w", dir, err)
		}
		return dir + " is writable", nil
	case !errors.Is(err, os.ErrNotExist):
		return "", fmt.Errorf("%s cannot be used: %w", dir, err)
	}
	parent := filepath.Dir(dir)
	for parent != filepath.Dir(parent) {
		if _, err := os.Stat(parent); err == nil {
			break
		}
		parent = filepath.Dir(parent)
	}
	st, err = os.Stat(parent)
	if err != nil || !st.IsDir() {
		return "", fmt.Errorf("%s is missing and cannot be created: %s is not a directory", dir, parent)
	}
	if err := tryWrite(parent); err != nil {
		return "", fmt.Errorf("%s is missing and cannot be created in %s: %w", dir, parent, err)
	}
	return fmt.Sprintf("%s does not exist yet; podshimd creates it", dir), nil
}

func tryWrite(dir string) error {
	f, err := os.CreateTemp(dir, ".podshimd-check-*")
	if err != nil {
		return err
	}
	f.Close()
	return os.Remove(f.Name())
}
