// Package fuzzcorpus writes the seed corpora of Go fuzz targets from code:
// a package's test lists its seeds, and Check compares them with the files
// under testdata/fuzz/<target>/ (or, with update, writes them there). The
// files are in the format `go test` reads, so the seeds run as ordinary
// tests in every `go test` of the package.
package fuzzcorpus

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// Encode returns the corpus file of one seed: the fuzz function's
// arguments in order.
func Encode(vals ...any) []byte {
	var b bytes.Buffer
	b.WriteString("go test fuzz v1\n")
	for _, v := range vals {
		switch t := v.(type) {
		case string:
			fmt.Fprintf(&b, "string(%q)\n", t)
		case []byte:
			fmt.Fprintf(&b, "[]byte(%q)\n", t)
		case byte:
			fmt.Fprintf(&b, "byte(%q)\n", t)
		case bool, int, int8, int16, int64, uint, uint16, uint32, uint64:
			fmt.Fprintf(&b, "%T(%v)\n", t, t)
		default:
			panic(fmt.Sprintf("fuzzcorpus: unsupported type %T", v))
		}
	}
	return b.Bytes()
}

// Check compares the seeds of target (name → arguments) with the files in
// dir/<target>/ and returns what differs; with update it writes the files
// (and removes others) instead.
func Check(dir, target string, seeds map[string][]any, update bool) ([]string, error) {
	tdir := filepath.Join(dir, target)
	want := map[string][]byte{}
	for name, args := range seeds {
		if strings.ContainsAny(name, "/\x00") || name == "" {
			return nil, fmt.Errorf("seed name %q", name)
		}
		want[name] = Encode(args...)
	}
	have := map[string][]byte{}
	entries, err := os.ReadDir(tdir)
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(tdir, e.Name()))
		if err != nil {
			return nil, err
		}
		have[e.Name()] = data
	}
	var diffs []string
	for name, data := range want {
		if !bytes.Equal(have[name], data) {
			diffs = append(diffs, target+"/"+name)
			if update {
				if err := os.MkdirAll(tdir, 0o755); err != nil {
					return nil, err
				}
				if err := os.WriteFile(filepath.Join(tdir, name), data, 0o644); err != nil {
					return nil, err
				}
			}
		}
	}
	for name := range have {
		if _, ok := want[name]; !ok {
			diffs = append(diffs, target+"/"+name+" (not a seed)")
			if update {
				if err := os.Remove(filepath.Join(tdir, name)); err != nil {
					return nil, err
				}
			}
		}
	}
	sort.Strings(diffs)
	return diffs, nil
}
