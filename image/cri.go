package image

import (
	"encoding/json"
	"strconv"
	"strings"

	ocispec "github.com/opencontainers/image-spec/specs-go/v1"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// ToCRI returns img as CRI reports it: ID, repo tags and digests, size,
// pinned, and the image user as a uid when numeric, else as a username.
func ToCRI(img Image) *runtime.Image {
	out := &runtime.Image{
		Id:          img.ID,
		RepoTags:    img.RepoTags,
		RepoDigests: img.RepoDigests,
		Size:        img.Size,
		Spec:        &runtime.ImageSpec{Image: img.ID},
		Pinned:      img.Pinned,
	}
	uid, username := userFromImage(img.Config.User)
	if uid != nil {
		out.Uid = &runtime.Int64Value{Value: *uid}
	}
	out.Username = username
	return out
}

// userFromImage splits an image USER ("1000", "1000:1000", "nobody",
// "nobody:nogroup") into a uid or a username; both are empty when unset.
func userFromImage(user string) (*int64, string) {
	if user == "" {
		return nil, ""
	}
	user, _, _ = strings.Cut(user, ":")
	uid, err := strconv.ParseInt(user, 10, 64)
	if err != nil {
		return nil, user
	}
	return &uid, ""
}

// VerboseInfo returns the Info map of a verbose ImageStatus, as containerd's
// CRI gives it: {"info": {"chainID": ..., "imageSpec": ...}} in JSON.
func VerboseInfo(img Image) map[string]string {
	info := struct {
		ChainID   string         `json:"chainID"`
		ImageSpec *ocispec.Image `json:"imageSpec"`
	}{img.ChainID, img.Spec}
	b, err := json.Marshal(info)
	if err != nil {
		return map[string]string{"info": err.Error()}
	}
	return map[string]string{"info": string(b)}
}
