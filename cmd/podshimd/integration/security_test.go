package integration

import (
	"net"
	"net/http"
	"net/url"
	"os"
	"testing"

	"google.golang.org/grpc/codes"
	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// TestSecurity checks what keeps podshimd from being a way into the node:
// the CRI socket is 0660, the streaming URLs are on loopback and work
// once, and no URL is handed out for a container that does not run.
func TestSecurity(t *testing.T) {
	st, err := os.Stat(env.podshimd.Socket)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o660 {
		t.Errorf("CRI socket %s has mode %v, want a socket with 0660", env.podshimd.Socket, st.Mode())
	}

	pod := podConfig(t)
	podID := runPod(t, pod)
	id := runContainer(t, podID, pod, containerConfig(pod, "shell", "sleep", "3600"))
	created := createContainer(t, podID, pod, containerConfig(pod, "created", "true"))
	ctx, cancel := callCtx()
	defer cancel()
	resp, err := rt().Exec(ctx, &criapi.ExecRequest{ContainerId: id, Cmd: []string{"true"}, Stdout: true})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(resp.Url)
	if err != nil {
		t.Fatal(err)
	}
	if ip := net.ParseIP(u.Hostname()); ip == nil || !ip.IsLoopback() {
		t.Errorf("exec URL %s is not on loopback", resp.Url)
	}
	for i, want := range []bool{true, false} {
		r, err := http.Get(resp.Url) // no upgrade: the session is refused, but the token is used
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if found := r.StatusCode != http.StatusNotFound; found != want {
			t.Errorf("use #%d of the exec URL: HTTP %d, want token accepted=%v", i+1, r.StatusCode, want)
		}
	}

	unknown := randHex(32)
	for name, call := range map[string]func() error{
		"Exec unknown": func() error {
			_, err := rt().Exec(ctx, &criapi.ExecRequest{ContainerId: unknown, Cmd: []string{"sh"}, Stdout: true})
			return err
		},
		"Attach unknown": func() error {
			_, err := rt().Attach(ctx, &criapi.AttachRequest{ContainerId: unknown, Stdout: true})
			return err
		},
		"PortForward unknown": func() error {
			_, err := rt().PortForward(ctx, &criapi.PortForwardRequest{PodSandboxId: unknown})
			return err
		},
	} {
		if code := grpcCode(call()); code != codes.NotFound {
			t.Errorf("%s: %v, want NotFound", name, code)
		}
	}
	for name, call := range map[string]func() error{
		"Exec created": func() error {
			_, err := rt().Exec(ctx, &criapi.ExecRequest{ContainerId: created, Cmd: []string{"sh"}, Stdout: true})
			return err
		},
		"Attach created": func() error {
			_, err := rt().Attach(ctx, &criapi.AttachRequest{ContainerId: created, Stdout: true})
			return err
		},
	} {
		if code := grpcCode(call()); code != codes.FailedPrecondition {
			t.Errorf("%s: %v, want FailedPrecondition", name, code)
		}
	}
	if _, err := rt().StopPodSandbox(ctx, &criapi.StopPodSandboxRequest{PodSandboxId: podID}); err != nil {
		t.Fatal(err)
	}
	_, err = rt().PortForward(ctx, &criapi.PortForwardRequest{PodSandboxId: podID})
	if code := grpcCode(err); code != codes.FailedPrecondition {
		t.Errorf("PortForward into a stopped pod: %v, want FailedPrecondition", code)
	}
	removePod(t, podID)
	_, err = rt().PortForward(ctx, &criapi.PortForwardRequest{PodSandboxId: podID})
	if code := grpcCode(err); code != codes.NotFound {
		t.Errorf("PortForward into a removed pod: %v, want NotFound", code)
	}
}
