// Command nmeter is the part of busybox's nmeter applet that the node
// conformance suite uses: `nmeter -d0 '%3t'`, the current time as
// HH:MM:SS.mmm, one line per update, until its reader goes away
// (test/e2e_node/container_lifecycle_pod_construction.go reads the first
// line to log timestamps with milliseconds). Debian's busybox, which the
// harness's busybox image is made of, has no nmeter applet, so
// node-e2e/images puts this one at /bin/nmeter. Other format specifiers
// are refused with exit status 1.
package main

import (
	"fmt"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, -1))
}

// timeSpec is busybox's %[N]t: the time with N (0-6) decimal digits.
var timeSpec = regexp.MustCompile(`^%([0-9]?)t$`)

// run prints lines lines (forever when negative) and returns the exit
// status. -d is the delay between lines in milliseconds.
func run(args []string, out, errOut io.Writer, lines int) int {
	delay, spec, ok := parseArgs(args)
	if !ok {
		fmt.Fprintln(errOut, "usage: nmeter [-d MSEC] '%[N]t'")
		return 1
	}
	m := timeSpec.FindStringSubmatch(spec)
	if m == nil {
		fmt.Fprintf(errOut, "nmeter: format %q: only %%[N]t is supported\n", spec)
		return 1
	}
	prec := 0
	if m[1] != "" {
		prec, _ = strconv.Atoi(m[1])
	}
	if prec > 6 {
		prec = 6
	}
	for i := 0; lines < 0 || i < lines; i++ {
		if _, err := fmt.Fprintln(out, format(time.Now(), prec)); err != nil {
			return 1
		}
		if delay > 0 {
			time.Sleep(time.Duration(delay) * time.Millisecond)
		}
	}
	return 0
}

// parseArgs reads busybox's getopt-style "-d MSEC" or "-dMSEC" and the one
// format argument.
func parseArgs(args []string) (delay int, format string, ok bool) {
	delay = 1000
	var rest []string
	for i := 0; i < len(args); i++ {
		a := args[i]
		if !strings.HasPrefix(a, "-d") {
			rest = append(rest, a)
			continue
		}
		v := strings.TrimPrefix(a, "-d")
		if v == "" {
			if i+1 == len(args) {
				return 0, "", false
			}
			i++
			v = args[i]
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, "", false
		}
		delay = n
	}
	if len(rest) != 1 {
		return 0, "", false
	}
	return delay, rest[0], true
}

// format is busybox's collect_time: HH:MM:SS in local time, then '.' and
// the first prec digits of the microseconds when prec > 0.
func format(t time.Time, prec int) string {
	s := t.Format("15:04:05")
	if prec == 0 {
		return s
	}
	us := fmt.Sprintf("%06d", t.Nanosecond()/1000)
	return s + "." + us[:prec]
}
