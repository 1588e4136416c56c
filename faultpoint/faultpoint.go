// Package faultpoint ends podshimd at named points of the steps that change
// state, so that tests can check what a crash there leaves behind and that
// the next start-up cleans it up.
//
// A point is armed from outside the process only: podshimd reads Env once
// at start-up (FromEnv) and hands the resulting *Set to the services in
// their Options. A nil *Set is unarmed, and Hit on it is a nil check. When
// the armed point is hit the process kills itself with SIGKILL: a crash,
// not an error, so no deferred clean-up and no undo stack runs.
package faultpoint

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
)

// Env names the environment variable podshimd reads at start-up:
// "<point>" crashes at the first hit of the point, "<point>#<n>" at the
// n-th (1-based). Unset or empty arms nothing.
const Env = "PODSHIM_CRASH_AT"

// Point names a crash point.
type Point string

// The crash points, grouped by the CRI call whose steps they sit between.
const (
	// RunPodSandbox.
	RunSandboxAfterUsernsNetNS    Point = "run-sandbox/after-userns-netns"    // user namespace pod: netns and userns pinned, no metadata
	RunSandboxAfterNetNS          Point = "run-sandbox/after-netns"           // netns pinned, metadata saved (Creating)
	RunSandboxDuringCNIAdd        Point = "run-sandbox/during-cni-add"        // first CNI plugin of the chain done (veth, IP)
	RunSandboxAfterCNIAdd         Point = "run-sandbox/after-cni-add"         // CNI ADD returned
	RunSandboxAfterPauseContainer Point = "run-sandbox/after-pause-container" // pause snapshot and container record made
	RunSandboxAfterPauseTask      Point = "run-sandbox/after-pause-task"      // pause task created, not started
	RunSandboxAfterPauseStart     Point = "run-sandbox/after-pause-start"     // pause task started
	RunSandboxBeforeSave          Point = "run-sandbox/before-save"           // all done but the final metadata save

	// CreateContainer.
	CreateContainerAfterSnapshot Point = "create-container/after-snapshot" // rootfs snapshot prepared, no container record
	CreateContainerAfterRecord   Point = "create-container/after-record"   // containerd container made, no metadata file
	CreateContainerAfterMetadata Point = "create-container/after-metadata" // metadata saved, no status file

	// StartContainer.
	StartContainerAfterIO    Point = "start-container/after-io"    // FIFOs made, log file opened
	StartContainerAfterTask  Point = "start-container/after-task"  // task created, not started
	StartContainerAfterStart Point = "start-container/after-start" // task started, status not saved

	// StopContainer.
	StopContainerAfterKill Point = "stop-container/after-kill" // signal sent, exit not recorded
	StopContainerAfterExit Point = "stop-container/after-exit" // exit recorded, task not deleted

	// StopPodSandbox.
	StopSandboxAfterKill        Point = "stop-sandbox/after-kill"         // pause killed and exited
	StopSandboxAfterNetwork     Point = "stop-sandbox/after-network"      // CNI DEL done, netns not removed
	StopSandboxBeforeTaskDelete Point = "stop-sandbox/before-task-delete" // pause exited, its task not deleted

	// RemoveContainer.
	RemoveContainerAfterTask     Point = "remove-container/after-task"     // task gone, snapshot and record not
	RemoveContainerAfterSnapshot Point = "remove-container/after-snapshot" // snapshot removed, record not
	RemoveContainerAfterRecord   Point = "remove-container/after-record"   // record deleted, dirs not

	// RemovePodSandbox.
	RemoveSandboxAfterContainers Point = "remove-sandbox/after-containers" // containers removed, pause not
	RemoveSandboxAfterPause      Point = "remove-sandbox/after-pause"      // pause container deleted, shm and dirs not
	RemoveSandboxAfterStateDir   Point = "remove-sandbox/after-state-dir"  // state dir removed, root dir not

	// PullImage and RemoveImage.
	PullImageMidLayer       Point = "pull-image/mid-layer"       // half of a layer unpacked
	PullImageBeforeTag      Point = "pull-image/before-tag"      // all unpacked, no image name
	RemoveImageBetweenNames Point = "remove-image/between-names" // one of the image's names deleted

	// PullImage with --keep-layer-blobs (containerd's client pull).
	PullImageKeptBlobsMidLayer  Point = "pull-image/kept-blobs-mid-layer"  // half of a layer in a content ingest
	PullImageKeptBlobsBeforeTag Point = "pull-image/kept-blobs-before-tag" // fetched, unpacked, named by its ref only
)

// All lists every crash point, sorted.
func All() []Point {
	all := []Point{
		RunSandboxAfterUsernsNetNS, RunSandboxAfterNetNS, RunSandboxDuringCNIAdd, RunSandboxAfterCNIAdd, RunSandboxAfterPauseContainer,
		RunSandboxAfterPauseTask, RunSandboxAfterPauseStart, RunSandboxBeforeSave,
		CreateContainerAfterSnapshot, CreateContainerAfterRecord, CreateContainerAfterMetadata,
		StartContainerAfterIO, StartContainerAfterTask, StartContainerAfterStart,
		StopContainerAfterKill, StopContainerAfterExit,
		StopSandboxAfterKill, StopSandboxAfterNetwork, StopSandboxBeforeTaskDelete,
		RemoveContainerAfterTask, RemoveContainerAfterSnapshot, RemoveContainerAfterRecord,
		RemoveSandboxAfterContainers, RemoveSandboxAfterPause, RemoveSandboxAfterStateDir,
		PullImageMidLayer, PullImageBeforeTag, RemoveImageBetweenNames,
		PullImageKeptBlobsMidLayer, PullImageKeptBlobsBeforeTag,
	}
	sort.Slice(all, func(i, j int) bool { return all[i] < all[j] })
	return all
}

// Set is the armed crash point. A nil *Set arms nothing.
type Set struct {
	at   Point
	nth  int64 // crash at this hit (1-based)
	hits atomic.Int64
	kill func() // the crash; SIGKILL to the process itself
}

// FromEnv arms the point Env names, or returns nil when it is unset.
func FromEnv() (*Set, error) {
	s, err := Parse(os.Getenv(Env))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", Env, err)
	}
	return s, nil
}

// Parse arms the point spec names ("<point>" or "<point>#<n>"); "" arms
// nothing (nil). An unknown point is an error, so that a typo in a test
// does not pass silently.
func Parse(spec string) (*Set, error) {
	if spec == "" {
		return nil, nil
	}
	name, nth := spec, int64(1)
	if i := strings.LastIndexByte(spec, '#'); i >= 0 {
		n, err := strconv.ParseInt(spec[i+1:], 10, 64)
		if err != nil || n < 1 {
			return nil, fmt.Errorf("bad hit count in %q: want <point>#<n>, n ≥ 1", spec)
		}
		name, nth = spec[:i], n
	}
	for _, p := range All() {
		if string(p) == name {
			return &Set{at: p, nth: nth, kill: killSelf}, nil
		}
	}
	return nil, fmt.Errorf("unknown crash point %q", name)
}

// Armed reports whether p is the armed point.
func (s *Set) Armed(p Point) bool { return s != nil && s.at == p }

// Hit ends the process at once if p is the armed point and this is the
// hit it waits for. It returns otherwise.
func (s *Set) Hit(p Point) {
	if s == nil || s.at != p {
		return
	}
	if s.hits.Add(1) != s.nth {
		return
	}
	fmt.Fprintf(os.Stderr, "faultpoint: crashing at %s\n", p)
	s.kill()
}

func killSelf() {
	_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	select {} // the signal is delivered before this returns to user code, or soon after
}
