package cri

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

func TestLoadContainerFilesRefusesBrokenRecords(t *testing.T) {
	const id = "c0ffee"
	good := Metadata{ID: id, Name: "c_p_ns_uid_0", SandboxID: "s1",
		Config: &runtime.ContainerConfig{Metadata: &runtime.ContainerMetadata{Name: "c"}}}
	enc := func(v any) string {
		data, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return string(data)
	}
	goodMeta := enc(good)
	goodStatus := enc(Status{State: runtime.ContainerState_CONTAINER_RUNNING, Pid: 42})
	newer, noSandbox := good, good
	newer.Version = RecordVersion + 1
	noSandbox.SandboxID = ""
	dir := filepath.Join(t.TempDir(), id)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	type files struct{ meta, status string }
	cases := map[string]files{
		"empty metadata":          {"", goodStatus},
		"truncated metadata":      {goodMeta[:len(goodMeta)-7], goodStatus},
		"garbage metadata":        {"\xff\xfe garbage", goodStatus},
		"newer version":           {enc(newer), goodStatus},
		"no sandbox":              {enc(noSandbox), goodStatus},
		"wrong field type":        {strings.Replace(goodMeta, `"createdAt":0`, `"createdAt":[]`, 1), goodStatus},
		"empty status":            {goodMeta, ""},
		"truncated status":        {goodMeta, goodStatus[:5]},
		"status of unknown state": {goodMeta, `{"state":99}`},
		"status field type":       {goodMeta, `{"state":"RUNNING"}`},
	}
	for name, f := range cases {
		for file, content := range map[string]string{"container.json": f.meta, "status.json": f.status} {
			if err := os.WriteFile(filepath.Join(dir, file), []byte(content), 0o600); err != nil {
				t.Fatal(err)
			}
		}
		_, _, err := loadContainerFiles(dir)
		if !errors.Is(err, ErrBrokenRecord) || !strings.Contains(err.Error(), dir+"/") {
			t.Errorf("%s: loadContainerFiles = %v, want ErrBrokenRecord naming the file", name, err)
		}
	}
	os.WriteFile(filepath.Join(dir, "container.json"), []byte(goodMeta), 0o600)
	os.WriteFile(filepath.Join(dir, "status.json"), []byte(goodStatus), 0o600)
	m, st, err := loadContainerFiles(dir)
	if err != nil || m.ID != id || st.Pid != 42 {
		t.Errorf("good records: %+v %+v %v", m, st, err)
	}
	os.Remove(filepath.Join(dir, "status.json"))
	if _, _, err := loadContainerFiles(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing status: %v, want ErrNotExist", err)
	}
}
