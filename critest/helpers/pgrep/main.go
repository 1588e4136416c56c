// Command pgrep lists the processes whose name matches a regular expression,
// like procps pgrep (Debian's busybox has no pgrep applet). It supports -f
// (match the full command line), -x (whole-name match) and -l (print names).
// It exits 0 when a process matched, 1 when none did and 2 on usage errors.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

func main() {
	full := flag.Bool("f", false, "match against the full command line")
	exact := flag.Bool("x", false, "match the whole name")
	list := flag.Bool("l", false, "print the process name with the pid")
	flag.Parse()
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: pgrep [-flx] PATTERN")
		os.Exit(2)
	}
	pattern := flag.Arg(0)
	if *exact {
		pattern = "^(?:" + pattern + ")$"
	}
	re, err := regexp.Compile(pattern)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgrep: bad pattern %q: %v\n", flag.Arg(0), err)
		os.Exit(2)
	}
	matches, err := find(re, *full)
	if err != nil {
		fmt.Fprintf(os.Stderr, "pgrep: %v\n", err)
		os.Exit(2)
	}
	for _, m := range matches {
		if *list {
			fmt.Printf("%d %s\n", m.pid, m.name)
		} else {
			fmt.Println(m.pid)
		}
	}
	if len(matches) == 0 {
		os.Exit(1)
	}
}

type proc struct {
	pid  int
	name string
}

// find scans /proc for matching processes, leaving out pgrep itself.
func find(re *regexp.Regexp, full bool) ([]proc, error) {
	dirs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return nil, fmt.Errorf("list /proc: %w", err)
	}
	self := os.Getpid()
	var out []proc
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil || pid == self {
			continue
		}
		comm, err := os.ReadFile(filepath.Join(d, "comm"))
		if err != nil {
			continue // the process went away
		}
		name := strings.TrimSuffix(string(comm), "\n")
		subject := name
		if full {
			cmdline, err := os.ReadFile(filepath.Join(d, "cmdline"))
			if err != nil {
				continue
			}
			subject = strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))
			if subject == "" {
				subject = name
			}
		}
		if re.MatchString(subject) {
			out = append(out, proc{pid: pid, name: name})
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].pid < out[j].pid })
	return out, nil
}
