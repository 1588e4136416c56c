package main

import (
	"github.com/vishvananda/netlink"

	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/containernetworking/cni/libcni"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/podshim/podshim/critest/testimage"
)

// floorCgroup is the cgroup parent of the floor's runc containers.
const floorCgroup = "/podshim-bench-floor"

// Floor measures the least work a pod start needs on this machine, without
// any runtime: create and pin a network namespace, CNI ADD on podshim's
// network (bridge + host-local; lo brought up with netlink, as podshim
// does), and `runc run -d` of two busybox
// containers in that namespace (a read-only shared rootfs, so no snapshot).
type Floor struct {
	dir      string
	runcRoot string
	netnsDir string
	rootfs   string
	cni      *libcni.CNIConfig
	list     *libcni.NetworkConfigList
	template specs.Spec
}

// FloorTiming is one floor measurement.
type FloorTiming struct {
	NetNS, CNIAdd, Runc1, Runc2, Total time.Duration
	Teardown                           time.Duration // runc delete -f ×2, CNI DEL, netns removal
}

// newFloor prepares the floor's rootfs (busybox extracted from the same
// layer as the benchmark's image), OCI spec template and CNI config.
func newFloor(ctx context.Context, dir string, net Network) (*Floor, error) {
	f := &Floor{dir: dir, runcRoot: filepath.Join(dir, "runc"), netnsDir: filepath.Join(dir, "netns"), rootfs: filepath.Join(dir, "rootfs")}
	for _, d := range []string{f.runcRoot, f.netnsDir, f.rootfs, filepath.Join(dir, "bundles")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return nil, fmt.Errorf("floor: %w", err)
		}
	}
	layer, err := testimage.BusyboxLayer(testimage.BusyboxOptions{Binary: testimage.StaticBusyboxPath})
	if err != nil {
		return nil, fmt.Errorf("floor rootfs: %w", err)
	}
	data, err := layer.Tar()
	if err != nil {
		return nil, fmt.Errorf("floor rootfs: %w", err)
	}
	if err := untar(bytes.NewReader(data), f.rootfs); err != nil {
		return nil, fmt.Errorf("floor rootfs: %w", err)
	}
	// runc's own default spec, made runnable detached and without a tty.
	tmpl := filepath.Join(dir, "template")
	if err := os.MkdirAll(tmpl, 0o755); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, "runc", "spec", "--bundle", tmpl).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("runc spec: %w: %s", err, out)
	}
	raw, err := os.ReadFile(filepath.Join(tmpl, "config.json"))
	if err != nil {
		return nil, err
	}
	if err := json.Unmarshal(raw, &f.template); err != nil {
		return nil, fmt.Errorf("parse runc spec: %w", err)
	}
	f.list, err = libcni.ConfListFromFile(net.ConfFile)
	if err != nil {
		return nil, fmt.Errorf("floor CNI config: %w", err)
	}
	f.cni = libcni.NewCNIConfigWithCacheDir([]string{"/usr/lib/cni", "/opt/cni/bin"}, filepath.Join(dir, "cni-cache"), nil)
	return f, nil
}

// Measure does one floor pod start, times it, and tears it down again.
func (f *Floor) Measure(ctx context.Context, name string) (FloorTiming, error) {
	var t FloorTiming
	nsPath := filepath.Join(f.netnsDir, name)
	rt := &libcni.RuntimeConf{
		ContainerID: name, NetNS: nsPath, IfName: "eth0",
		Args: [][2]string{{"IgnoreUnknown", "1"}, {"K8S_POD_NAMESPACE", "bench"}, {"K8S_POD_NAME", name}, {"K8S_POD_INFRA_CONTAINER_ID", name}},
	}
	ids := []string{name + "-pause", name + "-c0"}
	start := time.Now()
	err := newNetNS(nsPath)
	t.NetNS = time.Since(start)
	if err == nil {
		t0 := time.Now()
		_, err = f.cni.AddNetworkList(ctx, f.list, rt)
		t.CNIAdd = time.Since(t0)
		if err != nil {
			err = fmt.Errorf("CNI ADD: %w", err)
		}
	}
	for i, id := range ids {
		if err != nil {
			break
		}
		t0 := time.Now()
		err = f.runcRun(ctx, id, nsPath)
		d := time.Since(t0)
		if i == 0 {
			t.Runc1 = d
		} else {
			t.Runc2 = d
		}
	}
	t.Total = time.Since(start)

	t0 := time.Now()
	var errs []error
	for _, id := range ids {
		if out, derr := exec.Command("runc", "--root", f.runcRoot, "delete", "-f", id).CombinedOutput(); derr != nil && !strings.Contains(string(out), "does not exist") {
			errs = append(errs, fmt.Errorf("runc delete %s: %w: %s", id, derr, out))
		}
		_ = os.RemoveAll(filepath.Join(f.dir, "bundles", id))
	}
	if derr := f.cni.DelNetworkList(context.Background(), f.list, rt); derr != nil {
		errs = append(errs, fmt.Errorf("CNI DEL: %w", derr))
	}
	if derr := removeNetNS(nsPath); derr != nil {
		errs = append(errs, derr)
	}
	t.Teardown = time.Since(t0)
	if err != nil {
		return t, fmt.Errorf("floor %s: %w", name, err)
	}
	return t, errors.Join(errs...)
}

// runcRun writes a bundle for id (joining the network namespace at nsPath)
// and runs `runc run -d` on it.
func (f *Floor) runcRun(ctx context.Context, id, nsPath string) error {
	spec := f.template
	p := *spec.Process
	p.Terminal = false
	p.Args = containerCommand
	spec.Process = &p
	spec.Root = &specs.Root{Path: f.rootfs, Readonly: true}
	spec.Hostname = id
	lx := *spec.Linux
	lx.CgroupsPath = floorCgroup + "/" + id
	lx.Namespaces = nil
	for _, ns := range spec.Linux.Namespaces {
		if ns.Type == specs.NetworkNamespace {
			ns.Path = nsPath
		}
		lx.Namespaces = append(lx.Namespaces, ns)
	}
	spec.Linux = &lx
	bundle := filepath.Join(f.dir, "bundles", id)
	if err := os.MkdirAll(bundle, 0o755); err != nil {
		return err
	}
	data, err := json.Marshal(&spec)
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		return err
	}
	// runc run -d hands its stdio to the container: a file, not a pipe,
	// or waiting for runc would wait for the container too.
	outPath := filepath.Join(bundle, "output")
	out, err := os.Create(outPath)
	if err != nil {
		return err
	}
	defer out.Close()
	cmd := exec.CommandContext(ctx, "runc", "--root", f.runcRoot, "run", "-d", "--bundle", bundle, id)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Run(); err != nil {
		msg, _ := os.ReadFile(outPath)
		return fmt.Errorf("runc run %s: %w: %s", id, err, msg)
	}
	return nil
}

// Cleanup removes whatever floor containers are left (after an interrupt).
func (f *Floor) Cleanup() {
	out, err := exec.Command("runc", "--root", f.runcRoot, "list", "-q").Output()
	if err != nil {
		return
	}
	for _, id := range strings.Fields(string(out)) {
		_ = exec.Command("runc", "--root", f.runcRoot, "delete", "-f", id).Run()
	}
}

// newNetNS creates a network namespace and pins it at path. The thread that
// unshares is switched back and unlocked, not thrown away: this process
// started daemons with a parent-death signal, which a dying thread would
// deliver.
func newNetNS(path string) error {
	fd, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("netns: %w", err)
	}
	fd.Close()
	errCh := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := os.Open("/proc/thread-self/ns/net")
		if err != nil {
			runtime.UnlockOSThread()
			errCh <- err
			return
		}
		defer orig.Close()
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			runtime.UnlockOSThread()
			errCh <- fmt.Errorf("unshare: %w", err)
			return
		}
		err = unix.Mount("/proc/thread-self/ns/net", path, "none", unix.MS_BIND, "")
		if err == nil {
			err = loUp() // what podshim does in place of the loopback plugin
		}
		if serr := unix.Setns(int(orig.Fd()), unix.CLONE_NEWNET); serr != nil {
			// The thread stays locked and ends with this goroutine.
			errCh <- fmt.Errorf("setns back: %w", serr)
			return
		}
		runtime.UnlockOSThread()
		if err != nil {
			err = fmt.Errorf("bind netns: %w", err)
		}
		errCh <- err
	}()
	if err := <-errCh; err != nil {
		os.Remove(path)
		return err
	}
	return nil
}

// removeNetNS unpins and deletes a network namespace file.
func removeNetNS(path string) error {
	if err := unix.Unmount(path, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unmount netns %s: %w", path, err)
	}
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove netns %s: %w", path, err)
	}
	return nil
}

// untar extracts a tar stream of directories, files, symlinks and hard links
// into dir.
func untar(r io.Reader, dir string) error {
	tr := tar.NewReader(r)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.Clean("/"+hdr.Name))
		switch hdr.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, os.FileMode(hdr.Mode)&os.ModePerm); err != nil {
				return err
			}
			_ = os.Chmod(target, os.FileMode(hdr.Mode)&os.ModePerm|modeBits(hdr.Mode))
		case tar.TypeReg:
			out, err := os.OpenFile(target, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, os.FileMode(hdr.Mode)&os.ModePerm)
			if err != nil {
				return err
			}
			if _, err := io.Copy(out, tr); err != nil {
				out.Close()
				return err
			}
			if err := out.Close(); err != nil {
				return err
			}
		case tar.TypeSymlink:
			if err := os.Symlink(hdr.Linkname, target); err != nil {
				return err
			}
		case tar.TypeLink:
			if err := os.Link(filepath.Join(dir, filepath.Clean("/"+hdr.Linkname)), target); err != nil {
				return err
			}
		default:
			return fmt.Errorf("untar %s: unsupported type %c", hdr.Name, hdr.Typeflag)
		}
	}
}

// modeBits maps the sticky bit of a tar mode to Go's file mode.
func modeBits(mode int64) os.FileMode {
	if mode&0o1000 != 0 {
		return os.ModeSticky
	}
	return 0
}

// loUp brings up lo in the calling thread's network namespace.
func loUp() error {
	lo, err := netlink.LinkByName("lo")
	if err == nil {
		err = netlink.LinkSetUp(lo)
	}
	if err != nil {
		return fmt.Errorf("bring up lo: %w", err)
	}
	return nil
}
