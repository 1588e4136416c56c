package cri

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// RecordVersion is the format of container.json this podshim writes and
// reads. A record of a later version is refused as broken rather than half
// understood.
const RecordVersion = 1

// ErrBrokenRecord marks a container record (container.json or
// status.json) that exists but cannot be used: empty, truncated, not JSON,
// of another version, or missing what every container has. Recovery
// removes such a container (see Recover).
var ErrBrokenRecord = errors.New("broken container record")

// loadContainerFiles reads and checks the records of the container whose
// root dir is dir (<root>/containers/<id>). A missing file is the os error
// (fs.ErrNotExist, naming the path); anything else wrong wraps
// ErrBrokenRecord and names the path.
func loadContainerFiles(dir string) (Metadata, Status, error) {
	id := filepath.Base(dir)
	metaPath, statusPath := filepath.Join(dir, "container.json"), filepath.Join(dir, "status.json")
	data, err := os.ReadFile(metaPath)
	if err != nil {
		return Metadata{}, Status{}, err
	}
	m, err := decodeContainerMetadata(metaPath, id, data)
	if err != nil {
		return Metadata{}, Status{}, err
	}
	data, err = os.ReadFile(statusPath)
	if err != nil {
		return Metadata{}, Status{}, err
	}
	st, err := decodeContainerStatus(statusPath, data)
	if err != nil {
		return Metadata{}, Status{}, err
	}
	return m, st, nil
}

func decodeContainerMetadata(path, id string, data []byte) (Metadata, error) {
	var m Metadata
	if err := decodeRecord(path, data, &m); err != nil {
		return Metadata{}, err
	}
	var problem string
	switch {
	case m.Version > RecordVersion || m.Version < 0:
		problem = fmt.Sprintf("format version %d, this podshim reads up to %d", m.Version, RecordVersion)
	case m.ID != id:
		problem = fmt.Sprintf("id %q, want %q (the record's directory)", m.ID, id)
	case m.Name == "":
		problem = "no name"
	case m.SandboxID == "":
		problem = "no sandbox ID"
	case m.Config == nil || m.Config.Metadata == nil:
		problem = "no container config"
	}
	if problem != "" {
		return Metadata{}, fmt.Errorf("%w %s: %s", ErrBrokenRecord, path, problem)
	}
	return m, nil
}

func decodeContainerStatus(path string, data []byte) (Status, error) {
	var st Status
	if err := decodeRecord(path, data, &st); err != nil {
		return Status{}, err
	}
	if _, ok := runtime.ContainerState_name[int32(st.State)]; !ok {
		return Status{}, fmt.Errorf("%w %s: state %d", ErrBrokenRecord, path, st.State)
	}
	return st, nil
}

// decodeRecord decodes a JSON record; what cannot be decoded wraps
// ErrBrokenRecord.
func decodeRecord(path string, data []byte, v any) error {
	if len(data) == 0 {
		return fmt.Errorf("%w %s: empty file", ErrBrokenRecord, path)
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w %s: %v", ErrBrokenRecord, path, err)
	}
	return nil
}
