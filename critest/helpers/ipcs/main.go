// Command ipcs shows the System V IPC objects of the current IPC namespace
// from /proc/sysvipc, in util-linux's layout (Debian's busybox has no ipcs
// applet). -m shows shared memory segments, -q message queues, -s semaphore
// arrays; with none of them it shows all three.
package main

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// table describes one /proc/sysvipc file and the columns ipcs prints from it.
type table struct {
	title   string
	file    string
	header  []string
	columns []string // /proc/sysvipc field names; "owner" is resolved from uid
}

var (
	shm = table{
		title:   "Shared Memory Segments",
		file:    "/proc/sysvipc/shm",
		header:  []string{"key", "shmid", "owner", "perms", "bytes", "nattch", "status"},
		columns: []string{"key", "shmid", "owner", "perms", "size", "nattch", ""},
	}
	sem = table{
		title:   "Semaphore Arrays",
		file:    "/proc/sysvipc/sem",
		header:  []string{"key", "semid", "owner", "perms", "nsems"},
		columns: []string{"key", "semid", "owner", "perms", "nsems"},
	}
	msg = table{
		title:   "Message Queues",
		file:    "/proc/sysvipc/msg",
		header:  []string{"key", "msqid", "owner", "perms", "used-bytes", "messages"},
		columns: []string{"key", "msqid", "owner", "perms", "cbytes", "qnum"},
	}
)

func main() {
	m := flag.Bool("m", false, "shared memory segments")
	q := flag.Bool("q", false, "message queues")
	s := flag.Bool("s", false, "semaphore arrays")
	flag.Parse()
	all := !*m && !*q && !*s
	users := readUsers("/etc/passwd")
	failed := false
	for _, sel := range []struct {
		on bool
		t  table
	}{{*q || all, msg}, {*m || all, shm}, {*s || all, sem}} {
		if !sel.on {
			continue
		}
		if err := show(sel.t, users); err != nil {
			fmt.Fprintf(os.Stderr, "ipcs: %v\n", err)
			failed = true
		}
	}
	if failed {
		os.Exit(1)
	}
}

// show prints one table.
func show(t table, users map[string]string) error {
	f, err := os.Open(t.file)
	if err != nil {
		return fmt.Errorf("read %s: %w", t.file, err)
	}
	defer f.Close()
	fmt.Printf("\n------ %s --------\n", t.title)
	printRow(t.header)
	sc := bufio.NewScanner(f)
	var names []string
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if names == nil {
			names = fields
			continue
		}
		row := make([]string, len(t.columns))
		for i, col := range t.columns {
			row[i] = value(col, names, fields, users)
		}
		printRow(row)
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", t.file, err)
	}
	fmt.Println()
	return nil
}

// value returns one printed cell.
func value(col string, names, fields []string, users map[string]string) string {
	get := func(n string) string {
		for i, name := range names {
			if name == n && i < len(fields) {
				return fields[i]
			}
		}
		return ""
	}
	switch col {
	case "":
		return ""
	case "key":
		k, err := strconv.ParseInt(get("key"), 10, 64)
		if err != nil {
			return get("key")
		}
		return fmt.Sprintf("0x%08x", uint32(k))
	case "owner":
		uid := get("uid")
		if name, ok := users[uid]; ok {
			return name
		}
		return uid
	case "perms":
		p, err := strconv.ParseInt(get("perms"), 8, 64)
		if err != nil {
			return get("perms")
		}
		return fmt.Sprintf("%o", p&0o777)
	default:
		return get(col)
	}
}

func printRow(cells []string) {
	var b strings.Builder
	for _, c := range cells {
		fmt.Fprintf(&b, "%-10s ", c)
	}
	fmt.Println(strings.TrimRight(b.String(), " "))
}

// readUsers maps uids to user names from a passwd file (empty when absent).
func readUsers(path string) map[string]string {
	users := map[string]string{}
	data, err := os.ReadFile(path)
	if err != nil {
		return users
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Split(line, ":")
		if len(f) >= 3 {
			users[f[2]] = f[0]
		}
	}
	return users
}
