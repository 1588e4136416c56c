package stats

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
)

// Detail is a fuller reading of a cgroup than Sample: what the cAdvisor
// metrics that kubelet exposes for pods need (see podmetrics).
type Detail struct {
	Sample
	CPUUserNanos, CPUSystemNanos uint64
	CFSPeriods, CFSThrottled     uint64 // periods, and periods throttled
	CFSThrottledNanos            uint64
	Cache, Swap, MappedFile      uint64 // bytes
	MaxUsage                     uint64 // peak memory usage, bytes
	Failcnt                      uint64 // times the memory limit was hit
	OOMKills                     uint64
	Processes, Threads           uint64
	ThreadsMax                   uint64 // pids limit, 0 when unlimited
}

// ReadDetail reads a cgroup fully. Only the values every cgroup has (CPU
// usage) make it fail; the others are left zero when their files are
// missing (a controller not mounted, an older kernel).
func (r *Reader) ReadDetail(cgroupsPath string) (Detail, error) {
	s, err := r.Read(cgroupsPath)
	d := Detail{Sample: s}
	if err != nil {
		return d, err
	}
	rel := Dir(cgroupsPath)
	if r.v2 {
		r.detailV2(filepath.Join(r.root, rel), &d)
	} else {
		r.detailV1(rel, &d)
	}
	return d, nil
}

func (r *Reader) detailV1(rel string, d *Detail) {
	if dir := r.ControllerDir("cpuacct", rel); dir != "" {
		d.CPUUserNanos, _ = readUint(filepath.Join(dir, "cpuacct.usage_user"))
		d.CPUSystemNanos, _ = readUint(filepath.Join(dir, "cpuacct.usage_sys"))
		d.Processes = countLines(filepath.Join(dir, "cgroup.procs"))
		d.Threads = countLines(filepath.Join(dir, "tasks"))
	}
	if dir := r.ControllerDir("cpu", rel); dir != "" {
		cpu, _ := readKeyed(filepath.Join(dir, "cpu.stat"))
		d.CFSPeriods, d.CFSThrottled, d.CFSThrottledNanos = cpu["nr_periods"], cpu["nr_throttled"], cpu["throttled_time"]
	}
	if dir := r.ControllerDir("memory", rel); dir != "" {
		stat, _ := readKeyed(filepath.Join(dir, "memory.stat"))
		d.Cache, d.Swap, d.MappedFile = stat["total_cache"], stat["total_swap"], stat["total_mapped_file"]
		d.MaxUsage, _ = readUint(filepath.Join(dir, "memory.max_usage_in_bytes"))
		d.Failcnt, _ = readUint(filepath.Join(dir, "memory.failcnt"))
		oom, _ := readKeyed(filepath.Join(dir, "memory.oom_control"))
		d.OOMKills = oom["oom_kill"]
	}
	if dir := r.ControllerDir("pids", rel); dir != "" {
		d.ThreadsMax, _ = readUint(filepath.Join(dir, "pids.max"))
	}
}

func (r *Reader) detailV2(dir string, d *Detail) {
	cpu, _ := readKeyed(filepath.Join(dir, "cpu.stat"))
	d.CPUUserNanos, d.CPUSystemNanos = cpu["user_usec"]*1000, cpu["system_usec"]*1000
	d.CFSPeriods, d.CFSThrottled, d.CFSThrottledNanos = cpu["nr_periods"], cpu["nr_throttled"], cpu["throttled_usec"]*1000
	stat, _ := readKeyed(filepath.Join(dir, "memory.stat"))
	d.Cache, d.MappedFile = stat["file"], stat["file_mapped"]
	d.Swap, _ = readUint(filepath.Join(dir, "memory.swap.current"))
	d.MaxUsage, _ = readUint(filepath.Join(dir, "memory.peak"))
	events, _ := readKeyed(filepath.Join(dir, "memory.events"))
	d.Failcnt, d.OOMKills = events["max"], events["oom_kill"]
	d.Processes = countLines(filepath.Join(dir, "cgroup.procs"))
	d.Threads = countLines(filepath.Join(dir, "cgroup.threads"))
	d.ThreadsMax, _ = readUint(filepath.Join(dir, "pids.max"))
}

// countLines counts the lines of a file (0 when it cannot be read).
func countLines(path string) uint64 {
	data, err := os.ReadFile(path)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return 0
	}
	return uint64(bytes.Count(data, []byte{'\n'}))
}
