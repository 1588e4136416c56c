package network

// Recorder records CNI operations (metrics.Metrics implements it).
type Recorder interface {
	// CNIDone records a CNI ADD (op "add") or DEL (op "del"); err is its
	// outcome.
	CNIDone(op string, err error)
}

// Operations as Recorder names them.
const (
	OpAdd = "add"
	OpDel = "del"
)

type noRecorder struct{}

func (noRecorder) CNIDone(string, error) {}
