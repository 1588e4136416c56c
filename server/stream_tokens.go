package server

import (
	"net/http"
	"net/url"
	"path"
	"sync"
	"time"
)

// DefaultTokenTTL is how long a streaming URL stays usable after Exec,
// Attach or PortForward handed it out. kubelet connects at once.
const DefaultTokenTTL = 30 * time.Second

// tokens makes the streaming URLs single-use and short-lived. The
// streaming library keeps its tokens a minute and removes one when it is
// used; podshim tracks them too, so that the lifetime is its own and a
// token works once even if the library changed.
type tokens struct {
	ttl time.Duration
	mu  sync.Mutex
	exp map[string]time.Time // token → when it expires
}

func newTokens(ttl time.Duration) *tokens {
	return &tokens{ttl: ttl, exp: map[string]time.Time{}}
}

// issue records the token of a URL the library handed out.
func (t *tokens) issue(rawURL string) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return
	}
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for tok, exp := range t.exp {
		if now.After(exp) {
			delete(t.exp, tok)
		}
	}
	t.exp[path.Base(u.Path)] = now.Add(t.ttl)
}

// take uses a token up: true when it was handed out, is not used yet and
// has not expired.
func (t *tokens) take(tok string) bool {
	t.mu.Lock()
	exp, ok := t.exp[tok]
	delete(t.exp, tok)
	t.mu.Unlock()
	return ok && time.Now().Before(exp)
}

// guard answers 404 to a request whose token is unknown, used or expired,
// before the streaming library sees it.
func (t *tokens) guard(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !t.take(path.Base(r.URL.Path)) {
			http.NotFound(w, r)
			return
		}
		next.ServeHTTP(w, r)
	})
}
