package main

import (
	"os"
	"testing"
	"time"
)

func TestParseStat(t *testing.T) {
	// A command name with spaces and a ')' inside, as the kernel prints it.
	stat := []byte("1234 (a (b) c) S 1 1234 1234 0 -1 4194560 100 0 0 0 150 50 7 3 20 0 12 0 987654 1000 200 0 0")
	start, cpu, err := parseStat(stat)
	if err != nil {
		t.Fatal(err)
	}
	if start != 987654 {
		t.Errorf("start = %d, want 987654", start)
	}
	if want := 210 * time.Second / clockTicks; cpu != want {
		t.Errorf("cpu = %v, want %v", cpu, want)
	}
}

func TestListProcsFindsSelf(t *testing.T) {
	self := os.Getpid()
	procs := listProcs(func(int, []string) bool { return true }, true)
	for _, p := range procs {
		if p.PID == self {
			if p.RSS <= 0 {
				t.Fatalf("own RSS = %d, want > 0", p.RSS)
			}
			if p.StartTime == 0 {
				t.Fatalf("own start time is 0")
			}
			return
		}
	}
	t.Fatalf("own pid %d not listed among %d processes", self, len(procs))
}

func TestIsShimOf(t *testing.T) {
	args := []string{"/usr/bin/containerd-shim-runc-v2", "-namespace", "k8s.io", "-id", "abc", "-address", "/tmp/x/containerd.sock"}
	if !isShimOf(args, "/tmp/x/containerd.sock") {
		t.Error("shim of /tmp/x not recognised")
	}
	if isShimOf(args, "/tmp/y/containerd.sock") {
		t.Error("shim of /tmp/x taken for one of /tmp/y")
	}
	if isShimOf([]string{"/usr/bin/containerd", "--address", "/tmp/x/containerd.sock"}, "/tmp/x/containerd.sock") {
		t.Error("containerd taken for a shim")
	}
}

func TestCPUSince(t *testing.T) {
	before := Usage{cpu: map[int]procCPU{
		1: {start: 10, cpu: time.Second, name: "containerd"},
		2: {start: 20, cpu: time.Second, name: "shims"},
	}}
	after := Usage{cpu: map[int]procCPU{
		1: {start: 10, cpu: 3 * time.Second, name: "containerd"},   // grew by 2 s
		2: {start: 99, cpu: 500 * time.Millisecond, name: "shims"}, // pid reused: a new process
		3: {start: 30, cpu: 250 * time.Millisecond, name: "shims"}, // new
	}}
	if got, want := after.cpuSince(before), 2750*time.Millisecond; got != want {
		t.Fatalf("cpuSince = %v, want %v", got, want)
	}
	by := after.cpuByNameSince(before)
	if by["containerd"] != 2*time.Second || by["shims"] != 750*time.Millisecond || len(by) != 2 {
		t.Fatalf("cpuByNameSince = %v", by)
	}
}

func TestSumUsageByName(t *testing.T) {
	procs := []procInfo{
		{PID: 1, Args: []string{"podshimd"}, RSS: 10 << 20, PSS: 5 << 20, CPU: time.Second},
		{PID: 2, Args: []string{"containerd-shim-runc-v2"}, RSS: 3 << 20, PSS: 1 << 20},
		{PID: 3, Args: []string{"containerd-shim-runc-v2"}, RSS: 3 << 20, PSS: 1 << 20},
		{PID: 4, Args: []string{"/pause"}, RSS: 1 << 20, PSS: 256 << 10},
	}
	classify := func(p procInfo) string {
		switch {
		case p.Args[0] == "podshimd":
			return "podshimd"
		case isPause(p.Args):
			return "pause"
		}
		return "shims"
	}
	u := sumUsage(procs, classify)
	if u.Processes != 4 || u.Shims != 2 || u.Pause != 1 || u.RSS != 17<<20 || u.PSS != 7<<20+256<<10 {
		t.Fatalf("sumUsage = %+v", u)
	}
	if u.RSSByName["podshimd"] != 10<<20 || u.RSSByName["shims"] != 6<<20 || u.RSSByName["pause"] != 1<<20 {
		t.Fatalf("RSSByName = %v", u.RSSByName)
	}
	if u.PSSByName["podshimd"] != 5<<20 || u.PSSByName["shims"] != 2<<20 || u.PSSByName["pause"] != 256<<10 {
		t.Fatalf("PSSByName = %v", u.PSSByName)
	}
	if u.cpu[1].name != "podshimd" || u.cpu[1].cpu != time.Second {
		t.Fatalf("cpu[1] = %+v", u.cpu[1])
	}
}
