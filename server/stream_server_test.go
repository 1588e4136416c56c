package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
	"k8s.io/cri-streaming/pkg/streaming/remotecommand"
)

// nopRuntime is a streaming runtime whose sessions end at once.
type nopRuntime struct{}

func (nopRuntime) Exec(context.Context, string, []string, io.Reader, io.WriteCloser, io.WriteCloser, bool, <-chan remotecommand.TerminalSize) error {
	return nil
}
func (nopRuntime) Attach(context.Context, string, io.Reader, io.WriteCloser, io.WriteCloser, bool, <-chan remotecommand.TerminalSize) error {
	return nil
}
func (nopRuntime) PortForward(context.Context, string, int32, io.ReadWriteCloser) error { return nil }

func TestStreamServerLoopbackOnly(t *testing.T) {
	for _, addr := range []string{"0.0.0.0:0", ":0", "[::]:0", "10.1.2.3:0", "example.com:0", "127.0.0.1"} {
		if s, err := NewStreamServer(addr, nopRuntime{}); err == nil {
			s.listener.Close()
			t.Errorf("NewStreamServer(%q) listens; want it refused (not loopback)", addr)
		}
	}
	s, err := NewStreamServer("127.0.0.1:0", nopRuntime{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.listener.Close()
	resp, err := s.GetExec(&runtime.ExecRequest{ContainerId: "c1", Cmd: []string{"sh"}, Stdout: true})
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
}

// get makes a real HTTP request to a streaming URL and returns the status
// code. Without an upgrade, a valid token gets the library's 400 (it
// consumed the token), an unknown one 404.
func get(t *testing.T, rawURL string) int {
	t.Helper()
	resp, err := http.Get(rawURL)
	if err != nil {
		t.Fatalf("GET %s: %v", rawURL, err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestStreamTokensSingleUseAndExpiring(t *testing.T) {
	const ttl = 400 * time.Millisecond
	s, err := NewStreamServer("127.0.0.1:0", nopRuntime{}, WithTokenTTL(ttl))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go s.Serve(ctx)

	urls := map[string]func() (string, error){
		"exec": func() (string, error) {
			r, err := s.GetExec(&runtime.ExecRequest{ContainerId: "c1", Cmd: []string{"sh"}, Stdout: true})
			return r.GetUrl(), err
		},
		"attach": func() (string, error) {
			r, err := s.GetAttach(&runtime.AttachRequest{ContainerId: "c1", Stdout: true})
			return r.GetUrl(), err
		},
		"portforward": func() (string, error) {
			r, err := s.GetPortForward(&runtime.PortForwardRequest{PodSandboxId: "p1"})
			return r.GetUrl(), err
		},
	}
	for kind, newURL := range urls {
		t.Run(kind, func(t *testing.T) {
			u, err := newURL()
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(u, "/"+kind+"/") {
				t.Fatalf("URL %s is not a %s URL", u, kind)
			}
			if code := get(t, u); code == http.StatusNotFound {
				t.Fatalf("first use of a fresh URL: %d, want the session (not 404)", code)
			}
			if code := get(t, u); code != http.StatusNotFound {
				t.Errorf("second use of the URL: %d, want 404 (single use)", code)
			}

			expired, err := newURL()
			if err != nil {
				t.Fatal(err)
			}
			time.Sleep(ttl + 200*time.Millisecond)
			if code := get(t, expired); code != http.StatusNotFound {
				t.Errorf("use after the TTL: %d, want 404 (expired)", code)
			}

			fresh, err := newURL()
			if err != nil {
				t.Fatal(err)
			}
			forged := fresh[:strings.LastIndex(fresh, "/")+1] + "AAAAAAAA"
			if code := get(t, forged); code != http.StatusNotFound {
				t.Errorf("made-up token: %d, want 404", code)
			}
			if code := get(t, fresh); code == http.StatusNotFound {
				t.Errorf("a fresh URL after a made-up token was tried: 404, want the session")
			}
		})
	}
}
