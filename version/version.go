// Package version holds podshim's version and the git commit it was built
// from. The Makefile stamps both with -ldflags -X; a plain `go build`
// leaves Commit "unknown".
package version

// Version is podshim's release version. The CRI Version call and
// `podshimd --version` report it.
var Version = "0.1.0"

// Commit is the git commit podshimd was built from ("unknown" when the
// build did not stamp it).
var Commit = "unknown"
