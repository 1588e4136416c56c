package cri

import (
	"strings"
	"testing"

	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/podshim/podshim/sandbox"
)

func TestContainerdLabels(t *testing.T) {
	cfg := &runtime.ContainerConfig{Labels: map[string]string{
		"io.kubernetes.pod.name":       "web-0",
		"io.kubernetes.pod.namespace":  "default",
		"io.kubernetes.container.name": "app",
		sandbox.LabelKind:              "forged",
		"big":                          strings.Repeat("v", 5000),
	}}
	got := containerdLabels("sb1", cfg)
	want := map[string]string{
		"io.kubernetes.pod.name":       "web-0",
		"io.kubernetes.pod.namespace":  "default",
		"io.kubernetes.container.name": "app",
		sandbox.LabelKind:              sandbox.KindContainer,
		sandbox.LabelSandboxID:         "sb1",
	}
	if len(got) != len(want) {
		t.Errorf("got %d labels, want %d: %v", len(got), len(want), got)
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("label %s = %q, want %q", k, got[k], v)
		}
	}
	if _, ok := got["big"]; ok {
		t.Errorf("a label containerd refuses was copied")
	}
	if l := containerdLabels("sb2", &runtime.ContainerConfig{}); len(l) != 2 || l[sandbox.LabelSandboxID] != "sb2" {
		t.Errorf("no CRI labels: %v", l)
	}
}
