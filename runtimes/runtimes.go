// Package runtimes holds the runtime handlers a pod may name in
// RunPodSandboxRequest.runtime_handler (a Kubernetes RuntimeClass'
// handler), configured as containerd's CRI configures them:
//
//	default_runtime_name = "runc"
//	[runtimes.runc-fast]
//	  runtime_type = "io.containerd.runc.v2"
//	  [runtimes.runc-fast.options]
//	    BinaryName = "/usr/local/bin/runc"
//	    Root = "/run/podshim/runc-fast"
//
// A handler is a containerd runtime type (the shim) and the runc shim's
// options: the OCI runtime binary it runs, that runtime's state root, and
// the cgroup driver (which must be podshim's cgroup_driver: the cgroups
// paths podshim writes into specs follow it). The handler "runc" always
// exists (podshim's default: runc from PATH, root <state>/runc); "" means
// default_runtime_name. A pod's handler is recorded in its metadata and its
// containers run with the same one.
package runtimes

import (
	"fmt"
	"path/filepath"
	"sort"

	"github.com/containerd/containerd/errdefs"
	runcoptions "github.com/containerd/containerd/runtime/v2/runc/options"
)

// RuncV2 is containerd's runc v2 shim, the only runtime type podshim runs.
const RuncV2 = "io.containerd.runc.v2"

// DefaultName is the handler podshim always has.
const DefaultName = "runc"

// Config is one [runtimes.<name>] table.
type Config struct {
	// RuntimeType is the containerd runtime (shim); only
	// "io.containerd.runc.v2" (the default) is supported.
	RuntimeType string `toml:"runtime_type"`
	// Options are the runc shim's options, with containerd's names.
	Options Options `toml:"options"`
}

// Options are the runc v2 shim's options a handler may set.
type Options struct {
	// BinaryName is the OCI runtime the shim runs ("runc", "crun" or a
	// path); empty: runc from the shim's PATH.
	BinaryName string `toml:"BinaryName"`
	// Root is the OCI runtime's state root; empty: <state>/runc for the
	// handler "runc", <state>/runtimes/<name> for the others.
	Root string `toml:"Root"`
	// SystemdCgroup has the runtime use systemd's cgroup driver; it must
	// agree with podshim's cgroup_driver (false follows it).
	SystemdCgroup bool `toml:"SystemdCgroup"`
}

// Handler is a resolved runtime handler.
type Handler struct {
	Name        string
	RuntimeType string
	// Options go to containerd with every container of the handler's pods.
	Options *runcoptions.Options
}

// Binary is the OCI runtime the handler's shim runs.
func (h Handler) Binary() string {
	if h.Options.BinaryName == "" {
		return "runc"
	}
	return h.Options.BinaryName
}

// Set is the configured handlers.
type Set struct {
	byName      map[string]Handler
	defaultName string
}

// Load resolves the configured handlers. stateDir is podshim's state dir
// (default roots below it), systemd says whether cgroup_driver is systemd.
func Load(cfgs map[string]Config, defaultName, stateDir string, systemd bool) (*Set, error) {
	s := &Set{byName: map[string]Handler{}, defaultName: defaultName}
	if s.defaultName == "" {
		s.defaultName = DefaultName
	}
	all := map[string]Config{DefaultName: {}}
	for name, c := range cfgs {
		all[name] = c
	}
	for name, c := range all {
		if name == "" {
			return nil, fmt.Errorf("runtimes: a handler needs a name")
		}
		typ := c.RuntimeType
		if typ == "" {
			typ = RuncV2
		}
		if typ != RuncV2 {
			return nil, fmt.Errorf("runtimes.%s: runtime_type %q: only %q is supported", name, typ, RuncV2)
		}
		if c.Options.SystemdCgroup && !systemd {
			return nil, fmt.Errorf("runtimes.%s: options.SystemdCgroup needs cgroup_driver \"systemd\" (the pods' cgroups paths follow cgroup_driver)", name)
		}
		root := c.Options.Root
		switch {
		case root == "" && name == DefaultName:
			root = filepath.Join(stateDir, "runc")
		case root == "":
			root = filepath.Join(stateDir, "runtimes", name)
		case !filepath.IsAbs(root):
			return nil, fmt.Errorf("runtimes.%s: options.Root %q must be an absolute path", name, root)
		}
		s.byName[name] = Handler{Name: name, RuntimeType: typ, Options: &runcoptions.Options{
			BinaryName: c.Options.BinaryName, Root: root, SystemdCgroup: systemd,
		}}
	}
	if _, ok := s.byName[s.defaultName]; !ok {
		return nil, fmt.Errorf("default_runtime_name %q: no [runtimes.%s] is configured", s.defaultName, s.defaultName)
	}
	return s, nil
}

// Get returns the handler a pod names; "" is the default. An unknown
// handler is InvalidArgument naming runtime_handler (containerd's CRI
// says "no runtime for %q is configured", as an Unknown error).
func (s *Set) Get(name string) (Handler, error) {
	if name == "" {
		name = s.defaultName
	}
	h, ok := s.byName[name]
	if !ok {
		return Handler{}, fmt.Errorf("%w: runtime_handler: no runtime for %q is configured", errdefs.ErrInvalidArgument, name)
	}
	return h, nil
}

// Names lists the handler names kubelet may use, sorted, "" (the default)
// first.
func (s *Set) Names() []string {
	out := []string{""}
	for n := range s.byName {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// All returns every handler, sorted by name.
func (s *Set) All() []Handler {
	var out []Handler
	for _, n := range s.Names()[1:] {
		out = append(out, s.byName[n])
	}
	return out
}

// Only returns the set of the handler "runc" alone, with the runc shim's
// options opts (nil: the shim's defaults).
func Only(opts *runcoptions.Options) *Set {
	if opts == nil {
		opts = &runcoptions.Options{}
	}
	return &Set{defaultName: DefaultName, byName: map[string]Handler{DefaultName: {Name: DefaultName, RuntimeType: RuncV2, Options: opts}}}
}
