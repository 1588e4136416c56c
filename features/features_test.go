package features

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// runcJSON builds a `runc features` document.
func runcJSON(t *testing.T, opts []string, namespaces []string, idmap *bool) []byte {
	t.Helper()
	doc := map[string]any{"ociVersionMin": "1.0.0", "mountOptions": opts}
	linux := map[string]any{"namespaces": namespaces}
	if idmap != nil {
		linux["mountExtensions"] = map[string]any{"idmap": map[string]any{"enabled": *idmap}}
	}
	doc["linux"] = linux
	b, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestDecide(t *testing.T) {
	yes, no := true, false
	allNS := []string{"cgroup", "ipc", "mount", "network", "pid", "user", "uts"}
	tests := []struct {
		name                    string
		in                      func(t *testing.T) Inputs
		userns, idmap, rro, sgp bool
		sandboxShim             bool
		why                     map[string]string // feature -> part of the reason
	}{
		{
			name: "debian: containerd 1.6, runc 1.1 (rro, no idmap)",
			in: func(t *testing.T) Inputs {
				return Inputs{ContainerdVersion: "1.6.20", Snapshotter: "overlayfs",
					RuncFeatures: runcJSON(t, []string{"ro", "rro", "rbind"}, allNS, nil)}
			},
			rro: true, sgp: true,
			why: map[string]string{IDMappedMounts: "mountExtensions.idmap", UserNamespaces: "idmapped mounts are off", SandboxShim: "runs the shim binary"},
		},
		{
			name: "current: containerd 2.4, runc 1.5",
			in: func(t *testing.T) Inputs {
				return Inputs{ContainerdVersion: "v2.4.2", Snapshotter: "overlayfs", SnapshotterCaps: []string{"rebase", CapRemapIDs},
					RuncFeatures: runcJSON(t, []string{"ro", "rro"}, allNS, &yes)}
			},
			userns: true, idmap: true, rro: true, sgp: true, sandboxShim: true,
		},
		{
			name: "runc with idmap, snapshotter without remap-ids",
			in: func(t *testing.T) Inputs {
				return Inputs{ContainerdVersion: "1.7.0", Snapshotter: "overlayfs", SnapshotterCaps: []string{"rebase"},
					RuncFeatures: runcJSON(t, []string{"rro"}, allNS, &yes)}
			},
			idmap: true, rro: true, sgp: true,
			why: map[string]string{UserNamespaces: `lacks the "remap-ids" capability`},
		},
		{
			name: "idmap disabled",
			in: func(t *testing.T) Inputs {
				return Inputs{SnapshotterCaps: []string{CapRemapIDs}, RuncFeatures: runcJSON(t, nil, allNS, &no)}
			},
			sgp: true,
			why: map[string]string{RecursiveReadOnlyMounts: `"rro"`, IDMappedMounts: "idmap.enabled"},
		},
		{
			name: "no user namespace in runc",
			in: func(t *testing.T) Inputs {
				return Inputs{SnapshotterCaps: []string{CapRemapIDs}, RuncFeatures: runcJSON(t, []string{"rro"}, []string{"pid"}, &yes)}
			},
			idmap: true, rro: true, sgp: true,
			why: map[string]string{UserNamespaces: "user namespace"},
		},
		{
			name: "kernel without mount_setattr",
			in: func(t *testing.T) Inputs {
				return Inputs{SnapshotterCaps: []string{CapRemapIDs}, MountSetattr: errors.New("ENOSYS"),
					RuncFeatures: runcJSON(t, []string{"rro"}, allNS, &yes)}
			},
			sgp: true,
			why: map[string]string{RecursiveReadOnlyMounts: "mount_setattr", IDMappedMounts: "mount_setattr"},
		},
		{
			name: "runc features fails",
			in:   func(*testing.T) Inputs { return Inputs{RuncErr: errors.New("unknown command")} },
			sgp:  true,
			why:  map[string]string{UserNamespaces: "unknown command", RecursiveReadOnlyMounts: "unknown command", SandboxShim: "unknown"},
		},
		{
			name: "runc features is not JSON",
			in:   func(*testing.T) Inputs { return Inputs{RuncFeatures: []byte("usage: runc")} },
			sgp:  true,
			why:  map[string]string{RecursiveReadOnlyMounts: "parse"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Decide(tt.in(t))
			if s.UserNamespaces != tt.userns || s.IDMappedMounts != tt.idmap || s.RecursiveReadOnlyMounts != tt.rro ||
				s.SupplementalGroupsPolicy != tt.sgp {
				t.Fatalf("got userns=%v idmap=%v rro=%v sgp=%v, want %v %v %v %v (%+v)", s.UserNamespaces, s.IDMappedMounts,
					s.RecursiveReadOnlyMounts, s.SupplementalGroupsPolicy, tt.userns, tt.idmap, tt.rro, tt.sgp, s.Reasons)
			}
			if s.SandboxShim != tt.sandboxShim {
				t.Errorf("sandbox shim = %v, want %v (%+v)", s.SandboxShim, tt.sandboxShim, s.Reasons)
			}
			if len(s.Reasons) != 5 {
				t.Fatalf("want one reason per feature, got %+v", s.Reasons)
			}
			on := map[string]bool{UserNamespaces: s.UserNamespaces, IDMappedMounts: s.IDMappedMounts,
				RecursiveReadOnlyMounts: s.RecursiveReadOnlyMounts, SupplementalGroupsPolicy: s.SupplementalGroupsPolicy,
				SandboxShim: s.SandboxShim}
			for _, r := range s.Reasons {
				if r.On != on[r.Feature] || r.Why == "" {
					t.Errorf("reason %+v does not match the feature's state %v", r, on[r.Feature])
				}
				if want, ok := tt.why[r.Feature]; ok && !strings.Contains(r.Why, want) {
					t.Errorf("reason for %s = %q, want it to mention %q", r.Feature, r.Why, want)
				}
			}
		})
	}
}
