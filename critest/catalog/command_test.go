package catalog

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// TestServeOptionsRegisterFlags parses the serving flags a registry command
// shares and checks each lands in its field, with the loopback default.
func TestServeOptionsRegisterFlags(t *testing.T) {
	var o ServeOptions
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	o.RegisterFlags(fs)
	if err := fs.Parse([]string{"--hosts-dir", "/h", "--addr-file", "/a", "--request-log", "/r"}); err != nil {
		t.Fatal(err)
	}
	want := ServeOptions{Listen: "127.0.0.1:0", HostsDir: "/h", AddrFile: "/a", RequestLog: "/r"}
	if o.Listen != want.Listen || o.HostsDir != want.HostsDir || o.AddrFile != want.AddrFile || o.RequestLog != want.RequestLog {
		t.Fatalf("parsed %+v, want %+v", o, want)
	}
}

// TestRunChecksFlagsBeforeBuilding: a missing input or hosts directory is
// refused, naming the flag, before the (slow) image build runs.
func TestRunChecksFlagsBeforeBuilding(t *testing.T) {
	full := Inputs{BusyboxDir: "/b", LibcDir: "/l", HelpersDir: "/h"}
	for _, tc := range []struct {
		name string
		in   Inputs
		o    ServeOptions
		want string
	}{
		{"no hosts dir", full, ServeOptions{}, "--hosts-dir"},
		{"no libc dir", Inputs{BusyboxDir: "/b", HelpersDir: "/h"}, ServeOptions{HostsDir: "/x"}, "--libc-dir"},
	} {
		built := false
		build := func(Inputs) ([]Entry, error) { built = true; return nil, nil }
		err := Run(context.Background(), tc.in, tc.o, build, logrus.NewEntry(logrus.New()))
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: error %v, want one naming %s", tc.name, err, tc.want)
		}
		if built {
			t.Errorf("%s: the images were built despite the missing flag", tc.name)
		}
	}
}

// TestRunServesWhatBuildReturns: Run hands the inputs to build and serves its
// images until the context ends, writing the address file.
func TestRunServesWhatBuildReturns(t *testing.T) {
	dir := t.TempDir()
	in := Inputs{BusyboxDir: "/b", LibcDir: "/l", HelpersDir: "/h"}
	o := ServeOptions{Name: "run-test", Listen: "127.0.0.1:0", HostsDir: filepath.Join(dir, "hosts"), AddrFile: filepath.Join(dir, "addr")}
	var got Inputs
	build := func(in Inputs) ([]Entry, error) {
		got = in
		return []Entry{{Names: []string{"registry.k8s.io/run-test:1"}, Image: smallImage(t, "run")}}, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, in, o, build, logrus.NewEntry(logrus.New())) }()
	for {
		if b, err := os.ReadFile(o.AddrFile); err == nil && len(b) > 0 {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("Run returned before serving: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
	if got != in {
		t.Errorf("build got inputs %+v, want %+v", got, in)
	}
	if _, err := os.Stat(filepath.Join(o.HostsDir, "registry.k8s.io", "hosts.toml")); err != nil {
		t.Errorf("no hosts.toml for the image's host: %v", err)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
}
