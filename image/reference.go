package image

import (
	"fmt"
	"strings"

	"github.com/containerd/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

// idPrefix starts every image ID: IDs are sha256 digests of image configs.
const idPrefix = "sha256:"

// Normalize returns ref the way docker and containerd's CRI name images:
// "busybox" is "docker.io/library/busybox:latest", a digest ref keeps its
// digest and loses its tag. A malformed ref is an invalid argument.
func Normalize(ref string) (string, error) {
	named, err := parseRef(ref)
	if err != nil {
		return "", err
	}
	return named.String(), nil
}

func parseRef(ref string) (reference.Named, error) {
	named, err := reference.ParseDockerRef(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w: %w", ref, errdefs.ErrInvalidArgument, err)
	}
	return named, nil
}

// repoDigestAndTag returns the names a pulled image gets besides its ID:
// the tag ref when named carries a tag, and the repo@digest ref.
func repoDigestAndTag(named reference.Named, manifest digest.Digest) (repoDigest, repoTag string) {
	if _, ok := named.(reference.NamedTagged); ok {
		repoTag = named.String()
	}
	if _, ok := named.(reference.Canonical); ok {
		repoDigest = named.String()
	} else {
		repoDigest = named.Name() + "@" + manifest.String()
	}
	return repoDigest, repoTag
}

type refKind int

const (
	kindOther  refKind = iota // an ID name or something unparsable
	kindTag                   // repo:tag
	kindDigest                // repo@sha256:...
)

// nameKind tells a containerd image name's kind, as containerd's CRI sorts
// names into repo tags and repo digests.
func nameKind(name string) refKind {
	if strings.HasPrefix(name, idPrefix) {
		return kindOther
	}
	parsed, err := reference.ParseAnyReference(name)
	if err != nil {
		return kindOther
	}
	if _, ok := parsed.(reference.Canonical); ok {
		return kindDigest
	}
	if _, ok := parsed.(reference.Tagged); ok {
		return kindTag
	}
	return kindOther
}

// idPrefixOf turns a possible short ID ("3f57d9401f8d", "sha256:3f57") into
// an ID prefix, or reports that ref cannot be one.
func idPrefixOf(ref string) (string, bool) {
	hex := strings.TrimPrefix(ref, idPrefix)
	if hex == "" || len(hex) > 64 {
		return "", false
	}
	for _, c := range hex {
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return "", false
		}
	}
	return idPrefix + hex, true
}
