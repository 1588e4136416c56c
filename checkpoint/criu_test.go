package checkpoint

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/containerd/containerd/errdefs"
)

// fakeCRIU writes a criu stand-in that counts its runs in a file, prints
// out and exits with code.
func fakeCRIU(t *testing.T, out string, code int) (bin, runs string) {
	t.Helper()
	dir := t.TempDir()
	bin, runs = filepath.Join(dir, "criu"), filepath.Join(dir, "runs")
	outFile := filepath.Join(dir, "out")
	if err := os.WriteFile(outFile, []byte(out), 0o644); err != nil {
		t.Fatal(err)
	}
	script := "#!/bin/sh\n[ \"$1\" = check ] || exit 99\necho run >> " + runs + "\ncat " + outFile + " >&2\nexit " + string(rune('0'+code)) + "\n"
	if err := os.WriteFile(bin, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return bin, runs
}

// What Debian's criu 3.17.1 says on this 6.18 kernel.
const vdsoFailure = `Error (criu/vdso.c:381): vdso: Unexpected rt vDSO area bounds
Error (criu/vdso.c:613): vdso: Failed to fill self vdso symtable
Error (criu/kerndat.c:1615): kerndat_vdso_fill_symtable failed when initializing kerndat.
Error (criu/crtools.c:260): Could not initialize kernel features detection.
`

func TestCRIUCheckFailure(t *testing.T) {
	bin, runs := fakeCRIU(t, vdsoFailure, 1)
	c := &CRIU{Path: bin}
	err := c.Check(context.Background())
	if !errdefs.IsFailedPrecondition(err) {
		t.Fatalf("err %v, want FailedPrecondition", err)
	}
	want := "criu: " + bin + " check failed: vdso: Unexpected rt vDSO area bounds; vdso: Failed to fill self vdso symtable; " +
		"kerndat_vdso_fill_symtable failed when initializing kerndat.; Could not initialize kernel features detection."
	if !strings.HasSuffix(err.Error(), want) {
		t.Errorf("err %q\nwant it to end with %q", err, want)
	}
	// Kept: the second call does not run criu again.
	if err2 := c.Check(context.Background()); err2 != err {
		t.Errorf("second Check: %v", err2)
	}
	if data, _ := os.ReadFile(runs); strings.Count(string(data), "run") != 1 {
		t.Errorf("criu ran %d times, want once", strings.Count(string(data), "run"))
	}
}

func TestCRIUCheckOK(t *testing.T) {
	bin, _ := fakeCRIU(t, "Looks good.\n", 0)
	if err := (&CRIU{Path: bin}).Check(context.Background()); err != nil {
		t.Errorf("err %v", err)
	}
}

func TestCRIUCheckNotInstalled(t *testing.T) {
	err := (&CRIU{Path: filepath.Join(t.TempDir(), "criu")}).Check(context.Background())
	if !errdefs.IsFailedPrecondition(err) || !strings.Contains(err.Error(), "criu: not installed") {
		t.Errorf("err %v, want FailedPrecondition criu: not installed", err)
	}
}

func TestCRIUCheckOutputWithoutErrors(t *testing.T) {
	bin, _ := fakeCRIU(t, "Warn (criu/cr-check.c:1230): something odd\n", 1)
	err := (&CRIU{Path: bin}).Check(context.Background())
	if err == nil || !strings.HasSuffix(err.Error(), "check failed: something odd") {
		t.Errorf("err %v", err)
	}
}
