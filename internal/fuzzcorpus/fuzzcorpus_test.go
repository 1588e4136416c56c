package fuzzcorpus

import (
	"os"
	"path/filepath"
	"testing"
)

func TestEncode(t *testing.T) {
	got := string(Encode(byte(3), []byte("a\x00"), "b\n", int64(-5), true))
	want := "go test fuzz v1\nbyte('\\x03')\n[]byte(\"a\\x00\")\nstring(\"b\\n\")\nint64(-5)\nbool(true)\n"
	if got != want {
		t.Errorf("Encode = %q, want %q", got, want)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	seeds := map[string][]any{"one": {"x"}, "two": {"y"}}
	diffs, err := Check(dir, "FuzzX", seeds, false)
	if err != nil || len(diffs) != 2 {
		t.Fatalf("Check on an empty dir = %v, %v; want both seeds missing", diffs, err)
	}
	if _, err := Check(dir, "FuzzX", seeds, true); err != nil {
		t.Fatal(err)
	}
	if diffs, err := Check(dir, "FuzzX", seeds, false); err != nil || len(diffs) != 0 {
		t.Fatalf("Check after update = %v, %v", diffs, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "FuzzX", "stray"), []byte("go test fuzz v1\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	delete(seeds, "two")
	seeds["one"] = []any{"changed"}
	diffs, _ = Check(dir, "FuzzX", seeds, false)
	if len(diffs) != 3 {
		t.Fatalf("Check = %v, want one changed, one stale and one stray file", diffs)
	}
	Check(dir, "FuzzX", seeds, true)
	if entries, _ := os.ReadDir(filepath.Join(dir, "FuzzX")); len(entries) != 1 {
		t.Errorf("after update %d files, want 1", len(entries))
	}
}
