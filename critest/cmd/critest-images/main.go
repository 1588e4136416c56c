// Command critest-images builds every image the critest harness serves and
// prints each name with its manifest digest, then the images it cannot
// provide with the reason. Two runs on the same inputs print the same
// digests.
//
//	critest-images --busybox-dir D --libc-dir D --helpers-dir D
package main

import (
	"flag"
	"fmt"
	"os"

	"github.com/podshim/podshim/critest/catalog"
)

func main() {
	var in catalog.Inputs
	in.RegisterFlags(flag.CommandLine)
	flag.Parse()
	if err := run(in); err != nil {
		fmt.Fprintf(os.Stderr, "critest-images: %v\n", err)
		os.Exit(1)
	}
}

func run(in catalog.Inputs) error {
	if err := in.Check(); err != nil {
		return err
	}
	entries, err := catalog.Build(in)
	if err != nil {
		return err
	}
	for _, e := range entries {
		digest, err := e.Image.Digest()
		if err != nil {
			return fmt.Errorf("digest of %s: %w", e.Names[0], err)
		}
		for _, n := range e.Names {
			fmt.Printf("%s\t%s\n", n, digest)
		}
	}
	for _, s := range catalog.SkippedImages() {
		fmt.Printf("%s\tSKIPPED: %s\n", s.Name, s.Reason)
	}
	return nil
}
