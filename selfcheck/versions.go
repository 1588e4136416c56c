package selfcheck

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/containerd/containerd"
)

// ContainerdVersion asks the containerd serving at address for its
// version. It returns the version, the containerd revision and an error
// when nothing answers there within timeout.
func ContainerdVersion(ctx context.Context, address string, timeout time.Duration) (version, revision string, err error) {
	if _, err := os.Stat(address); err != nil {
		return "", "", fmt.Errorf("no containerd socket: %w", err)
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	client, err := containerd.New(address, containerd.WithTimeout(timeout))
	if err != nil {
		return "", "", fmt.Errorf("connect to %s: %w", address, err)
	}
	defer client.Close()
	v, err := client.Version(ctx)
	if err != nil {
		return "", "", fmt.Errorf("containerd at %s: %w", address, err)
	}
	return v.Version, v.Revision, nil
}

// BinaryVersion runs `<name> --version` (name is looked up on PATH when it
// has no slash) and returns the binary's path and the first line of its
// output without the leading "<name> version " or "<name> <package path> "
// words: "1.1.5+ds1" for runc, "1.6.20~ds1 1.6.20~ds1-1+deb12u3" (version
// and revision) for Debian's containerd.
func BinaryVersion(ctx context.Context, name string) (path, version string, err error) {
	path, err = exec.LookPath(name)
	if err != nil {
		return "", "", err
	}
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return path, "", fmt.Errorf("%s --version: %w", path, err)
	}
	first, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	base := name[strings.LastIndex(name, "/")+1:]
	first = strings.TrimPrefix(first, base+" ")
	first = strings.TrimPrefix(first, "version ")
	// containerd names its Go package first: drop it.
	if pkg, rest, ok := strings.Cut(first, " "); ok && strings.Contains(pkg, "/") {
		first = rest
	}
	return path, strings.TrimSpace(first), nil
}
