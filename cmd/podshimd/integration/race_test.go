package integration

import (
	"os"
	"strings"
)

// raceBuild reports whether podshimd is built with the race detector
// (PODSHIM_RACE=1; `make test` sets it for the Debian stack's run).
func raceBuild() bool { return os.Getenv("PODSHIM_RACE") == "1" }

// buildFlags are the extra go build flags of podshimd.
func buildFlags() []string {
	if raceBuild() {
		return []string{"-race"}
	}
	return nil
}

// raceReports counts the data races a -race podshimd wrote to its log
// (the race detector reports them on stderr and goes on).
func raceReports(logPath string) int {
	data, err := os.ReadFile(logPath)
	if err != nil {
		return 0
	}
	return strings.Count(string(data), "WARNING: DATA RACE")
}
