//go:build kubelet_e2e

package e2e

import "time"

// The subset of the Kubernetes Pod object the tests write as static pod
// manifests and read back from kubelet's /pods. Written out here rather than
// imported: podshim's module does not depend on k8s.io/api.

// Pod is a Kubernetes v1 Pod.
type Pod struct {
	APIVersion string     `json:"apiVersion,omitempty"`
	Kind       string     `json:"kind,omitempty"`
	Metadata   ObjectMeta `json:"metadata"`
	Spec       PodSpec    `json:"spec"`
	Status     PodStatus  `json:"status,omitempty"`
}

// PodList is what /pods returns.
type PodList struct {
	Items []Pod `json:"items"`
}

// ObjectMeta is a pod's metadata.
type ObjectMeta struct {
	Name      string `json:"name"`
	Namespace string `json:"namespace,omitempty"`
	UID       string `json:"uid,omitempty"`
}

// PodSpec is a pod's spec.
type PodSpec struct {
	Volumes                       []Volume    `json:"volumes,omitempty"`
	InitContainers                []Container `json:"initContainers,omitempty"`
	Containers                    []Container `json:"containers"`
	RestartPolicy                 string      `json:"restartPolicy,omitempty"`
	TerminationGracePeriodSeconds *int64      `json:"terminationGracePeriodSeconds,omitempty"`
	ShareProcessNamespace         *bool       `json:"shareProcessNamespace,omitempty"`
}

// Volume is a pod volume: a hostPath or an emptyDir.
type Volume struct {
	Name     string    `json:"name"`
	HostPath *HostPath `json:"hostPath,omitempty"`
	EmptyDir *EmptyDir `json:"emptyDir,omitempty"`
}

// HostPath is a hostPath volume source.
type HostPath struct {
	Path string `json:"path"`
	Type string `json:"type,omitempty"`
}

// EmptyDir is an emptyDir volume source.
type EmptyDir struct {
	Medium string `json:"medium,omitempty"`
}

// Container is a container of a pod.
type Container struct {
	Name            string        `json:"name"`
	Image           string        `json:"image"`
	Command         []string      `json:"command,omitempty"`
	ImagePullPolicy string        `json:"imagePullPolicy,omitempty"`
	Resources       *Resources    `json:"resources,omitempty"`
	VolumeMounts    []VolumeMount `json:"volumeMounts,omitempty"`
	Lifecycle       *Lifecycle    `json:"lifecycle,omitempty"`
}

// Resources are a container's requests and limits ("cpu", "memory").
type Resources struct {
	Requests map[string]string `json:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty"`
}

// VolumeMount mounts a pod volume into a container.
type VolumeMount struct {
	Name      string `json:"name"`
	MountPath string `json:"mountPath"`
}

// Lifecycle holds a container's hooks.
type Lifecycle struct {
	PostStart *LifecycleHandler `json:"postStart,omitempty"`
	PreStop   *LifecycleHandler `json:"preStop,omitempty"`
}

// LifecycleHandler is an exec hook.
type LifecycleHandler struct {
	Exec *ExecAction `json:"exec,omitempty"`
}

// ExecAction is a command run in the container.
type ExecAction struct {
	Command []string `json:"command"`
}

// PodStatus is a pod's status as kubelet computes it.
type PodStatus struct {
	Phase                 string            `json:"phase,omitempty"`
	Reason                string            `json:"reason,omitempty"`
	Message               string            `json:"message,omitempty"`
	PodIP                 string            `json:"podIP,omitempty"`
	InitContainerStatuses []ContainerStatus `json:"initContainerStatuses,omitempty"`
	ContainerStatuses     []ContainerStatus `json:"containerStatuses,omitempty"`
	QOSClass              string            `json:"qosClass,omitempty"`
}

// ContainerStatus is one container's status.
type ContainerStatus struct {
	Name         string         `json:"name"`
	State        ContainerState `json:"state"`
	LastState    ContainerState `json:"lastState"`
	Ready        bool           `json:"ready"`
	RestartCount int            `json:"restartCount"`
	Image        string         `json:"image"`
	ImageID      string         `json:"imageID"`
	ContainerID  string         `json:"containerID,omitempty"`
}

// ContainerState holds exactly one of its fields (or none, unknown).
type ContainerState struct {
	Waiting    *StateWaiting    `json:"waiting,omitempty"`
	Running    *StateRunning    `json:"running,omitempty"`
	Terminated *StateTerminated `json:"terminated,omitempty"`
}

// StateWaiting is a container not running yet (or again).
type StateWaiting struct {
	Reason  string `json:"reason,omitempty"`
	Message string `json:"message,omitempty"`
}

// StateRunning is a running container.
type StateRunning struct {
	StartedAt time.Time `json:"startedAt"`
}

// StateTerminated is an exited container.
type StateTerminated struct {
	ExitCode    int       `json:"exitCode"`
	Reason      string    `json:"reason,omitempty"`
	Message     string    `json:"message,omitempty"`
	StartedAt   time.Time `json:"startedAt"`
	FinishedAt  time.Time `json:"finishedAt"`
	ContainerID string    `json:"containerID,omitempty"`
}

// container returns the status of the named (app) container, or nil.
func (s *PodStatus) container(name string) *ContainerStatus {
	for i := range s.ContainerStatuses {
		if s.ContainerStatuses[i].Name == name {
			return &s.ContainerStatuses[i]
		}
	}
	return nil
}

// initContainer returns the status of the named init container, or nil.
func (s *PodStatus) initContainer(name string) *ContainerStatus {
	for i := range s.InitContainerStatuses {
		if s.InitContainerStatuses[i].Name == name {
			return &s.InitContainerStatuses[i]
		}
	}
	return nil
}
