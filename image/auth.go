package image

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/containerd/containerd/errdefs"
	"github.com/containerd/containerd/remotes/docker"
	"github.com/containerd/containerd/remotes/docker/config"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// registryHosts configures the registries a pull talks to: containerd's
// hosts.toml files below the registry config dir (mirrors, plain http, CA
// and client certificates, headers), and the request's credentials.
func (s *Service) registryHosts(ctx context.Context, auth *runtime.AuthConfig) docker.RegistryHosts {
	opts := config.HostOptions{
		Credentials: func(host string) (string, string, error) {
			return parseAuth(auth, host)
		},
	}
	if s.hostsDir != "" {
		opts.HostDir = config.HostDirFromRoot(s.hostsDir)
	}
	if auth != nil && auth.RegistryToken != "" {
		opts.UpdateClient = func(c *http.Client) error {
			c.Transport = &bearerTransport{next: c.Transport, token: auth.RegistryToken, server: serverHost(auth.ServerAddress)}
			return nil
		}
	}
	return config.ConfigureHosts(ctx, opts)
}

// parseAuth returns the username and secret of auth for host, as
// containerd's CRI does: nothing when auth names another server; the
// username and password; or the identity token (an OAuth2 refresh token,
// with an empty username); or the base64 "user:password" of auth.Auth.
func parseAuth(auth *runtime.AuthConfig, host string) (string, string, error) {
	if auth == nil {
		return "", "", nil
	}
	if auth.ServerAddress != "" && serverHost(auth.ServerAddress) != host {
		return "", "", nil
	}
	if auth.Username != "" {
		return auth.Username, auth.Password, nil
	}
	if auth.IdentityToken != "" {
		return "", auth.IdentityToken, nil
	}
	if auth.Auth != "" {
		decoded, err := base64.StdEncoding.DecodeString(auth.Auth)
		if err != nil {
			return "", "", fmt.Errorf("decode auth for %s: %w: %w", host, errdefs.ErrInvalidArgument, err)
		}
		user, password, ok := strings.Cut(string(decoded), ":")
		if !ok {
			return "", "", fmt.Errorf("decoded auth for %s is not user:password: %w", host, errdefs.ErrInvalidArgument)
		}
		return user, strings.Trim(password, "\x00"), nil
	}
	return "", "", nil
}

// serverHost returns the host[:port] of a server address, which may be
// given with or without a scheme ("https://registry:5000", "registry:5000").
func serverHost(address string) string {
	if address == "" {
		return ""
	}
	if !strings.Contains(address, "://") {
		address = "dummy://" + address
	}
	u, err := url.Parse(address)
	if err != nil {
		return address
	}
	return u.Host
}

// bearerTransport sends a registry token (AuthConfig.RegistryToken, a
// bearer token the registry accepts as is) with every request to server,
// or to every host when server is empty.
type bearerTransport struct {
	next   http.RoundTripper
	token  string
	server string
}

func (t *bearerTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") == "" && (t.server == "" || t.server == req.URL.Host) {
		req = req.Clone(req.Context())
		req.Header.Set("Authorization", "Bearer "+t.token)
	}
	return t.next.RoundTrip(req)
}
