package faultpoint

import (
	"errors"
	"os"
	"os/exec"
	"syscall"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		spec    string
		wantNil bool
		wantErr bool
		nth     int64
	}{
		{spec: "", wantNil: true},
		{spec: string(StopContainerAfterExit), nth: 1},
		{spec: string(StopContainerAfterExit) + "#3", nth: 3},
		{spec: "stop-container/no-such-point", wantErr: true},
		{spec: string(StopContainerAfterExit) + "#0", wantErr: true},
		{spec: string(StopContainerAfterExit) + "#x", wantErr: true},
	} {
		s, err := Parse(tc.spec)
		if (err != nil) != tc.wantErr {
			t.Errorf("Parse(%q) error = %v, want error %v", tc.spec, err, tc.wantErr)
			continue
		}
		if tc.wantErr {
			continue
		}
		if (s == nil) != tc.wantNil {
			t.Errorf("Parse(%q) = %v, want nil %v", tc.spec, s, tc.wantNil)
			continue
		}
		if s != nil && s.nth != tc.nth {
			t.Errorf("Parse(%q) crashes at hit %d, want %d", tc.spec, s.nth, tc.nth)
		}
	}
}

func TestAllNamesUniqueAndParse(t *testing.T) {
	seen := map[Point]bool{}
	for _, p := range All() {
		if seen[p] {
			t.Errorf("point %s listed twice", p)
		}
		seen[p] = true
		if s, err := Parse(string(p)); err != nil || !s.Armed(p) {
			t.Errorf("Parse(%q) = %v, %v; want it armed", p, s, err)
		}
	}
	if len(seen) < 20 {
		t.Errorf("only %d points", len(seen))
	}
}

func TestHitCountsAndKillsOnlyAtTheArmedHit(t *testing.T) {
	var nilSet *Set
	nilSet.Hit(StopContainerAfterExit) // unarmed: returns
	if nilSet.Armed(StopContainerAfterExit) {
		t.Error("a nil set is armed")
	}

	s, err := Parse(string(StopContainerAfterExit) + "#2")
	if err != nil {
		t.Fatal(err)
	}
	kills := 0
	s.kill = func() { kills++ }
	s.Hit(StopContainerAfterKill) // another point: not counted
	s.Hit(StopContainerAfterExit)
	if kills != 0 {
		t.Fatalf("killed at the first hit of a #2 point")
	}
	s.Hit(StopContainerAfterExit)
	if kills != 1 {
		t.Fatalf("kills after the second hit = %d, want 1", kills)
	}
	s.Hit(StopContainerAfterExit)
	if kills != 1 {
		t.Fatalf("killed again after the armed hit: %d", kills)
	}
}

// TestHitKillsTheProcess runs this test binary again with the point armed
// through Env and checks that it died of SIGKILL at the point, not later.
func TestHitKillsTheProcess(t *testing.T) {
	if os.Getenv("FAULTPOINT_CHILD") == "1" {
		s, err := FromEnv()
		if err != nil {
			os.Exit(3)
		}
		s.Hit(RemoveImageBetweenNames)
		os.Exit(4) // not reached when the point works
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHitKillsTheProcess$")
	cmd.Env = append(os.Environ(), "FAULTPOINT_CHILD=1", Env+"="+string(RemoveImageBetweenNames))
	err := cmd.Run()
	var exit *exec.ExitError
	if !errors.As(err, &exit) {
		t.Fatalf("child: %v, want killed", err)
	}
	ws := exit.Sys().(syscall.WaitStatus)
	if !ws.Signaled() || ws.Signal() != syscall.SIGKILL {
		t.Fatalf("child ended with %v, want SIGKILL", ws)
	}

	// Unarmed (another point armed), the child runs to its exit.
	cmd = exec.Command(os.Args[0], "-test.run=^TestHitKillsTheProcess$")
	cmd.Env = append(os.Environ(), "FAULTPOINT_CHILD=1", Env+"="+string(PullImageBeforeTag))
	err = cmd.Run()
	if !errors.As(err, &exit) || exit.ExitCode() != 4 {
		t.Fatalf("child with another point armed: %v, want exit 4", err)
	}
}
