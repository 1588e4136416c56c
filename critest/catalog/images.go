package catalog

import (
	"fmt"
	"strconv"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/podshim/podshim/critest/testimage"
)

// indexHTML is the page the web-server stand-ins serve.
const indexHTML = "<!DOCTYPE html>\n<html><head><title>Welcome</title></head><body><h1>It works!</h1></body></html>\n"

// nginx builds an nginx stand-in on the busybox base (critest runs sh, cat
// and sleep in it) listening on port. critest checks: HTTP 200 on the port,
// /var/run/nginx.pid, "master process" in /proc/1/cmdline and the process
// name "nginx" (pidof).
func (b *builder) nginx(port int) (v1.Image, error) {
	l := testimage.NewLayer()
	if err := l.HostFile("/usr/sbin/nginx", 0o755, b.helper("webserver")); err != nil {
		return nil, err
	}
	conf := fmt.Sprintf("server {\n    listen       %d;\n    server_name  localhost;\n\n    location / {\n        root   /usr/share/nginx/html;\n        index  index.html index.htm;\n    }\n}\n", port)
	l.File("/etc/nginx/conf.d/default.conf", 0o644, []byte(conf))
	l.File("/usr/share/nginx/html/index.html", 0o644, []byte(indexHTML))
	l.Dir("/var/run", 0o755)
	l.Dir("/var/log/nginx", 0o755)
	return testimage.WithLayer(b.base, l, "nginx stand-in on port "+strconv.Itoa(port), func(c *v1.Config) {
		c.Cmd = []string{"nginx", "-g", "daemon off;"}
		c.ExposedPorts = map[string]struct{}{strconv.Itoa(port) + "/tcp": {}}
		c.StopSignal = "SIGTERM"
	})
}

// httpd builds the httpd stand-in: port 80, "httpd" in its log, and the
// busybox tools (critest execs echo in it).
func (b *builder) httpd() (v1.Image, error) {
	l := testimage.NewLayer()
	if err := l.HostFile("/usr/local/apache2/bin/httpd", 0o755, b.helper("webserver")); err != nil {
		return nil, err
	}
	l.File("/usr/local/apache2/htdocs/index.html", 0o644, []byte(indexHTML))
	return testimage.WithLayer(b.base, l, "httpd stand-in", func(c *v1.Config) {
		c.Env = []string{"PATH=/usr/local/apache2/bin:" + testimage.DefaultPath, "HTTPD_PREFIX=/usr/local/apache2"}
		c.Cmd = []string{"httpd", "-DFOREGROUND"}
		c.WorkingDir = "/usr/local/apache2"
		c.ExposedPorts = map[string]struct{}{"80/tcp": {}}
		c.StopSignal = "SIGWINCH"
	})
}

// nonewprivs builds the no_new_privs probe: a setuid-root binary printing
// its effective uid, run as the command of the image.
func (b *builder) nonewprivs() (v1.Image, error) {
	l := testimage.NewLayer()
	if err := l.HostFile("/usr/local/bin/nnp", 0o4755, b.helper("nnp")); err != nil {
		return nil, err
	}
	return testimage.WithLayer(b.base, l, "setuid nnp", func(c *v1.Config) {
		c.Cmd = []string{"/usr/local/bin/nnp"}
	})
}

// withUser is images/image-user: busybox with USER set.
func (b *builder) withUser(user string) (v1.Image, error) {
	return testimage.WithConfig(b.base, func(c *v1.Config) {
		c.User = user
	})
}

// predefinedGroup is images/image-predefined-group: user default-user
// (uid 1000) is a member of group-defined-in-image (gid 50000) and the image
// runs as uid 1000.
func (b *builder) predefinedGroup() (v1.Image, error) {
	l := testimage.NewLayer()
	l.File("/etc/passwd", 0o644, []byte(testimage.Passwd+"default-user:x:1000:1000:Linux User,,,:/home/default-user:/bin/sh\n"))
	l.File("/etc/group", 0o644, []byte(testimage.Group+"default-user:x:1000:\ngroup-defined-in-image:x:50000:default-user\n"))
	l.Dir("/home/default-user", 0o755)
	return testimage.WithLayer(b.base, l, "adduser default-user, addgroup group-defined-in-image", func(c *v1.Config) {
		c.User = "1000"
	})
}

// marked is images/image-test: busybox plus an empty file named after the
// image (ADD ${TEST} ${TEST}), which makes each such image distinct.
func (b *builder) marked(file string) (v1.Image, error) {
	l := testimage.NewLayer()
	l.File("/"+file, 0o644, nil)
	return testimage.WithLayer(b.base, l, "ADD "+file+" "+file, nil)
}

// pause builds a pause image (ENTRYPOINT /pause, USER 65535:65535) labelled
// with its version, so every pause tag has its own image ID.
func (b *builder) pause(version string) (v1.Image, error) {
	img, err := testimage.FromBinary(b.helper("pause"), "/pause", "65535:65535")
	if err != nil {
		return nil, err
	}
	return testimage.WithConfig(img, func(c *v1.Config) {
		c.Labels = map[string]string{"io.podshim.critest.pause-version": version}
	})
}
