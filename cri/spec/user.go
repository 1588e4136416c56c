package spec

import (
	"context"
	"errors"
	"fmt"
	"math"
	"os"
	"sort"
	"strconv"
	"strings"

	"github.com/containerd/containerd/containers"
	"github.com/containerd/containerd/oci"
	imagespec "github.com/opencontainers/image-spec/specs-go/v1"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// userSpec is the user a process runs as, as the CRI asked for it.
type userSpec struct {
	user  string // for oci.WithUser: "name", "uid", "uid:gid", "name:gid", "name:group"
	field string // where user came from, for errors
	// groupsOf is the user (name or uid) whose /etc/group memberships become
	// supplementary groups.
	groupsOf string
}

// resolveUser applies CRI's rules (containerd's generateUserString):
//
//	username            -> username
//	username, uid       -> username
//	username, [uid,] gid -> username:gid
//	uid                 -> uid
//	uid, gid            -> uid:gid
//	gid                 -> InvalidArgument
//	(none)              -> the image's USER, or root
func resolveUser(prefix, username string, uid, gid *runtime.Int64Value, img imagespec.ImageConfig) (userSpec, error) {
	var u userSpec
	if uid != nil {
		if v := uid.GetValue(); v < 0 || v > math.MaxInt32 {
			return u, invalid("%s.run_as_user %d is out of range [0, %d]", prefix, v, math.MaxInt32)
		}
		u.user = strconv.FormatInt(uid.GetValue(), 10)
		u.field = prefix + ".run_as_user"
	}
	if username != "" {
		if strings.Contains(username, ":") {
			return u, invalid("%s.run_as_username %q contains ':'", prefix, username)
		}
		u.user = username
		u.field = prefix + ".run_as_username"
	}
	u.groupsOf = u.user
	if gid != nil {
		if v := gid.GetValue(); v < 0 || v > math.MaxInt32 {
			return u, invalid("%s.run_as_group %d is out of range [0, %d]", prefix, v, math.MaxInt32)
		}
		if u.user == "" {
			return u, invalid("%s.run_as_group is set without run_as_user or run_as_username", prefix)
		}
		u.user += ":" + strconv.FormatInt(gid.GetValue(), 10)
		u.field += " and run_as_group"
	}
	if u.user != "" {
		return u, nil
	}
	if img.User == "" {
		return userSpec{groupsOf: "0"}, nil
	}
	parts := strings.Split(img.User, ":")
	if len(parts) > 2 || parts[0] == "" {
		return u, invalid("image config user %q is not one of user, uid, user:group, uid:gid", img.User)
	}
	return userSpec{user: img.User, field: "image config user", groupsOf: parts[0]}, nil
}

// userOpts sets uid, gid and supplementary groups: the user's groups from
// the image's /etc/group (unless policy is Strict), the primary gid, and the
// CRI's supplemental groups.
func userOpts(u userSpec, supplemental []int64, policy runtime.SupplementalGroupsPolicy, prefix string, files *ImageFiles) ([]oci.SpecOpts, error) {
	groups := make([]uint32, 0, len(supplemental))
	for i, g := range supplemental {
		if g < 0 || g > math.MaxInt32 {
			return nil, invalid("%s.supplemental_groups[%d] %d is out of range [0, %d]", prefix, i, g, math.MaxInt32)
		}
		groups = append(groups, uint32(g))
	}
	var opts []oci.SpecOpts
	if u.user != "" {
		opts = append(opts, withImageFiles(files, withUser(u)))
	}
	if policy != runtime.SupplementalGroupsPolicy_Strict {
		opts = append(opts, withImageFiles(files, withImageGroups(u.groupsOf)))
	}
	return append(opts, withGroups(groups)), nil
}

// withUser wraps oci.WithUser, turning "no such user/group" into
// InvalidArgument naming the field.
func withUser(u userSpec) oci.SpecOpts {
	set := oci.WithUser(u.user)
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		err := set(ctx, client, c, s)
		switch {
		case err == nil:
			return nil
		case errors.Is(err, oci.ErrNoUsersFound), errors.Is(err, oci.ErrNoGroupsFound), errors.Is(err, os.ErrNotExist):
			return invalid("%s %q not found in the image's /etc/passwd or /etc/group: %v", u.field, u.user, err)
		case strings.Contains(err.Error(), "out of range"), strings.Contains(err.Error(), "invalid USER value"):
			return invalid("%s %q: %v", u.field, u.user, err)
		}
		return fmt.Errorf("resolve %s %q in the image: %w", u.field, u.user, err)
	}
}

// withImageGroups adds the groups that list user as a member in the image's
// /etc/group (containerd's WithAdditionalGIDs), keeping the gids already set.
func withImageGroups(user string) oci.SpecOpts {
	add := oci.WithAdditionalGIDs(user)
	return func(ctx context.Context, client oci.Client, c *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		prev := s.Process.User.AdditionalGids
		if err := add(ctx, client, c, s); err != nil {
			return fmt.Errorf("supplementary groups of user %q from the image's /etc/group: %w", user, err)
		}
		s.Process.User.AdditionalGids = mergeGids(s.Process.User.AdditionalGids, prev)
		return nil
	}
}

// withGroups adds groups and the primary gid to the supplementary groups.
func withGroups(groups []uint32) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process == nil {
			s.Process = &specs.Process{}
		}
		u := &s.Process.User
		u.AdditionalGids = mergeGids(u.AdditionalGids, append([]uint32{u.GID}, groups...))
		return nil
	}
}

// mergeGids returns the sorted union of a and b.
func mergeGids(a, b []uint32) []uint32 {
	seen := make(map[uint32]bool, len(a)+len(b))
	out := make([]uint32, 0, len(a)+len(b))
	for _, g := range append(append([]uint32(nil), a...), b...) {
		if !seen[g] {
			seen[g] = true
			out = append(out, g)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// WithUserCapture copies the process user of the finished spec (uid, gid
// and supplementary groups as runc will set them, in the container's user
// namespace) into *dst, for ContainerStatus.user. Add it last.
func WithUserCapture(dst *specs.User) oci.SpecOpts {
	return func(_ context.Context, _ oci.Client, _ *containers.Container, s *oci.Spec) error {
		if s.Process != nil {
			*dst = s.Process.User
			dst.AdditionalGids = append([]uint32(nil), s.Process.User.AdditionalGids...)
		}
		return nil
	}
}
