package image

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
	"github.com/google/go-containerregistry/pkg/authn"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// basicAuth demands user:pass (or the bearer token) on every request.
func basicAuth(user, pass, token string) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			u, p, ok := r.BasicAuth()
			if (ok && u == user && p == pass) || r.Header.Get("Authorization") == "Bearer "+token {
				next.ServeHTTP(w, r)
				return
			}
			w.Header().Set("WWW-Authenticate", `Basic realm="podshim-test"`)
			http.Error(w, "unauthorized", http.StatusUnauthorized)
		})
	}
}

// TestPullWithAuth pulls from a registry demanding basic auth, with each
// form of credentials CRI's AuthConfig carries.
func TestPullWithAuth(t *testing.T) {
	e := newEnv(t)
	reg := newRegistry(t, basicAuth("alice", "s3cret", "tok-123"))
	_, id := reg.push(t, "private/app:1", smallImage(t, v1.Config{}),
		remote.WithAuth(&authn.Basic{Username: "alice", Password: "s3cret"}))
	s := e.service(t, Options{})
	ref := reg.host + "/private/app:1"
	b64 := base64.StdEncoding.EncodeToString([]byte("alice:s3cret"))

	failing := map[string]*runtime.AuthConfig{
		"none":           nil,
		"wrong password": {Username: "alice", Password: "nope"},
		"other server":   {Username: "alice", Password: "s3cret", ServerAddress: "https://other.example.test"},
		"wrong token":    {RegistryToken: "tok-999"},
	}
	for what, auth := range failing {
		if _, err := s.Pull(e.ctx, ref, auth); err == nil {
			t.Fatalf("pull with %s credentials succeeded", what)
		} else if !strings.Contains(err.Error(), "401") && !strings.Contains(strings.ToLower(err.Error()), "unauthorized") {
			t.Logf("pull with %s: %v", what, err)
		}
	}
	working := map[string]*runtime.AuthConfig{
		"username/password":     {Username: "alice", Password: "s3cret"},
		"auth base64":           {Auth: b64},
		"matching server":       {Username: "alice", Password: "s3cret", ServerAddress: "http://" + reg.host},
		"server without scheme": {Auth: b64, ServerAddress: reg.host},
		"registry token":        {RegistryToken: "tok-123"},
	}
	for what, auth := range working {
		img, err := s.Pull(e.ctx, ref, auth)
		if err != nil {
			t.Fatalf("pull with %s: %v", what, err)
		}
		mustEqual(t, what+": ID", img.ID, id)
		if err := s.Remove(e.ctx, img.ID); err != nil {
			t.Fatal(err)
		}
	}
}

func TestParseAuth(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	tests := []struct {
		name       string
		auth       *runtime.AuthConfig
		host       string
		user, pass string
		invalid    bool
	}{
		{"nil", nil, "r.test", "", "", false},
		{"user", &runtime.AuthConfig{Username: "u", Password: "p"}, "r.test", "u", "p", false},
		{"identity token", &runtime.AuthConfig{IdentityToken: "refresh"}, "r.test", "", "refresh", false},
		{"auth", &runtime.AuthConfig{Auth: b64("u:p:with:colons")}, "r.test", "u", "p:with:colons", false},
		{"auth nul-padded", &runtime.AuthConfig{Auth: b64("u:p\x00\x00")}, "r.test", "u", "p", false},
		{"auth not base64", &runtime.AuthConfig{Auth: "!!!"}, "r.test", "", "", true},
		{"auth no colon", &runtime.AuthConfig{Auth: b64("up")}, "r.test", "", "", true},
		{"server matches", &runtime.AuthConfig{Username: "u", Password: "p", ServerAddress: "https://r.test"}, "r.test", "u", "p", false},
		{"server with port", &runtime.AuthConfig{Username: "u", Password: "p", ServerAddress: "r.test:5000"}, "r.test:5000", "u", "p", false},
		{"server differs", &runtime.AuthConfig{Username: "u", Password: "p", ServerAddress: "https://other.test"}, "r.test", "", "", false},
		{"empty", &runtime.AuthConfig{}, "r.test", "", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			user, pass, err := parseAuth(tc.auth, tc.host)
			if tc.invalid {
				if !errdefs.IsInvalidArgument(err) {
					t.Fatalf("err = %v, want invalid argument", err)
				}
				return
			}
			if err != nil || user != tc.user || pass != tc.pass {
				t.Fatalf("parseAuth = %q, %q, %v; want %q, %q", user, pass, err, tc.user, tc.pass)
			}
		})
	}
}
