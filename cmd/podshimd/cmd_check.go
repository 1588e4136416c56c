package main

import (
	"context"
	"fmt"
	"io"
)

// cmdCheck runs `podshimd check`.
func cmdCheck(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	_, code := parseCommandFlags("check", args, stdout, stderr)
	if code >= 0 {
		return code
	}
	fmt.Fprintln(stderr, "podshimd check: not implemented yet")
	return 1
}
