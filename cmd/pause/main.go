// Command pause is the process of a podshim pod sandbox. It holds the pod's
// namespaces open, and as PID 1 of a shared PID namespace it reaps the
// zombies that the pod's containers leave behind. It exits 0 on SIGINT or
// SIGTERM. It is built statically (CGO_ENABLED=0) so that its image needs
// nothing but the binary.
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "-v" {
		os.Stdout.WriteString("podshim pause\n")
		return
	}
	sigs := make(chan os.Signal, 4)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM, syscall.SIGCHLD)
	for sig := range sigs {
		switch sig {
		case syscall.SIGINT, syscall.SIGTERM:
			os.Exit(0)
		case syscall.SIGCHLD:
			reap()
		}
	}
}

// reap collects every exited child without blocking. Signals coalesce, so
// one SIGCHLD may stand for many exits.
func reap() {
	for {
		var status syscall.WaitStatus
		pid, err := syscall.Wait4(-1, &status, syscall.WNOHANG, nil)
		if pid <= 0 || err != nil {
			return
		}
	}
}
