// Package sandboxshim lets a pod's containers join the runc v2 shim of its
// pause container without containerd running the shim binary again.
//
// Without it, containerd runs `containerd-shim-runc-v2 start` for every
// container task; the shim binary finds the pod's shim socket (grouped by
// the io.kubernetes.cri.sandbox-id annotation) and prints its address. On
// containerd 2.0 and later (features.Set.SandboxShim), a container whose
// containerd record carries a SandboxID is created in the shim containerd
// already has registered under that ID, provided containerd's sandbox store
// knows the sandbox (core/runtime/v2 ShimManager.Start). The pause
// container's ID is the sandbox's, so its shim is registered under it:
// podshim records the sandbox in the store before the pause task is made
// and creates the containers WithSandbox, as containerd 2.x's own CRI does.
//
// Teardown is unchanged: containerd 2.x asks the shim to shut down on each
// task delete, which it does with its last task, whatever the order; it
// still runs `containerd-shim-runc-v2 delete` for every task it deletes
// (from the ttrpc client's close callback, joined or not). A shim that is
// killed takes the whole pod with it, as before: containerd publishes an
// exit for each task it served.
//
// The sandbox record holds nothing else (containerd's GC follows only its
// labels, podshim sets none that reference anything), and is removed with
// the pause container. A pod made before the feature was on has no record:
// containerd then runs the shim binary for its containers, as before.
package sandboxshim

import (
	"context"
	"fmt"
	"time"

	"github.com/containerd/containerd"
	"github.com/containerd/containerd/errdefs"
	sb "github.com/containerd/containerd/sandbox"
	"github.com/containerd/log"
)

// LabelOwner marks the sandbox records podshim makes (value "sandbox",
// like its pause containers' sandbox.LabelKind).
const LabelOwner = "io.podshim.kind"

// ownerValue is LabelOwner's value.
const ownerValue = "sandbox"

// Joiner records pods in containerd's sandbox store and makes their
// containers join the pod's shim. A nil Joiner, or one that is off, does
// nothing: containerd starts the shim binary for each container.
type Joiner struct {
	client *containerd.Client
}

// New returns a Joiner on client when on (features.Set.SandboxShim), nil
// otherwise.
func New(client *containerd.Client, on bool) *Joiner {
	if !on || client == nil {
		return nil
	}
	return &Joiner{client: client}
}

// Enabled says whether containers join their pod's shim.
func (j *Joiner) Enabled() bool { return j != nil }

// Register records sandbox id (the pause container's ID) with its
// containerd runtime in containerd's sandbox store. It must run before the
// pod's containers get tasks; Unregister undoes it.
func (j *Joiner) Register(ctx context.Context, id, runtime string) error {
	if j == nil {
		return nil
	}
	_, err := j.client.SandboxStore().Create(ctx, sb.Sandbox{
		ID:      id,
		Labels:  map[string]string{LabelOwner: ownerValue},
		Runtime: sb.RuntimeOpts{Name: runtime},
	})
	if err != nil && !errdefs.IsAlreadyExists(err) {
		return fmt.Errorf("record sandbox %s in containerd's sandbox store: %w", id, err)
	}
	return nil
}

// Unregister removes the record of sandbox id; a missing one is fine.
func (j *Joiner) Unregister(ctx context.Context, id string) error {
	if j == nil {
		return nil
	}
	if err := j.client.SandboxStore().Delete(ctx, id); err != nil && !errdefs.IsNotFound(err) {
		return fmt.Errorf("delete sandbox %s from containerd's sandbox store: %w", id, err)
	}
	return nil
}

// ContainerOpts are the options that make a container of sandbox id join
// its shim (none when off).
func (j *Joiner) ContainerOpts(sandboxID string) []containerd.NewContainerOpts {
	if j == nil {
		return nil
	}
	return []containerd.NewContainerOpts{containerd.WithSandbox(sandboxID)}
}

// Prune removes the records podshim made for sandboxes that known does not
// know (a crash between Register and the record's undo, or between the
// pause's deletion and Unregister). Recovery calls it once every sandbox
// is loaded. It runs whether or not the Joiner is on, so that records left
// by an earlier run go.
func Prune(ctx context.Context, client *containerd.Client, known func(id string) bool) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	records, err := client.SandboxStore().List(ctx, fmt.Sprintf("labels.%q==%s", LabelOwner, ownerValue))
	if err != nil {
		// containerd 1.6 has no sandbox store: nothing to prune.
		if !errdefs.IsNotImplemented(err) && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).Debug("list containerd's sandbox records")
		}
		return
	}
	for _, r := range records {
		if known(r.ID) {
			continue
		}
		if err := client.SandboxStore().Delete(ctx, r.ID); err != nil && !errdefs.IsNotFound(err) {
			log.G(ctx).WithError(err).WithField("sandbox", r.ID).Warn("delete sandbox record of no known sandbox")
			continue
		}
		log.G(ctx).WithField("sandbox", r.ID).Info("deleted sandbox record of no known sandbox")
	}
}
