package metrics

import (
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	runtime "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// numCodes is the number of gRPC codes (OK .. Unauthenticated).
const numCodes = int(codes.Unauthenticated) + 1

// methodObservers are the request histogram's series of one CRI method, by
// code, created on first use. The map that holds them is built once in New
// from the CRI service descriptions and only read afterwards, so the hot
// path (kubelet's polls) finds its series with a map read and an atomic
// load: no lock, no allocation.
type methodObservers struct {
	byCode [numCodes]atomic.Pointer[observer]
}

type observer struct{ prometheus.Observer }

func newMethodObservers() map[string]*methodObservers {
	out := map[string]*methodObservers{}
	for _, sd := range []grpc.ServiceDesc{runtime.RuntimeService_ServiceDesc, runtime.ImageService_ServiceDesc} {
		for _, md := range sd.Methods {
			out[md.MethodName] = &methodObservers{}
		}
		for _, st := range sd.Streams {
			out[st.StreamName] = &methodObservers{}
		}
	}
	return out
}

// RequestStarted counts a CRI request in flight; RequestDone must follow.
func (m *Metrics) RequestStarted(string) { m.requestsInFlight.Inc() }

// RequestDone records a finished CRI request: method is the bare method
// name ("RunPodSandbox"), code the gRPC code it answered with.
func (m *Metrics) RequestDone(method string, code codes.Code, d time.Duration) {
	m.requestsInFlight.Dec()
	m.requestObserver(method, code).Observe(d.Seconds())
}

func (m *Metrics) requestObserver(method string, code codes.Code) prometheus.Observer {
	mo := m.methods[method]
	if mo == nil || int(code) >= numCodes {
		return m.requestDuration.WithLabelValues(method, code.String())
	}
	slot := &mo.byCode[code]
	if o := slot.Load(); o != nil {
		return o.Observer
	}
	o := &observer{m.requestDuration.WithLabelValues(method, code.String())}
	slot.CompareAndSwap(nil, o) // a racing twin got the same series
	return o.Observer
}
