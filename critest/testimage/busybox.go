package testimage

import (
	"bytes"
	"fmt"
	"os/exec"
	"path"
	"strings"

	v1 "github.com/google/go-containerregistry/pkg/v1"
)

// StaticBusyboxPath is where Debian's busybox-static package installs its
// binary.
const StaticBusyboxPath = "/bin/busybox"

// Passwd is the /etc/passwd of the busybox images, the same users as the
// official busybox image.
const Passwd = `root:x:0:0:root:/root:/bin/sh
daemon:x:1:1:daemon:/usr/sbin:/bin/false
bin:x:2:2:bin:/bin:/bin/false
sys:x:3:3:sys:/dev:/bin/false
sync:x:4:100:sync:/bin:/bin/sync
mail:x:8:8:mail:/var/spool/mail:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
operator:x:37:37:Operator:/var:/bin/false
nobody:x:65534:65534:nobody:/home:/bin/false
`

// Group is the /etc/group of the busybox images, the same groups as the
// official busybox image.
const Group = `root:x:0:
daemon:x:1:
bin:x:2:
sys:x:3:
adm:x:4:
tty:x:5:
disk:x:6:
lp:x:7:
mail:x:8:
kmem:x:9:
wheel:x:10:root
cdrom:x:11:
dialout:x:18:
floppy:x:19:
video:x:28:
audio:x:29:
tape:x:32:
www-data:x:33:
operator:x:37:
utmp:x:43:
plugdev:x:46:
staff:x:50:
lock:x:54:
netdev:x:82:
users:x:100:
nogroup:x:65534:
`

// BusyboxOptions says which busybox binary goes into a busybox image.
type BusyboxOptions struct {
	// Binary is the busybox binary on this machine. Its applet list is read
	// by running it with --list.
	Binary string
	// Libs maps in-image paths to files on this machine, for a dynamically
	// linked busybox (for example the dynamic loader and libc from Debian's
	// libc6 package). Empty for busybox-static.
	Libs map[string]string
	// Symlinks maps in-image paths to link targets (for example
	// /lib64/ld-linux-x86-64.so.2 for a dynamic busybox).
	Symlinks map[string]string
	// Extra files added after the applets, in-image path to host path, all
	// executable (static helpers that busybox lacks, such as pgrep).
	Extra map[string]string
}

// Busybox returns a busybox image made from Debian's busybox-static: the
// binary at /bin/busybox with every applet as a hard link next to it, the
// official busybox image's /etc/passwd and /etc/group, PATH set and Cmd
// ["sh"].
func Busybox() (v1.Image, error) {
	return BusyboxFrom(BusyboxOptions{Binary: StaticBusyboxPath})
}

// BusyboxFrom returns a busybox image built as opts says; see Busybox.
func BusyboxFrom(opts BusyboxOptions) (v1.Image, error) {
	l, err := BusyboxLayer(opts)
	if err != nil {
		return nil, err
	}
	cfg := v1.Config{
		Env: []string{"PATH=" + DefaultPath},
		Cmd: []string{"sh"},
	}
	img, err := NewImage(cfg, "busybox from "+path.Base(opts.Binary), l)
	if err != nil {
		return nil, fmt.Errorf("busybox image: %w", err)
	}
	return img, nil
}

// BusyboxLayer returns the root file system of a busybox image as one layer.
func BusyboxLayer(opts BusyboxOptions) (*Layer, error) {
	applets, err := busyboxApplets(opts.Binary)
	if err != nil {
		return nil, err
	}
	l := NewLayer()
	for _, d := range []string{"/bin", "/dev", "/etc", "/home", "/proc", "/root", "/sys", "/usr/bin", "/usr/sbin", "/var/spool/mail", "/var/www"} {
		l.Dir(d, 0o755)
	}
	l.Dir("/root", 0o700)
	l.Dir("/tmp", 0o1777)
	l.Dir("/var/run", 0o755)
	l.File("/etc/passwd", 0o644, []byte(Passwd))
	l.File("/etc/group", 0o644, []byte(Group))
	if err := l.HostFile("/bin/busybox", 0o755, opts.Binary); err != nil {
		return nil, err
	}
	for _, a := range applets {
		if a == "busybox" {
			continue
		}
		l.HardLink("/bin/"+a, "/bin/busybox")
	}
	for in, host := range opts.Libs {
		if err := l.HostFile(in, 0o755, host); err != nil {
			return nil, err
		}
	}
	for in, target := range opts.Symlinks {
		l.Symlink(in, target)
	}
	for in, host := range opts.Extra {
		if err := l.HostFile(in, 0o755, host); err != nil {
			return nil, err
		}
	}
	return l, nil
}

// busyboxApplets lists the applets of a busybox binary.
func busyboxApplets(bin string) ([]string, error) {
	var out bytes.Buffer
	cmd := exec.Command(bin, "--list")
	cmd.Stdout = &out
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("list applets of %s: %w", bin, err)
	}
	var applets []string
	for _, a := range strings.Fields(out.String()) {
		if strings.Contains(a, "/") {
			return nil, fmt.Errorf("list applets of %s: unexpected applet name %q", bin, a)
		}
		applets = append(applets, a)
	}
	if len(applets) == 0 {
		return nil, fmt.Errorf("list applets of %s: none", bin)
	}
	return applets, nil
}
