package checkpoint

import "time"

// The files of a container checkpoint archive, as CRI-O, containerd's CRI
// and Podman write them and checkpointctl reads them
// (github.com/checkpoint-restore/checkpointctl/lib).
const (
	// ConfigDumpFile is the container's identity and base image
	// (ContainerConfig as JSON).
	ConfigDumpFile = "config.dump"
	// SpecDumpFile is the container's OCI runtime spec (config.json).
	SpecDumpFile = "spec.dump"
	// StatusDumpFile is the container's CRI ContainerStatus as JSON
	// (containerd's CRI writes it; optional on restore).
	StatusDumpFile = "status.dump"
	// ImagesDir is the directory of CRIU's image files.
	ImagesDir = "checkpoint"
	// RootfsDiffFile is a tar of the files the container added or changed
	// in its root filesystem.
	RootfsDiffFile = "rootfs-diff.tar"
	// DeletedFilesFile lists, as a JSON array of absolute paths, the files
	// of the image that the container deleted. Absent when there are none.
	DeletedFilesFile = "deleted.files"
	// StatsDumpFile is CRIU's dump statistics.
	StatsDumpFile = "stats-dump"
	// DumpLogFile is CRIU's dump log.
	DumpLogFile = "dump.log"
	// ContainerLogFile is the container's CRI log at checkpoint time.
	ContainerLogFile = "container.log"
)

// inventoryImage is the CRIU image file every dump has: a checkpoint
// directory without it holds no checkpoint.
const inventoryImage = "inventory.img"

// Annotations a restored container carries, as containerd's CRI sets them.
const (
	AnnotationRestored        = "restored"
	AnnotationCheckpointedAt  = "checkpointedAt"
	AnnotationCheckpointImage = "checkpointImage"
)

// ContainerConfig is config.dump: checkpointctl's ContainerConfig, the
// JSON field names are the format's.
type ContainerConfig struct {
	ID              string    `json:"id"`
	Name            string    `json:"name"`
	RootfsImage     string    `json:"rootfsImage,omitempty"`     // the image as the user named it
	RootfsImageRef  string    `json:"rootfsImageRef,omitempty"`  // its repo digest (or ID)
	RootfsImageName string    `json:"rootfsImageName,omitempty"` // its name
	OCIRuntime      string    `json:"runtime,omitempty"`
	CreatedTime     time.Time `json:"createdTime"`
	CheckpointedAt  time.Time `json:"checkpointedTime"`
	RestoredAt      time.Time `json:"restoredTime"`
	Restored        bool      `json:"restored"`
}
