// Command podshimd is podshim's daemon: a CRI v1 runtime for kubelet on
// containerd, runc and CNI.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/containerd/log"
	"github.com/sirupsen/logrus"
)

const usage = `usage: podshimd [flags]                run the CRI daemon
       podshimd --version [flags]      print podshim's version and commit, and containerd's and runc's
       podshimd version [flags]        the same
       podshimd check [flags]          check the node podshim runs on; exits 1 when pods could not run
       podshimd config default         print every config key with its default and what it means
       podshimd config dump [flags]    print the configuration after config file and flags
       podshimd help                   print this

The flags are the config keys (podshimd config default lists them) and
--config FILE (default /etc/podshim/config.toml). podshimd -h lists them.
`

func main() {
	os.Exit(dispatch(os.Args[1:], os.Stdout, os.Stderr))
}

// dispatch runs the command args name and returns the exit code: 2 for
// arguments it does not know.
func dispatch(args []string, stdout, stderr io.Writer) int {
	ctx := context.Background()
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "config":
			return cmdConfig(args[1:], stdout, stderr)
		case "check":
			return cmdCheck(ctx, args[1:], stdout, stderr)
		case "version":
			cfg, code := parseCommandFlags("version", args[1:], stdout, stderr)
			if code >= 0 {
				return code
			}
			return cmdVersion(ctx, cfg, stdout)
		case "help":
			fmt.Fprint(stdout, usage)
			return 0
		default:
			fmt.Fprintf(stderr, "podshimd: unknown command %q\n\n%s", args[0], usage)
			return 2
		}
	}
	fs := flag.NewFlagSet("podshimd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(fs.Output(), usage+"\nflags:\n")
		fs.PrintDefaults()
	}
	showVersion := fs.Bool("version", false, "print podshim's version and commit, and containerd's and runc's, and exit")
	cf := addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return 0
		}
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "podshimd: unexpected argument %q\n\n%s", fs.Arg(0), usage)
		return 2
	}
	cfg, err := cf.load()
	if err != nil {
		fmt.Fprintf(stderr, "podshimd: %v\n", err)
		return 2
	}
	if *showVersion {
		return cmdVersion(ctx, cfg, stdout)
	}
	return cmdDaemon(ctx, cfg, stderr)
}

// cmdDaemon runs podshimd until SIGINT or SIGTERM.
func cmdDaemon(ctx context.Context, cfg Config, stderr io.Writer) int {
	if err := setupLogging(cfg); err != nil {
		fmt.Fprintf(stderr, "podshimd: %v\n", err)
		return 2
	}
	ctx, stop := signal.NotifyContext(ctx, syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.G(ctx).WithError(err).Error("podshimd failed")
		return 1
	}
	return 0
}

func setupLogging(cfg Config) error {
	level, err := logrus.ParseLevel(cfg.LogLevel)
	if err != nil {
		return fmt.Errorf("log_level: %w", err)
	}
	logrus.SetLevel(level)
	if cfg.LogFormat == "json" {
		logrus.SetFormatter(&logrus.JSONFormatter{TimestampFormat: log.RFC3339NanoFixed})
	} else {
		logrus.SetFormatter(&logrus.TextFormatter{FullTimestamp: true, TimestampFormat: log.RFC3339NanoFixed})
	}
	return nil
}
