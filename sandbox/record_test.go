package sandbox

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestLoadMetadataRefusesBrokenRecords(t *testing.T) {
	const id = "0123abcd"
	good := Metadata{ID: id, Name: "p_ns_uid_0", Runtime: DefaultRuntime,
		Config: &runtime.PodSandboxConfig{Metadata: &runtime.PodSandboxMetadata{Name: "p", Namespace: "ns", Uid: "uid"}}}
	enc := func(m Metadata) string {
		data, err := json.Marshal(m)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	goodJSON := enc(good)
	newer, otherID, noConfig := good, good, good
	newer.Version = RecordVersion + 1
	otherID.ID = "ffff"
	noConfig.Config = nil
	cases := map[string]string{
		"empty":              "",
		"truncated":          goodJSON[:len(goodJSON)/2],
		"garbage":            "\x00\x17not json at all",
		"newer version":      enc(newer),
		"wrong field type":   strings.Replace(goodJSON, `"createdAt":0`, `"createdAt":"yesterday"`, 1),
		"another pod's":      enc(otherID),
		"no config":          enc(noConfig),
		"empty object":       "{}",
		"JSON of other kind": "[1,2,3]",
	}
	dir := filepath.Join(t.TempDir(), id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "sandbox.json")
	for name, content := range cases {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		_, err := loadMetadata(path)
		if !errors.Is(err, ErrBrokenRecord) || !strings.Contains(err.Error(), path) {
			t.Errorf("%s: loadMetadata = %v, want ErrBrokenRecord naming %s", name, err, path)
		}
	}
	os.Remove(path)
	if _, err := loadMetadata(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing record: %v, want ErrNotExist", err)
	}
	// A good record, and one written before the version was recorded.
	for _, content := range []string{goodJSON, strings.Replace(goodJSON, `,"version":1`, "", 1)} {
		if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
		m, err := loadMetadata(path)
		if err != nil || m.ID != id || m.Config.Metadata.Name != "p" {
			t.Errorf("good record %s: %+v, %v", content, m, err)
		}
	}
}

func TestSaveRecordsVersion(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "abc")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	sb := &Sandbox{metaPath: filepath.Join(dir, "sandbox.json"), meta: Metadata{ID: "abc", Name: "n", Runtime: DefaultRuntime,
		Config: &runtime.PodSandboxConfig{Metadata: &runtime.PodSandboxMetadata{Name: "p"}}}}
	if err := sb.save(); err != nil {
		t.Fatal(err)
	}
	m, err := loadMetadata(sb.metaPath)
	if err != nil || m.Version != RecordVersion {
		t.Errorf("saved record: version %d, %v; want %d", m.Version, err, RecordVersion)
	}
}
