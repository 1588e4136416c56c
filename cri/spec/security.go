package spec

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/contrib/seccomp"
	"github.com/containerd/containerd/oci"
	"github.com/containerd/containerd/pkg/cap"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// Legacy profile strings of the deprecated *_profile_path fields.
const (
	profileRuntimeDefault = "runtime/default"
	profileDockerDefault  = "docker/default"
	profileUnconfined     = "unconfined"
	profileLocalhost      = "localhost/"
)

// withoutDefaultSecurity clears what oci's default spec sets but a CRI
// runtime leaves to the request: AppArmor, seccomp and the rlimits (the
// container inherits the shim's, as with containerd's CRI).
func withoutDefaultSecurity(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
	if s.Process == nil {
		s.Process = &specs.Process{}
	}
	s.Process.ApparmorProfile = ""
	s.Process.Rlimits = nil
	if s.Linux != nil {
		s.Linux.Seccomp = nil
	}
	return nil
}

// capName turns a CRI capability name ("NET_ADMIN", "net_admin",
// "CAP_NET_ADMIN") into the OCI form, checking it is a known capability.
func capName(field string, i int, name string) (string, error) {
	n := strings.ToUpper(strings.TrimSpace(name))
	if !strings.HasPrefix(n, "CAP_") {
		n = "CAP_" + n
	}
	for _, k := range cap.Known() {
		if k == n {
			return n, nil
		}
	}
	return "", invalid("%s[%d] %q is not a Linux capability", field, i, name)
}

func capNames(field string, names []string) (caps []string, all bool, err error) {
	for i, name := range names {
		if strings.EqualFold(name, "ALL") {
			all = true
			continue
		}
		c, err := capName(field, i, name)
		if err != nil {
			return nil, false, err
		}
		caps = append(caps, c)
	}
	return caps, all, nil
}

// capabilityOpts applies add/drop to the default set the way containerd's
// CRI does: "ALL" in add gives every capability the daemon holds, "ALL" in
// drop removes all, then single names are added, then dropped. So
// add [ALL] drop [CHOWN] is everything but CHOWN, and drop [ALL] add
// [NET_ADMIN] is NET_ADMIN only. Ambient capabilities are cleared unless
// add_ambient_capabilities names some.
func capabilityOpts(c *runtime.Capability) ([]oci.SpecOpts, error) {
	const prefix = "linux.security_context.capabilities."
	add, addAll, err := capNames(prefix+"add_capabilities", c.GetAddCapabilities())
	if err != nil {
		return nil, err
	}
	drop, dropAll, err := capNames(prefix+"drop_capabilities", c.GetDropCapabilities())
	if err != nil {
		return nil, err
	}
	ambient, ambientAll, err := capNames(prefix+"add_ambient_capabilities", c.GetAddAmbientCapabilities())
	if err != nil {
		return nil, err
	}
	if ambientAll {
		return nil, invalid("%sadd_ambient_capabilities: ALL is not allowed", prefix)
	}
	var opts []oci.SpecOpts
	if addAll {
		opts = append(opts, oci.WithAllCurrentCapabilities)
	}
	if dropAll {
		opts = append(opts, oci.WithCapabilities(nil))
	}
	opts = append(opts, oci.WithAddedCapabilities(add), oci.WithDroppedCapabilities(drop), withAmbient(ambient))
	return opts, nil
}

// withAmbient sets the ambient set (and adds those capabilities to the
// bounding, permitted, effective and inheritable sets, which ambient ones
// must belong to). With none it clears ambient capabilities.
func withAmbient(caps []string) oci.SpecOpts {
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		if s.Process.Capabilities == nil {
			s.Process.Capabilities = &specs.LinuxCapabilities{}
		}
		if len(caps) == 0 {
			s.Process.Capabilities.Ambient = nil
			return nil
		}
		if err := oci.WithAddedCapabilities(caps)(ctx, client, c, s); err != nil {
			return err
		}
		pc := s.Process.Capabilities
		pc.Inheritable = mergeNames(pc.Inheritable, caps)
		pc.Ambient = append([]string(nil), caps...)
		return nil
	}
}

func mergeNames(a, b []string) []string {
	out := append([]string(nil), a...)
	for _, n := range b {
		found := false
		for _, m := range out {
			found = found || m == n
		}
		if !found {
			out = append(out, n)
		}
	}
	return out
}

// securityProfile returns the structured profile, or the one the
// deprecated profile path string names. A nil result means "none given".
func securityProfile(field string, sp *runtime.SecurityProfile, legacyField, legacy string) (*runtime.SecurityProfile, string, error) {
	if sp != nil {
		if sp.GetProfileType() != runtime.SecurityProfile_Localhost && sp.GetLocalhostRef() != "" {
			return nil, field, invalid("%s.localhost_ref is set but profile_type is %v", field, sp.GetProfileType())
		}
		return sp, field, nil
	}
	switch {
	case legacy == "":
		return nil, legacyField, nil
	case legacy == profileRuntimeDefault || legacy == profileDockerDefault:
		return &runtime.SecurityProfile{ProfileType: runtime.SecurityProfile_RuntimeDefault}, legacyField, nil
	case legacy == profileUnconfined:
		return &runtime.SecurityProfile{ProfileType: runtime.SecurityProfile_Unconfined}, legacyField, nil
	case strings.HasPrefix(legacy, profileLocalhost):
		return &runtime.SecurityProfile{
			ProfileType:  runtime.SecurityProfile_Localhost,
			LocalhostRef: strings.TrimPrefix(legacy, profileLocalhost),
		}, legacyField, nil
	}
	return nil, legacyField, invalid("%s %q: want %q, %q, %q or %q<path>", legacyField, legacy,
		profileRuntimeDefault, profileDockerDefault, profileUnconfined, profileLocalhost)
}

// seccompOpt returns the seccomp option for a profile: none for privileged
// processes, for no profile and for Unconfined; containerd's default
// profile (computed from the final capabilities, so it must come after
// them) for RuntimeDefault; the JSON file for Localhost, read now so that
// an unreadable or malformed profile is an InvalidArgument of the request.
func seccompOpt(prefix string, sp *runtime.SecurityProfile, legacy string, privileged bool, root string) (oci.SpecOpts, error) {
	p, field, err := securityProfile(prefix+".seccomp", sp, prefix+".seccomp_profile_path", legacy)
	if err != nil {
		return nil, err
	}
	if privileged || p == nil {
		return oci.WithSeccompUnconfined, nil
	}
	switch p.GetProfileType() {
	case runtime.SecurityProfile_Unconfined:
		return oci.WithSeccompUnconfined, nil
	case runtime.SecurityProfile_RuntimeDefault:
		return seccomp.WithDefaultProfile(), nil
	case runtime.SecurityProfile_Localhost:
		data, err := loadSeccompProfile(field, p.GetLocalhostRef(), root)
		if err != nil {
			return nil, err
		}
		return withSeccompJSON(data), nil
	}
	return nil, invalid("%s.profile_type: unknown type %v", field, p.GetProfileType())
}

func loadSeccompProfile(field, ref, root string) ([]byte, error) {
	file := strings.TrimPrefix(ref, profileLocalhost)
	if file == "" {
		return nil, invalid("%s: localhost profile path is empty", field)
	}
	if !filepath.IsAbs(file) {
		if root == "" {
			return nil, invalid("%s: localhost profile %q is not an absolute path", field, file)
		}
		file = filepath.Join(root, file)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, invalid("%s: cannot read seccomp profile: %v", field, err)
	}
	var probe specs.LinuxSeccomp
	if err := json.Unmarshal(data, &probe); err != nil {
		return nil, invalid("%s: seccomp profile %q is not valid JSON: %v", field, file, err)
	}
	return data, nil
}

// withSeccompJSON sets a seccomp profile decoded afresh for every spec, so
// specs generated from the same options share nothing.
func withSeccompJSON(data []byte) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Linux == nil {
			s.Linux = &specs.Linux{}
		}
		var sc specs.LinuxSeccomp
		if err := json.Unmarshal(data, &sc); err != nil {
			return fmt.Errorf("decode seccomp profile: %w", err)
		}
		s.Linux.Seccomp = &sc
		return nil
	}
}

// checkAppArmor accepts what a node without AppArmor can honour: no
// profile, Unconfined, and RuntimeDefault (the runtime's default on such a
// node is no confinement, as with docker). A named (Localhost) profile
// cannot be enforced, so it is refused with NotImplemented rather than
// silently ignored.
func checkAppArmor(prefix string, sp *runtime.SecurityProfile, legacy string) error {
	p, field, err := securityProfile(prefix+".apparmor", sp, prefix+".apparmor_profile", legacy)
	if err != nil {
		return err
	}
	if p.GetProfileType() == runtime.SecurityProfile_Localhost {
		return notImplemented("%s: AppArmor profile %q requested but this node has no AppArmor", field, p.GetLocalhostRef())
	}
	return nil
}

// withPrivileged is oci.WithPrivileged (all of the daemon's capabilities,
// no masked or read-only paths, writable /sys and cgroupfs, no LSM or
// seccomp) plus every host device, all allowed.
func withPrivileged() oci.SpecOpts {
	return oci.Compose(oci.WithPrivileged, oci.WithHostDevices, oci.WithAllDevicesAllowed)
}
