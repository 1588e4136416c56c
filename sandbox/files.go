package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"golang.org/x/sys/unix"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// writePodFiles writes the pod's /etc/hostname, /etc/hosts and
// /etc/resolv.conf into dir. Containers bind-mount these files, so later
// updates (the hosts entry once the pod IP is known) rewrite them in place.
func writePodFiles(dir string, cfg *runtime.PodSandboxConfig, hostNetwork bool) (hostname, hosts, resolv string, err error) {
	hostname, hosts, resolv = filepath.Join(dir, "hostname"), filepath.Join(dir, "hosts"), filepath.Join(dir, "resolv.conf")
	name := cfg.GetHostname()
	if name == "" || hostNetwork {
		if name, err = os.Hostname(); err != nil {
			return "", "", "", fmt.Errorf("read host name: %w", err)
		}
	}
	if err = os.WriteFile(hostname, []byte(name+"\n"), 0o644); err != nil {
		return "", "", "", fmt.Errorf("write hostname file: %w", err)
	}
	if err = writeHosts(hosts, name, nil, hostNetwork); err != nil {
		return "", "", "", err
	}
	if err = writeResolvConf(resolv, cfg.GetDnsConfig()); err != nil {
		return "", "", "", err
	}
	return hostname, hosts, resolv, nil
}

// writeHosts writes /etc/hosts: the host's own for host-network pods, else
// localhost entries plus the pod's IPs under its hostname.
func writeHosts(path, hostname string, ips []string, hostNetwork bool) error {
	var content []byte
	if hostNetwork {
		data, err := os.ReadFile("/etc/hosts")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("read host /etc/hosts: %w", err)
		}
		content = data
	} else {
		var b strings.Builder
		b.WriteString("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
		b.WriteString("fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n")
		for _, ip := range ips {
			fmt.Fprintf(&b, "%s\t%s\n", ip, hostname)
		}
		content = []byte(b.String())
	}
	return rewriteInPlace(path, content, 0o644)
}

// writeResolvConf writes the pod's resolv.conf from its DNS config, or the
// host's when the pod has none.
func writeResolvConf(path string, dns *runtime.DNSConfig) error {
	if dns == nil || (len(dns.Servers) == 0 && len(dns.Searches) == 0 && len(dns.Options) == 0) {
		data, err := os.ReadFile("/etc/resolv.conf")
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("read host /etc/resolv.conf: %w", err)
		}
		return rewriteInPlace(path, data, 0o644)
	}
	var b strings.Builder
	if len(dns.Searches) > 0 {
		fmt.Fprintf(&b, "search %s\n", strings.Join(dns.Searches, " "))
	}
	for _, s := range dns.Servers {
		fmt.Fprintf(&b, "nameserver %s\n", s)
	}
	if len(dns.Options) > 0 {
		fmt.Fprintf(&b, "options %s\n", strings.Join(dns.Options, " "))
	}
	return rewriteInPlace(path, []byte(b.String()), 0o644)
}

// rewriteInPlace truncates and writes path without replacing its inode, so
// bind mounts of it see the new content.
func rewriteInPlace(path string, data []byte, mode os.FileMode) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, mode)
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	return f.Close()
}

// mountShm mounts the pod's /dev/shm tmpfs at path.
func mountShm(path string, size int64) error {
	if err := os.MkdirAll(path, 0o700); err != nil {
		return fmt.Errorf("create shm dir: %w", err)
	}
	opts := fmt.Sprintf("mode=1777,size=%d", size)
	if err := unix.Mount("shm", path, "tmpfs", unix.MS_NOEXEC|unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
		return fmt.Errorf("mount shm at %s: %w", path, err)
	}
	return nil
}

// unmountShm unmounts the pod's /dev/shm; it is idempotent.
func unmountShm(path string) error {
	if path == "" {
		return nil
	}
	for {
		err := unix.Unmount(path, unix.MNT_DETACH)
		if err == nil {
			continue // stacked mounts: unmount until nothing is left
		}
		if errors.Is(err, unix.EINVAL) || errors.Is(err, unix.ENOENT) {
			return nil
		}
		return fmt.Errorf("unmount shm %s: %w", path, err)
	}
}
