package image

import (
	"encoding/json"
	"testing"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
)

func TestToCRIUser(t *testing.T) {
	tests := []struct {
		user     string
		uid      int64 // -1: none
		username string
	}{
		{"", -1, ""},
		{"0", 0, ""},
		{"1000:1000", 1000, ""},
		{"nobody", -1, "nobody"},
		{"www-data:www-data", -1, "www-data"},
	}
	for _, tc := range tests {
		img := Image{ID: testID(1), Size: 42, Pinned: true, RepoTags: []string{"docker.io/library/x:1"}}
		img.Config.User = tc.user
		c := ToCRI(img)
		if c.Id != img.ID || c.Size != 42 || !c.Pinned || len(c.RepoTags) != 1 || c.Spec.Image != img.ID {
			t.Fatalf("ToCRI = %+v", c)
		}
		gotUID := int64(-1)
		if c.Uid != nil {
			gotUID = c.Uid.Value
		}
		if gotUID != tc.uid || c.Username != tc.username {
			t.Errorf("user %q: uid %d username %q", tc.user, gotUID, c.Username)
		}
	}
}

func TestVerboseInfo(t *testing.T) {
	img := Image{ChainID: "sha256:c", Spec: &ocispec.Image{Config: ocispec.ImageConfig{User: "7"}}}
	var got struct {
		ChainID   string        `json:"chainID"`
		ImageSpec ocispec.Image `json:"imageSpec"`
	}
	if err := json.Unmarshal([]byte(VerboseInfo(img)["info"]), &got); err != nil {
		t.Fatal(err)
	}
	if got.ChainID != "sha256:c" || got.ImageSpec.Config.User != "7" {
		t.Fatalf("VerboseInfo = %+v", got)
	}
}
