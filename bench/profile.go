package main

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Profiler fetches profiles from a daemon's net/http/pprof endpoint on a
// unix socket: podshimd's --debug-address, containerd's [debug] address.
type Profiler struct {
	Daemon string // "podshimd" or "containerd": names the profile files
	Binary string // the daemon's executable, handed to go tool pprof
	Socket string
	client *http.Client
}

// newProfiler returns a Profiler for the endpoint on socket.
func newProfiler(daemon, binary, socket string) *Profiler {
	dial := func(ctx context.Context, _, _ string) (net.Conn, error) {
		return (&net.Dialer{}).DialContext(ctx, "unix", socket)
	}
	return &Profiler{Daemon: daemon, Binary: binary, Socket: socket,
		client: &http.Client{Transport: &http.Transport{DialContext: dial}}}
}

// get fetches /debug/pprof/<path>.
func (p *Profiler) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://debug/debug/pprof/"+path, nil)
	if err != nil {
		return nil, err
	}
	resp, err := p.client.Do(req)
	if err != nil {
		return nil, fmt.Errorf("%s pprof %s: %w", p.Daemon, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s pprof %s: %w", p.Daemon, path, err)
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s pprof %s: %s: %s", p.Daemon, path, resp.Status, strings.TrimSpace(string(body)))
	}
	return body, nil
}

// cpuPiece is the length of one CPU profile request. net/http/pprof has no
// start/stop, only ?seconds=N, so a recording is a chain of short pieces
// (merged afterwards) and Stop waits at most this long.
const cpuPiece = time.Second

// cpuRecording is a CPU profile of a daemon taken from startCPU until Stop.
// Samples fall only on CPU time, so the wait for the last piece adds none.
// The few milliseconds between two pieces are not sampled.
type cpuRecording struct {
	stop  chan struct{}
	done  chan struct{}
	parts [][]byte
	err   error
}

// startCPU starts recording a CPU profile; a nil Profiler records nothing.
func (p *Profiler) startCPU(ctx context.Context) *cpuRecording {
	if p == nil {
		return nil
	}
	r := &cpuRecording{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(r.done)
		for {
			data, err := p.get(ctx, fmt.Sprintf("profile?seconds=%d", int(cpuPiece/time.Second)))
			if err != nil {
				r.err = err
				return
			}
			r.parts = append(r.parts, data)
			select {
			case <-r.stop:
				return
			default:
			}
		}
	}()
	// Let the first request reach the daemon before the workload starts.
	time.Sleep(50 * time.Millisecond)
	return r
}

// Stop ends the recording once the running piece is done and returns the
// pieces (gzipped profile.proto each).
func (r *cpuRecording) Stop() ([][]byte, error) {
	if r == nil {
		return nil, nil
	}
	close(r.stop)
	<-r.done
	return r.parts, r.err
}

// goroutineTotal reads the count from the first line of a
// /debug/pprof/goroutine?debug=1 answer ("goroutine profile: total 42").
func goroutineTotal(text []byte) (int, error) {
	line, _, _ := bytes.Cut(text, []byte("\n"))
	n, err := strconv.Atoi(strings.TrimPrefix(string(line), "goroutine profile: total "))
	if err != nil {
		return 0, fmt.Errorf("goroutine profile: unexpected first line %q", line)
	}
	return n, nil
}

// pprofTool runs `go tool pprof` with args and returns its standard output.
func pprofTool(ctx context.Context, args ...string) (string, error) {
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", fmt.Errorf("go tool pprof: no go in PATH")
	}
	cctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	var out, errOut bytes.Buffer
	cmd := exec.CommandContext(cctx, goBin, append([]string{"tool", "pprof"}, args...)...)
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Run(); err != nil {
		return "", fmt.Errorf("go tool pprof %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(errOut.String()))
	}
	return out.String(), nil
}

// mergeProfiles writes the pieces, merged into one profile, to dst (via
// `go tool pprof -proto`, which merges the profiles it is given). Without
// the go tool a single piece is written as it is, several go to
// <dst without .pb.gz>/piece-NN.pb.gz and the error says so.
func mergeProfiles(ctx context.Context, tmpDir, binary, dst string, parts [][]byte) error {
	if len(parts) == 1 {
		return os.WriteFile(dst, parts[0], 0o644)
	}
	if err := os.MkdirAll(tmpDir, 0o755); err != nil {
		return err
	}
	defer os.RemoveAll(tmpDir)
	args := []string{"-proto", "-output", dst}
	if binary != "" {
		args = append(args, binary)
	}
	for i, data := range parts {
		f := filepath.Join(tmpDir, fmt.Sprintf("piece-%02d.pb.gz", i))
		if err := os.WriteFile(f, data, 0o644); err != nil {
			return err
		}
		args = append(args, f)
	}
	if _, err := pprofTool(ctx, args...); err != nil {
		dir := strings.TrimSuffix(dst, ".pb.gz")
		if mkErr := os.MkdirAll(dir, 0o755); mkErr == nil {
			for i, data := range parts {
				_ = os.WriteFile(filepath.Join(dir, fmt.Sprintf("piece-%02d.pb.gz", i)), data, 0o644)
			}
		}
		return fmt.Errorf("%w (the %d pieces are in %s/)", err, len(parts), filepath.Base(dir))
	}
	return nil
}

// topList returns `go tool pprof -top -nodecount=n` of a profile, flat
// order (or cumulative with -cum in extra), without the Build ID line.
func topList(ctx context.Context, binary, file string, n int, extra ...string) (string, error) {
	args := append([]string{"-top", fmt.Sprintf("-nodecount=%d", n)}, extra...)
	if binary != "" {
		args = append(args, binary)
	}
	out, err := pprofTool(ctx, append(args, file)...)
	if err != nil {
		return "", err
	}
	var keep []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if !strings.HasPrefix(l, "Build ID:") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n"), nil
}

var totalSamplesRE = regexp.MustCompile(`Total samples = ([0-9.]+[a-zµ]+)`)

// totalSamples reads the CPU time a profile holds from the "Total samples
// = 1.23s" header of a top list.
func totalSamples(top string) (time.Duration, bool) {
	m := totalSamplesRE.FindStringSubmatch(top)
	if m == nil {
		return 0, false
	}
	// pprof scales to "mins" and "hrs" above a minute, which time does not parse.
	for suffix, unit := range map[string]time.Duration{"mins": time.Minute, "hrs": time.Hour} {
		if v, ok := strings.CutSuffix(m[1], suffix); ok {
			f, err := strconv.ParseFloat(v, 64)
			return time.Duration(f * float64(unit)), err == nil
		}
	}
	d, err := time.ParseDuration(m[1])
	return d, err == nil
}
