package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	criapi "k8s.io/cri-api/pkg/apis/runtime/v1"
)

// logRecord is one line of a CRI log file.
type logRecord struct {
	time    time.Time
	stream  string
	partial bool
	content string
}

var logLine = regexp.MustCompile(`^(\S+) (stdout|stderr) ([PF]) (.*)$`)

// readLog parses a CRI log file; a malformed line fails t.
func readLog(t *testing.T, path string) []logRecord {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("read log: %v", err)
	}
	text := string(data)
	// A record being written right now may be cut short: ignore it.
	if i := strings.LastIndexByte(text, '\n'); i >= 0 {
		text = text[:i]
	} else {
		text = ""
	}
	var out []logRecord
	if text == "" {
		return nil
	}
	for i, line := range strings.Split(text, "\n") {
		m := logLine.FindStringSubmatch(line)
		if m == nil {
			t.Fatalf("%s line %d is not in the CRI log format: %.200q", path, i+1, line)
		}
		tm, err := time.Parse(time.RFC3339Nano, m[1])
		if err != nil {
			t.Fatalf("%s line %d: timestamp %q: %v", path, i+1, m[1], err)
		}
		out = append(out, logRecord{time: tm, stream: m[2], partial: m[3] == "P", content: m[4]})
	}
	return out
}

// TestContainerLogFormat checks stdout and stderr lines and the split of a
// line longer than 16 KiB into P records ending in an F record.
func TestContainerLogFormat(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	const longLen = 40000
	id := runContainer(t, podID, pod, containerConfig(pod, "logger", "sh", "-c", fmt.Sprintf(
		`echo first stdout line; echo an error line >&2; head -c %d /dev/zero | tr '\0' a; echo; echo last line`, longLen)))
	st := waitExited(t, id, 30*time.Second)
	if st.ExitCode != 0 {
		t.Fatalf("logger exited %d", st.ExitCode)
	}
	wantPath := filepath.Join(pod.LogDirectory, "logger", "0.log")
	if st.LogPath != wantPath {
		t.Errorf("status log path = %q, want %q", st.LogPath, wantPath)
	}
	recs := readLog(t, wantPath)

	var stdout, stderr []logRecord
	for _, r := range recs {
		if r.stream == "stdout" {
			stdout = append(stdout, r)
		} else {
			stderr = append(stderr, r)
		}
		if d := time.Since(r.time); d < 0 || d > 5*time.Minute {
			t.Errorf("record timestamp %s is not recent", r.time)
		}
	}
	if len(stderr) != 1 || stderr[0].content != "an error line" || stderr[0].partial {
		t.Errorf("stderr records = %+v, want one F record %q", stderr, "an error line")
	}
	if len(stdout) < 4 || stdout[0].content != "first stdout line" || stdout[0].partial {
		t.Fatalf("stdout records start %+v, want F %q", head(stdout, 2), "first stdout line")
	}
	last := stdout[len(stdout)-1]
	if last.content != "last line" || last.partial {
		t.Errorf("last stdout record = %+v, want F %q", last, "last line")
	}
	// The long line: P records of at most 16 KiB, then one F record.
	long := stdout[1 : len(stdout)-1]
	var joined strings.Builder
	for i, r := range long {
		if len(r.content) > 16*1024 {
			t.Errorf("long line chunk %d has %d bytes, more than 16 KiB", i, len(r.content))
		}
		if wantPartial := i < len(long)-1; r.partial != wantPartial {
			t.Errorf("long line chunk %d of %d: partial=%v, want %v", i+1, len(long), r.partial, wantPartial)
		}
		joined.WriteString(r.content)
	}
	if len(long) < 2 {
		t.Errorf("the %d-byte line was written as %d record(s), want it split into P...F", longLen, len(long))
	}
	if joined.String() != strings.Repeat("a", longLen) {
		t.Errorf("the long line's chunks join to %d bytes, want %d 'a's", joined.Len(), longLen)
	}
	for i := 1; i < len(recs); i++ {
		if recs[i].time.Before(recs[i-1].time) && recs[i].stream == recs[i-1].stream {
			t.Errorf("record %d is older than record %d of the same stream", i+1, i)
		}
	}
}

func head(r []logRecord, n int) []logRecord {
	if len(r) > n {
		return r[:n]
	}
	return r
}

// tickScript prints "tick <n>" every 100ms forever.
const tickScript = `i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.1; done`

// ticks returns the numbers of the "tick <n>" stdout records in a log.
func ticks(t *testing.T, path string) []int {
	t.Helper()
	var out []int
	for _, r := range readLog(t, path) {
		if n, ok := strings.CutPrefix(r.content, "tick "); ok && r.stream == "stdout" && !r.partial {
			v, err := strconv.Atoi(n)
			if err != nil {
				t.Fatalf("bad tick record %q", r.content)
			}
			out = append(out, v)
		}
	}
	return out
}

// TestReopenContainerLog rotates a log the way kubelet does: rename the
// file, ReopenContainerLog, and new lines land in a new file at the path.
func TestReopenContainerLog(t *testing.T) {
	pod := podConfig(t)
	podID := runPod(t, pod)
	id := runContainer(t, podID, pod, containerConfig(pod, "ticker", "sh", "-c", tickScript))
	path := filepath.Join(pod.LogDirectory, "ticker", "0.log")
	waitFor(t, 20*time.Second, "ticks in the log", func() (bool, string) {
		_, err := os.Stat(path)
		return err == nil && len(ticks(t, path)) >= 3, fmt.Sprint(err)
	})

	rotated := path + ".20240101-000000"
	if err := os.Rename(path, rotated); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := callCtx()
	defer cancel()
	if _, err := rt().ReopenContainerLog(ctx, &criapi.ReopenContainerLogRequest{ContainerId: id}); err != nil {
		t.Fatalf("ReopenContainerLog: %v", err)
	}
	waitFor(t, 20*time.Second, "ticks in the new log file", func() (bool, string) {
		_, err := os.Stat(path)
		return err == nil && len(ticks(t, path)) >= 3, fmt.Sprint(err)
	})
	old, cur := ticks(t, rotated), ticks(t, path)
	if len(old) == 0 || cur[0] <= old[len(old)-1] {
		t.Errorf("new file starts at tick %d, the rotated one ends at %v: lines went to the old file", cur[0], old)
	}
	if cur[0] != old[len(old)-1]+1 {
		t.Errorf("ticks lost in the rotation: rotated file ends at %d, new file starts at %d", old[len(old)-1], cur[0])
	}
	// The rotated file no longer grows.
	time.Sleep(300 * time.Millisecond)
	if again := ticks(t, rotated); len(again) != len(old) {
		t.Errorf("the rotated file still grows after ReopenContainerLog: %d then %d ticks", len(old), len(again))
	}

	// A stopped container's log cannot be reopened.
	stopContainer(t, id, 0)
	if _, err := rt().ReopenContainerLog(ctx, &criapi.ReopenContainerLogRequest{ContainerId: id}); err == nil {
		t.Errorf("ReopenContainerLog of a stopped container succeeded, want an error")
	}
	// Nor an unknown one.
	if _, err := rt().ReopenContainerLog(ctx, &criapi.ReopenContainerLogRequest{ContainerId: randHex(32)}); err == nil {
		t.Errorf("ReopenContainerLog of an unknown container succeeded, want an error")
	}
}
