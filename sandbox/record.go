package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// RecordVersion is the format of sandbox.json this podshim writes and
// reads. A record of a later version (a newer podshim, then a downgrade)
// is refused as broken rather than half understood.
const RecordVersion = 1

// ErrBrokenRecord marks a sandbox record that exists but cannot be used:
// empty, truncated, not JSON, of another version, or missing what every
// sandbox has. Recovery removes such a sandbox (see Recover).
var ErrBrokenRecord = errors.New("broken sandbox record")

// loadMetadata reads and checks the record at path, <root>/sandboxes/<id>/
// sandbox.json. A missing file is the os error (fs.ErrNotExist); anything
// else wrong wraps ErrBrokenRecord and names the path.
func loadMetadata(path string) (Metadata, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Metadata{}, err
	}
	return decodeMetadata(path, filepath.Base(filepath.Dir(path)), data)
}

// decodeMetadata decodes and checks the record of sandbox id read from
// path.
func decodeMetadata(path, id string, data []byte) (Metadata, error) {
	var m Metadata
	if len(data) == 0 {
		return m, fmt.Errorf("%w %s: empty file", ErrBrokenRecord, path)
	}
	if err := json.Unmarshal(data, &m); err != nil {
		return Metadata{}, fmt.Errorf("%w %s: %v", ErrBrokenRecord, path, err)
	}
	var problem string
	switch {
	case m.Version > RecordVersion || m.Version < 0:
		problem = fmt.Sprintf("format version %d, this podshim reads up to %d", m.Version, RecordVersion)
	case m.ID != id:
		problem = fmt.Sprintf("id %q, want %q (the record's directory)", m.ID, id)
	case m.Name == "":
		problem = "no name"
	case m.Config == nil || m.Config.Metadata == nil:
		problem = "no pod config"
	case m.Runtime == "":
		problem = "no runtime"
	}
	if problem != "" {
		return Metadata{}, fmt.Errorf("%w %s: %s", ErrBrokenRecord, path, problem)
	}
	return m, nil
}
