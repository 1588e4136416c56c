package runtimes

import (
	"slices"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name    string
		cfgs    map[string]Config
		def     string
		systemd bool
		wantErr string
		check   func(t *testing.T, s *Set)
	}{
		{
			name: "defaults: runc with podshim's root",
			check: func(t *testing.T, s *Set) {
				h, err := s.Get("")
				if err != nil || h.Name != "runc" || h.RuntimeType != RuncV2 || h.Options.Root != "/st/runc" || h.Binary() != "runc" {
					t.Fatalf("default handler %+v %+v, %v", h, h.Options, err)
				}
				if got := s.Names(); !slices.Equal(got, []string{"", "runc"}) {
					t.Fatalf("names %v", got)
				}
			},
		},
		{
			name:    "a second runc and a crun, systemd driver",
			systemd: true,
			cfgs: map[string]Config{
				"runc-alt": {Options: Options{Root: "/alt", BinaryName: "/usr/sbin/runc"}},
				"crun":     {RuntimeType: RuncV2, Options: Options{BinaryName: "crun", SystemdCgroup: true}},
			},
			check: func(t *testing.T, s *Set) {
				alt, _ := s.Get("runc-alt")
				if alt.Options.Root != "/alt" || alt.Binary() != "/usr/sbin/runc" || !alt.Options.SystemdCgroup {
					t.Errorf("runc-alt: %+v", alt.Options)
				}
				crun, _ := s.Get("crun")
				if crun.Options.Root != "/st/runtimes/crun" || crun.Binary() != "crun" {
					t.Errorf("crun: %+v", crun.Options)
				}
				if got := s.Names(); !slices.Equal(got, []string{"", "crun", "runc", "runc-alt"}) {
					t.Errorf("names %v", got)
				}
				if len(s.All()) != 3 {
					t.Errorf("all: %v", s.All())
				}
			},
		},
		{
			name: "default_runtime_name names another handler",
			def:  "alt",
			cfgs: map[string]Config{"alt": {Options: Options{Root: "/alt"}}},
			check: func(t *testing.T, s *Set) {
				if h, _ := s.Get(""); h.Name != "alt" {
					t.Errorf("default %q", h.Name)
				}
			},
		},
		{name: "unknown default", def: "kata", wantErr: `default_runtime_name "kata"`},
		{name: "other runtime type", cfgs: map[string]Config{"kata": {RuntimeType: "io.containerd.kata.v2"}}, wantErr: "runtimes.kata: runtime_type"},
		{name: "systemd cgroup with cgroupfs", cfgs: map[string]Config{"x": {Options: Options{SystemdCgroup: true}}}, wantErr: "SystemdCgroup needs cgroup_driver"},
		{name: "relative root", cfgs: map[string]Config{"x": {Options: Options{Root: "rel"}}}, wantErr: "must be an absolute path"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, err := Load(tt.cfgs, tt.def, "/st", tt.systemd)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
		})
	}
}

func TestGetUnknown(t *testing.T) {
	s, err := Load(nil, "", "/st", false)
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.Get("kata")
	if !errdefs.IsInvalidArgument(err) || !strings.Contains(err.Error(), `runtime_handler: no runtime for "kata" is configured`) {
		t.Fatalf("unknown handler: %v", err)
	}
}
