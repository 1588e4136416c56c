package image

import (
	"testing"

	"github.com/containerd/containerd/errdefs"
	"github.com/distribution/reference"
	"github.com/opencontainers/go-digest"
)

func TestNormalize(t *testing.T) {
	d := "sha256:" + "ab12" + "0000000000000000000000000000000000000000000000000000000000ff"[:60]
	tests := []struct{ in, want string }{
		{"busybox", "docker.io/library/busybox:latest"},
		{"busybox:1.36", "docker.io/library/busybox:1.36"},
		{"library/busybox", "docker.io/library/busybox:latest"},
		{"docker.io/busybox", "docker.io/library/busybox:latest"},
		{"registry.k8s.io/pause:3.9", "registry.k8s.io/pause:3.9"},
		{"localhost:5000/a/b", "localhost:5000/a/b:latest"},
		{"busybox@" + d, "docker.io/library/busybox@" + d},
		{"busybox:1.36@" + d, "docker.io/library/busybox@" + d},
		{DefaultSandboxImage, DefaultSandboxImage},
	}
	for _, tc := range tests {
		got, err := Normalize(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("Normalize(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	for _, bad := range []string{"", "Busybox", "busybox:", "a b", "busybox@sha256:12"} {
		if _, err := Normalize(bad); !errdefs.IsInvalidArgument(err) {
			t.Errorf("Normalize(%q) = %v, want invalid argument", bad, err)
		}
	}
}

// TestDefaultSandboxImageIsNormalized: EnsureSandboxImage compares the
// normalized configured ref with DefaultSandboxImage as is.
func TestDefaultSandboxImageIsNormalized(t *testing.T) {
	n, err := Normalize(DefaultSandboxImage)
	if err != nil || n != DefaultSandboxImage {
		t.Fatalf("Normalize(DefaultSandboxImage) = %q, %v", n, err)
	}
}

func TestRepoDigestAndTag(t *testing.T) {
	m := digest.FromString("manifest")
	named, _ := reference.ParseDockerRef("busybox:1.36")
	rd, rt := repoDigestAndTag(named, m)
	mustEqual(t, "repoDigest", rd, "docker.io/library/busybox@"+m.String())
	mustEqual(t, "repoTag", rt, "docker.io/library/busybox:1.36")
	named, _ = reference.ParseDockerRef("busybox@" + m.String())
	rd, rt = repoDigestAndTag(named, m)
	mustEqual(t, "repoDigest of digest ref", rd, "docker.io/library/busybox@"+m.String())
	mustEqual(t, "repoTag of digest ref", rt, "")
}

func TestNameKind(t *testing.T) {
	m := digest.FromString("x").String()
	tests := map[string]refKind{
		"docker.io/library/busybox:1.36": kindTag,
		"docker.io/library/busybox@" + m: kindDigest,
		m:                                kindOther,
		"docker.io/library/busybox":      kindOther,
	}
	for in, want := range tests {
		if got := nameKind(in); got != want {
			t.Errorf("nameKind(%q) = %v, want %v", in, got, want)
		}
	}
}

func TestIDPrefixOf(t *testing.T) {
	tests := []struct {
		in   string
		want string
		ok   bool
	}{
		{"3f57d9401f8d", "sha256:3f57d9401f8d", true},
		{"sha256:3f57", "sha256:3f57", true},
		{"busybox", "", false},
		{"ABC", "", false},
		{"sha256:", "", false},
	}
	for _, tc := range tests {
		got, ok := idPrefixOf(tc.in)
		if got != tc.want || ok != tc.ok {
			t.Errorf("idPrefixOf(%q) = %q, %v", tc.in, got, ok)
		}
	}
}
