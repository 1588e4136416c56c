package main

import (
	"bytes"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestCurlAsTheSuitesRunIt(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/missing" {
			http.NotFound(w, r)
			return
		}
		w.Write([]byte(r.Method + " " + r.URL.RawQuery))
	}))
	defer srv.Close()

	var out, errOut bytes.Buffer
	code := run([]string{"-g", "-q", "-s", srv.URL + "/dial?request=hostname&tries=1"}, &out, &errOut)
	if code != 0 || out.String() != "GET request=hostname&tries=1" {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out.String(), errOut.String())
	}

	out.Reset()
	if code := run([]string{"-s", "-f", srv.URL + "/missing"}, &out, &errOut); code != 22 {
		t.Errorf("-f on 404: exit %d, want 22", code)
	}
	out.Reset()
	if code := run([]string{"-s", "-X", "POST", srv.URL + "/"}, &out, &errOut); code != 0 || !strings.HasPrefix(out.String(), "POST") {
		t.Errorf("-X POST: exit %d, body %q", code, out.String())
	}

	// A closed port: connection refused is curl's exit code 7.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	if code := run([]string{"-s", "--connect-timeout", "2", "http://" + addr + "/"}, &out, &errOut); code != 7 {
		t.Errorf("refused connection: exit %d, want 7", code)
	}
	if code := run([]string{"-s", "--bogus", srv.URL}, &out, &errOut); code != 2 {
		t.Errorf("unknown option: exit %d, want 2", code)
	}
}
