// Package features decides, once at start-up, which optional CRI features
// this node's stack (containerd and its snapshotter, runc, the kernel) can
// honour. Status announces exactly those; requests that need one of the
// others are refused with FailedPrecondition before they reach runc.
//
// Decide is pure (table-tested); Detect gathers its inputs.
package features

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
)

// Set is what the stack supports.
type Set struct {
	// UserNamespaces: pods with userns_options mode POD (hostUsers: false)
	// run their pause and containers in a user namespace of their own,
	// with an idmapped rootfs (the snapshotter's remap-ids) and idmapped
	// pod files.
	UserNamespaces bool
	// IDMappedMounts: bind mounts with uid/gid mappings (runc's idmap mount
	// extension); CRI mounts may carry uid_mappings / gid_mappings.
	IDMappedMounts bool
	// RecursiveReadOnlyMounts: runc's "rro" mount option.
	RecursiveReadOnlyMounts bool
	// SupplementalGroupsPolicy: Merge and Strict, and ContainerStatus.user.
	SupplementalGroupsPolicy bool
	// SandboxShim: containerd creates a pod's container tasks in the shim
	// of its pause container (registered under the sandbox's ID) without
	// running the shim binary again (containerd 2.0 and later; see package
	// sandboxshim).
	SandboxShim bool
	// Reasons say, one per feature and in a fixed order, why each is on or
	// off (for the start-up log).
	Reasons []Reason
}

// Reason explains one feature's state.
type Reason struct {
	Feature string
	On      bool
	Why     string
}

// Names of the features in Reasons.
const (
	UserNamespaces           = "user namespaces"
	IDMappedMounts           = "idmapped mounts"
	RecursiveReadOnlyMounts  = "recursive read-only mounts"
	SupplementalGroupsPolicy = "supplemental groups policy"
	SandboxShim              = "sandbox shim"
)

// CapRemapIDs is the snapshotter capability of containerd's overlayfs
// snapshotter (containerd 2.0 and later, on kernels with idmapped overlay
// layers) to mount a snapshot idmapped per its
// containerd.io/snapshot/{uid,gid}mapping labels.
const CapRemapIDs = "remap-ids"

// Inputs are what Detect learns about the stack.
type Inputs struct {
	ContainerdVersion string
	Snapshotter       string
	// SnapshotterCaps are the snapshotter's capabilities per containerd's
	// introspection service (nil with SnapshotterErr when unknown).
	SnapshotterCaps []string
	SnapshotterErr  error
	// RuncFeatures is the output of `runc features` (nil with RuncErr when
	// it failed: runc before 1.1 has no such command).
	RuncFeatures []byte
	RuncErr      error
	// MountSetattr is nil when the kernel has mount_setattr(2) (5.12+),
	// which rro and idmapped mounts need.
	MountSetattr error
}

// runcFeatures is the part of runc's features document (runtime-spec
// specs-go/features, 1.2) podshim reads.
type runcFeatures struct {
	MountOptions []string `json:"mountOptions"`
	Linux        *struct {
		Namespaces      []string `json:"namespaces"`
		MountExtensions *struct {
			IDMap *struct {
				Enabled *bool `json:"enabled"`
			} `json:"idmap"`
		} `json:"mountExtensions"`
	} `json:"linux"`
}

// Decide returns the features the stack described by in supports.
func Decide(in Inputs) Set {
	var s Set
	var rf runcFeatures
	runcErr := in.RuncErr
	if runcErr == nil {
		if err := json.Unmarshal(in.RuncFeatures, &rf); err != nil {
			runcErr = fmt.Errorf("parse `runc features`: %w", err)
		}
	}

	// Recursive read-only mounts: runc applies "rro" with mount_setattr.
	switch {
	case runcErr != nil:
		s.add(RecursiveReadOnlyMounts, false, fmt.Sprintf("runc's features are unknown (%v)", runcErr))
	case !slices.Contains(rf.MountOptions, "rro"):
		s.add(RecursiveReadOnlyMounts, false, "runc does not list the \"rro\" mount option in `runc features`")
	case in.MountSetattr != nil:
		s.add(RecursiveReadOnlyMounts, false, fmt.Sprintf("the kernel lacks mount_setattr(2): %v", in.MountSetattr))
	default:
		s.RecursiveReadOnlyMounts = true
		s.add(RecursiveReadOnlyMounts, true, "runc lists \"rro\" and the kernel has mount_setattr(2)")
	}

	// Idmapped bind mounts: runc's idmap mount extension (runc 1.2+).
	idmap := false
	if runcErr == nil && rf.Linux != nil && rf.Linux.MountExtensions != nil && rf.Linux.MountExtensions.IDMap != nil &&
		rf.Linux.MountExtensions.IDMap.Enabled != nil {
		idmap = *rf.Linux.MountExtensions.IDMap.Enabled
	}
	switch {
	case runcErr != nil:
		s.add(IDMappedMounts, false, fmt.Sprintf("runc's features are unknown (%v)", runcErr))
	case !idmap:
		s.add(IDMappedMounts, false, "runc does not report linux.mountExtensions.idmap.enabled (runc 1.2+ does)")
	case in.MountSetattr != nil:
		s.add(IDMappedMounts, false, fmt.Sprintf("the kernel lacks mount_setattr(2): %v", in.MountSetattr))
	default:
		s.IDMappedMounts = true
		s.add(IDMappedMounts, true, "runc reports linux.mountExtensions.idmap.enabled")
	}

	// User namespaces: runc's user namespace, idmapped pod files, and a
	// snapshotter that mounts the rootfs idmapped.
	userns := runcErr == nil && rf.Linux != nil && slices.Contains(rf.Linux.Namespaces, "user")
	switch {
	case runcErr != nil:
		s.add(UserNamespaces, false, fmt.Sprintf("runc's features are unknown (%v)", runcErr))
	case !userns:
		s.add(UserNamespaces, false, "runc does not list the user namespace in `runc features`")
	case !s.IDMappedMounts:
		s.add(UserNamespaces, false, "idmapped mounts are off (see above)")
	case in.SnapshotterErr != nil:
		s.add(UserNamespaces, false, fmt.Sprintf("capabilities of snapshotter %q are unknown: %v", in.Snapshotter, in.SnapshotterErr))
	case !slices.Contains(in.SnapshotterCaps, CapRemapIDs):
		s.add(UserNamespaces, false, fmt.Sprintf("snapshotter %q of containerd %s lacks the %q capability (idmapped rootfs; containerd 2.0+ overlayfs)",
			in.Snapshotter, in.ContainerdVersion, CapRemapIDs))
	default:
		s.UserNamespaces = true
		s.add(UserNamespaces, true, fmt.Sprintf("runc has user namespaces and idmapped mounts, snapshotter %q of containerd %s has %q",
			in.Snapshotter, in.ContainerdVersion, CapRemapIDs))
	}

	// podshim resolves users and groups itself (cri/spec) and runc sets
	// exactly the groups of the spec: nothing in the stack to wait for.
	s.SupplementalGroupsPolicy = true
	s.add(SupplementalGroupsPolicy, true, "podshim resolves groups from the image's /etc/group itself; runc sets exactly the spec's groups")

	// Containers join the pause's shim through containerd's sandbox store.
	switch major := containerdMajor(in.ContainerdVersion); {
	case major >= 2:
		s.SandboxShim = true
		s.add(SandboxShim, true, fmt.Sprintf("containerd %s creates a container's task in its sandbox's shim (no shim binary run per container)", in.ContainerdVersion))
	case major < 0:
		s.add(SandboxShim, false, fmt.Sprintf("containerd's version %q is unknown", in.ContainerdVersion))
	default:
		// containerd 1.7 has the path too, but publishes no exit for a
		// joined task when the shim dies and never shuts the shim down
		// for one: podshim keeps running the shim binary there.
		s.add(SandboxShim, false, fmt.Sprintf("containerd %s runs the shim binary for each container (2.0+ joins the sandbox's shim)", in.ContainerdVersion))
	}
	return s
}

// containerdMajor is the major version of a containerd version string
// ("v2.4.2", "1.6.20~ds1"), or -1 when it has none.
func containerdMajor(v string) int {
	v = strings.TrimPrefix(v, "v")
	major, _, _ := strings.Cut(v, ".")
	n, err := strconv.Atoi(major)
	if err != nil {
		return -1
	}
	return n
}

func (s *Set) add(feature string, on bool, why string) {
	s.Reasons = append(s.Reasons, Reason{Feature: feature, On: on, Why: why})
}
