package sandbox

import (
	"testing"

	"google.golang.org/protobuf/proto"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// The cached CRI objects follow status changes, and a list item's wire
// form is handed out only while the item is current.
func TestViewFollowsStatus(t *testing.T) {
	s := New(Options{})
	sb := s.AddForTest(Metadata{
		ID: "sb1", RuntimeHandler: "runc", IPs: []string{"10.88.0.2", "fd00::2"}, CreatedAt: 1,
		Config: &runtime.PodSandboxConfig{
			Metadata: &runtime.PodSandboxMetadata{Name: "web", Namespace: "default", Uid: "u1"},
			Labels:   map[string]string{"io.kubernetes.pod.name": "web"},
		},
	}, Status{State: runtime.PodSandboxState_SANDBOX_READY, Pid: 7})

	st := sb.ToCRI()
	if st.State != runtime.PodSandboxState_SANDBOX_READY || st.Network.Ip != "10.88.0.2" || len(st.Network.AdditionalIps) != 1 || st.RuntimeHandler != "runc" {
		t.Errorf("status = %v", st)
	}
	item := s.ListCRI(nil)[0]
	if sb.ToCRI() != st || s.ListCRI(nil)[0] != item {
		t.Error("an unchanged sandbox's CRI objects are built again")
	}
	w := s.WireListItem(item)
	data, err := proto.Marshal(w)
	if err != nil {
		t.Fatal(err)
	}
	got := &runtime.PodSandbox{}
	if err := proto.Unmarshal(data, got); err != nil || !proto.Equal(got, item) {
		t.Errorf("wire form decodes to %v, %v; want %v", got, err, item)
	}

	sb.setStatus(Status{State: runtime.PodSandboxState_SANDBOX_NOTREADY})
	if st := sb.ToCRI(); st.State != runtime.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("status after stop = %v", st)
	}
	if s.WireListItem(item) != nil {
		t.Error("the wire form of a stale item is handed out")
	}
	notReady := &runtime.PodSandboxFilter{State: &runtime.PodSandboxStateValue{State: runtime.PodSandboxState_SANDBOX_NOTREADY}}
	if l := s.ListCRI(notReady); len(l) != 1 || l[0].State != runtime.PodSandboxState_SANDBOX_NOTREADY {
		t.Errorf("not-ready sandboxes = %v", l)
	}
}
