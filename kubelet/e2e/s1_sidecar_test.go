//go:build kubelet_e2e

package e2e

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// gatewayIP is the bridge's address in the pod subnet (host-local gives the
// gateway the subnet's first address): requests from the host to a pod come
// from it.
const gatewayIP = "10.90.0.1"

// TestWebServerWithLogSidecar is the seeds' example of a pod: a web server
// and a log-analysis sidecar. The sidecar reads the server's log files from
// a shared emptyDir and reaches the server on localhost; both containers
// see the same pod IP, and the host reaches the server on that IP.
func TestWebServerWithLogSidecar(t *testing.T) {
	h.timed(t)
	out := h.hostDir(t, "out")
	pod := h.runPod(t, Pod{
		Metadata: ObjectMeta{Name: "web-sidecar"},
		Spec: PodSpec{
			Volumes: []Volume{{Name: "logs", EmptyDir: &EmptyDir{}}, hostPathVolume("out", out)},
			Containers: []Container{
				{
					Name:  "web",
					Image: busyboxImage,
					Command: shell(`mkdir -p /www && echo hello-from-web > /www/index.html
ip -4 -o addr show eth0 > /out/web-ip
ip -o link show lo > /out/web-lo
# -vv: one log line per request and per response code, on stderr.
exec httpd -f -vv -p 8080 -h /www 2>>/logs/access.log`),
					VolumeMounts: []VolumeMount{{Name: "logs", MountPath: "/logs"}, {Name: "out", MountPath: "/out"}},
				},
				{
					Name:  "log-analyzer",
					Image: busyboxImage,
					Command: shell(`ip -4 -o addr show eth0 > /out/sidecar-ip
while true; do
  # 127.0.0.1, not "localhost": static busybox has no NSS to read /etc/hosts.
  # (busybox 1.35's wget -T segfaults; timeout bounds it instead.)
  body=$(timeout 3 wget -q -O - http://127.0.0.1:8080/index.html)
  ok=$(grep -c 'response:200' /logs/access.log)
  # httpd logs the client as "[::ffff:10.90.0.1]:port" or "10.90.0.1:port".
  fromhost=$(grep -c '` + strings.ReplaceAll(gatewayIP, ".", `\.`) + `]*:[0-9]*: url:/from-host' /logs/access.log)
  printf 'fetched=%s\nok-responses=%s\nfrom-host=%s\n' "$body" "$ok" "$fromhost" > /out/.analysis
  mv /out/.analysis /out/analysis
  sleep 0.5
done`),
					VolumeMounts: []VolumeMount{{Name: "logs", MountPath: "/logs"}, {Name: "out", MountPath: "/out"}},
				},
			},
		},
	})

	p := pod.waitFor(t, 60*time.Second, "both containers running", func(p *Pod) error {
		if p.Status.Phase != "Running" {
			return fmt.Errorf("phase %q", p.Status.Phase)
		}
		for _, c := range []string{"web", "log-analyzer"} {
			if s := p.Status.container(c); s == nil || s.State.Running == nil {
				return fmt.Errorf("container %s not running", c)
			}
		}
		if p.Status.PodIP == "" {
			return fmt.Errorf("no pod IP")
		}
		return nil
	})
	podIP := p.Status.PodIP
	_, subnet, _ := net.ParseCIDR(podSubnet)
	if ip := net.ParseIP(podIP); ip == nil || !subnet.Contains(ip) {
		t.Fatalf("pod IP %q is not in the harness's subnet %s", podIP, podSubnet)
	}

	// Both containers see the pod IP on their eth0: one network namespace.
	for _, f := range []string{"web-ip", "sidecar-ip", "web-lo"} {
		path := filepath.Join(out, f)
		waitUntil(t, 20*time.Second, f+" written", func() error {
			if readFile(t, path) == "" {
				return fmt.Errorf("%s empty", path)
			}
			return nil
		})
	}
	for _, f := range []string{"web-ip", "sidecar-ip"} {
		path := filepath.Join(out, f)
		if got := readFile(t, path); !strings.Contains(got, "inet "+podIP+"/") {
			t.Errorf("%s: container's eth0 is %q, want the pod IP %s", f, strings.TrimSpace(got), podIP)
		}
	}

	// Containers talk over localhost: the pod's loopback must be up.
	if lo := readFile(t, filepath.Join(out, "web-lo")); !strings.Contains(lo, ",UP") {
		t.Errorf("the pod's loopback interface is not up: %q", strings.TrimSpace(lo))
	}

	// The sidecar reaches the server on localhost and reads its log.
	analysis := filepath.Join(out, "analysis")
	waitUntil(t, 30*time.Second, "the sidecar to fetch from localhost and count the server's log lines", func() error {
		a := parseKeyValues(readFile(t, analysis))
		if a["fetched"] != "hello-from-web" {
			return fmt.Errorf("analysis %v", a)
		}
		if n, _ := strconv.Atoi(a["ok-responses"]); n < 1 {
			return fmt.Errorf("analysis %v", a)
		}
		return nil
	})

	// The host reaches the server on the pod IP, and the sidecar sees that
	// request, from the bridge's address, in the shared log.
	url := fmt.Sprintf("http://%s/from-host", net.JoinHostPort(podIP, "8080"))
	waitUntil(t, 20*time.Second, "the host to reach the pod IP", func() error {
		_, err := httpGet(context.Background(), url)
		if err != nil && strings.Contains(err.Error(), "404") {
			return nil // the server answered: it has no /from-host
		}
		if err == nil {
			return nil
		}
		return err
	})
	body, err := httpGet(context.Background(), fmt.Sprintf("http://%s/index.html", net.JoinHostPort(podIP, "8080")))
	if err != nil || strings.TrimSpace(string(body)) != "hello-from-web" {
		t.Fatalf("GET index.html from the host: %q, %v", body, err)
	}
	waitUntil(t, 20*time.Second, "the sidecar to see the host's request in the web server's log", func() error {
		a := parseKeyValues(readFile(t, analysis))
		if n, _ := strconv.Atoi(a["from-host"]); n < 1 {
			return fmt.Errorf("analysis %v", a)
		}
		return nil
	})
}

// parseKeyValues reads "key=value" lines.
func parseKeyValues(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			out[k] = v
		}
	}
	return out
}
