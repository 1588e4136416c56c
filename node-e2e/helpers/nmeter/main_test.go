package main

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestFormat(t *testing.T) {
	tm := time.Date(2026, 12, 5, 7, 8, 9, 123456789, time.Local)
	for prec, want := range map[int]string{0: "07:08:09", 3: "07:08:09.123", 6: "07:08:09.123456"} {
		if got := format(tm, prec); got != want {
			t.Errorf("format(prec %d) = %q, want %q", prec, got, want)
		}
	}
}

// TestAsTheSuiteRunsIt: `date -u +%FT$(nmeter -d0 '%3t' | head -n1)Z` must
// give an RFC 3339 time close to now.
func TestAsTheSuiteRunsIt(t *testing.T) {
	var out, errOut bytes.Buffer
	before := time.Now()
	if code := run([]string{"-d0", "%3t"}, &out, &errOut, 3); code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut.String())
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 3 {
		t.Fatalf("%d lines, want 3: %q", len(lines), out.String())
	}
	ts, err := time.ParseInLocation(time.RFC3339, before.Format("2006-01-02")+"T"+lines[0]+"Z", time.UTC)
	if err != nil {
		t.Fatal(err)
	}
	got := time.Date(before.Year(), before.Month(), before.Day(), ts.Hour(), ts.Minute(), ts.Second(), ts.Nanosecond(), time.Local)
	if d := got.Sub(before.Truncate(time.Millisecond)); d < 0 || d > 5*time.Second {
		t.Errorf("first line %q is %v from now", lines[0], d)
	}
}

func TestRefusesOtherFormats(t *testing.T) {
	var out, errOut bytes.Buffer
	for _, args := range [][]string{{"%c"}, {}, {"-d0", "%3t", "%m"}} {
		if code := run(args, &out, &errOut, 1); code != 1 {
			t.Errorf("args %q: exit %d, want 1", args, code)
		}
	}
}
