// Command webserver stands in for the nginx and httpd servers of critest's
// test images. It behaves as the name it is installed under:
//
//   - nginx (/usr/sbin/nginx): re-executes itself so that its command line
//     reads "nginx: master process nginx -g daemon off;" like nginx's master,
//     writes its pid to /var/run/nginx.pid, reads `listen` and `root` from
//     /etc/nginx/conf.d/default.conf (port 80 and /usr/share/nginx/html by
//     default) and logs each request to stdout in nginx's access-log format.
//   - httpd: serves /usr/local/apache2/htdocs on port 80 and logs a start-up
//     line naming httpd to stderr.
//
// SIGTERM, SIGINT and SIGQUIT stop it with exit code 0.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

const (
	nginxMasterArgv = "nginx: master process nginx -g daemon off;"
	nginxConf       = "/etc/nginx/conf.d/default.conf"
	nginxPidFile    = "/var/run/nginx.pid"
	httpdRoot       = "/usr/local/apache2/htdocs"
)

// server is what the program serves, decided by its name.
type server struct {
	name    string
	port    int
	root    string
	pidFile string
}

func main() {
	exe, err := os.Executable()
	if err != nil {
		fail("find own executable: %v", err)
	}
	var s server
	switch filepath.Base(exe) {
	case "nginx":
		if os.Args[0] != nginxMasterArgv {
			// Become "nginx: master process ..." in /proc/<pid>/cmdline,
			// keeping the pid and the executable name (comm "nginx").
			err := syscall.Exec(exe, []string{nginxMasterArgv}, os.Environ())
			fail("re-exec as nginx master: %v", err)
		}
		port, root, err := readNginxConf(nginxConf)
		if err != nil {
			fail("%v", err)
		}
		s = server{name: "nginx", port: port, root: root, pidFile: nginxPidFile}
	default:
		s = server{name: "httpd", port: 80, root: httpdRoot}
	}
	if err := s.run(); err != nil {
		fail("%v", err)
	}
}

func fail(format string, args ...any) {
	fmt.Fprintf(os.Stderr, "webserver: "+format+"\n", args...)
	os.Exit(1)
}

// readNginxConf returns the first `listen` port and `root` of an nginx
// server block, with nginx's defaults when the file or a directive is absent.
func readNginxConf(path string) (int, string, error) {
	port, root := 80, "/usr/share/nginx/html"
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return port, root, nil
	}
	if err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	defer f.Close()
	seenListen, seenRoot := false, false
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(strings.TrimSuffix(strings.TrimSpace(sc.Text()), ";"))
		if len(fields) < 2 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		switch {
		case fields[0] == "listen" && !seenListen:
			p, err := strconv.Atoi(fields[1])
			if err != nil {
				return 0, "", fmt.Errorf("%s: bad listen %q", path, fields[1])
			}
			port, seenListen = p, true
		case fields[0] == "root" && !seenRoot:
			root, seenRoot = fields[1], true
		}
	}
	if err := sc.Err(); err != nil {
		return 0, "", fmt.Errorf("read %s: %w", path, err)
	}
	return port, root, nil
}

// run serves until a stop signal arrives.
func (s server) run() error {
	ln, err := net.Listen("tcp", ":"+strconv.Itoa(s.port))
	if err != nil {
		return fmt.Errorf("%s: listen on port %d: %w", s.name, s.port, err)
	}
	if s.pidFile != "" {
		if err := os.WriteFile(s.pidFile, []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
			return fmt.Errorf("%s: write pid file: %w", s.name, err)
		}
	}
	if s.name == "httpd" {
		fmt.Fprintf(os.Stderr, "[core:notice] [pid %d] httpd (podshim critest stand-in) listening on port %d, serving %s\n", os.Getpid(), s.port, s.root)
	}
	srv := &http.Server{
		Handler:           s.logRequests(http.FileServer(http.Dir(s.root))),
		ReadHeaderTimeout: 30 * time.Second,
	}
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGTERM, syscall.SIGINT, syscall.SIGQUIT)
	go func() {
		<-sigs
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("%s: serve: %w", s.name, err)
	}
	if s.pidFile != "" {
		_ = os.Remove(s.pidFile)
	}
	return nil
}

// statusRecorder remembers the status code and size of a response.
type statusRecorder struct {
	http.ResponseWriter
	status int
	size   int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

func (r *statusRecorder) Write(b []byte) (int, error) {
	n, err := r.ResponseWriter.Write(b)
	r.size += n
	return n, err
}

// logRequests writes one access-log line per request to stdout.
func (s server) logRequests(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: http.StatusOK}
		h.ServeHTTP(rec, req)
		host, _, _ := net.SplitHostPort(req.RemoteAddr)
		fmt.Printf("%s - - [%s] %q %d %d \"-\" %q\n", host, time.Now().Format("02/Jan/2006:15:04:05 -0700"),
			req.Method+" "+req.URL.RequestURI()+" "+req.Proto, rec.status, rec.size, req.UserAgent())
	})
}
