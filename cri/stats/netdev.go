package stats

import (
	"fmt"
	"os"
	"strconv"
	"strings"
)

// Interface is one network interface's counters.
type Interface struct {
	Name                 string
	RxBytes, RxErrors    uint64
	TxBytes, TxErrors    uint64
	RxPackets, RxDropped uint64
	TxPackets, TxDropped uint64
}

// NetDev reads the interface counters of the network namespace that pid
// lives in, from /proc/<pid>/net/dev (no need to enter the namespace).
func NetDev(pid uint32) ([]Interface, error) {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/net/dev", pid))
	if err != nil {
		return nil, err
	}
	return parseNetDev(string(data)), nil
}

func parseNetDev(data string) []Interface {
	var out []Interface
	for _, line := range strings.Split(data, "\n") {
		name, rest, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) < 16 {
			continue
		}
		n := func(i int) uint64 { v, _ := strconv.ParseUint(f[i], 10, 64); return v }
		out = append(out, Interface{
			Name:    strings.TrimSpace(name),
			RxBytes: n(0), RxPackets: n(1), RxErrors: n(2), RxDropped: n(3),
			TxBytes: n(8), TxPackets: n(9), TxErrors: n(10), TxDropped: n(11),
		})
	}
	return out
}
