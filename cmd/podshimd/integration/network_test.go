package integration

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// freeLoopbackPort returns a TCP port on 127.0.0.1 that nothing listens on.
func freeLoopbackPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// httpGet fetches url with a short timeout.
func httpGet(url string) (string, error) {
	client := &http.Client{Timeout: 3 * time.Second}
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK {
		return string(body), fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return string(body), nil
}

// TestPodNetworkFromHost serves HTTP in a pod and reaches it from the host
// at the pod's IP and through a hostPort on 127.0.0.1.
func TestPodNetworkFromHost(t *testing.T) {
	hostPort := freeLoopbackPort(t)
	pod := podConfig(t)
	pod.PortMappings = []*criapi.PortMapping{{
		Protocol: criapi.Protocol_TCP, ContainerPort: 8080, HostPort: int32(hostPort), HostIp: "127.0.0.1",
	}}
	podID := runPod(t, pod)
	st, _ := podStatus(t, podID)
	podIP := net.ParseIP(st.GetNetwork().GetIp())
	_, subnet, _ := net.ParseCIDR(podSubnet)
	if podIP == nil || !subnet.Contains(podIP) {
		t.Fatalf("pod IP %q is not in the network's subnet %s", st.GetNetwork().GetIp(), podSubnet)
	}
	id := runContainer(t, podID, pod, containerConfig(pod, "web", "sh", "-c",
		`mkdir /www && echo "served from $(hostname)" > /www/index.html && exec httpd -f -p 8080 -h /www`))
	want := "served from " + pod.Hostname

	// The pod's own view: eth0 carries the reported IP.
	if out := execOK(t, id, "ip", "-o", "-4", "addr", "show", "eth0"); !strings.Contains(out, podIP.String()+"/") {
		t.Errorf("eth0 in the pod does not carry %s: %s", podIP, out)
	}
	// /etc/hosts maps the pod's hostname to its IP.
	if hosts := execOK(t, id, "cat", "/etc/hosts"); !strings.Contains(hosts, podIP.String()+"\t"+pod.Hostname) {
		t.Errorf("/etc/hosts lacks %s %s:\n%s", podIP, pod.Hostname, hosts)
	}

	url := fmt.Sprintf("http://%s/index.html", net.JoinHostPort(podIP.String(), "8080"))
	var body string
	waitFor(t, 20*time.Second, "the pod's server at "+url, func() (bool, string) {
		var err error
		body, err = httpGet(url)
		return err == nil, fmt.Sprint(err)
	})
	if !strings.Contains(body, want) {
		t.Errorf("GET %s = %q, want %q", url, body, want)
	}

	hpURL := fmt.Sprintf("http://127.0.0.1:%d/index.html", hostPort)
	waitFor(t, 20*time.Second, "the hostPort at "+hpURL, func() (bool, string) {
		var err error
		body, err = httpGet(hpURL)
		return err == nil && strings.Contains(body, want), fmt.Sprintf("%q %v", body, err)
	})

	// Once the pod is stopped, the hostPort and the IP stop answering.
	ctx, cancel := callCtx()
	defer cancel()
	if _, err := rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	if body, err := httpGet(hpURL); err == nil {
		t.Errorf("hostPort still answers after StopPodSandbox: %q", body)
	}
	if st, _ := podStatus(t, podID); st.State != criapi.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("pod state after StopPodSandbox = %v, want NOTREADY", st.State)
	}
}
