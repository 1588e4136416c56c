// Command podshimd is podshim's daemon: a CRI v1 runtime for kubelet on
// containerd, runc and CNI.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/containerd/log"
	"github.com/sirupsen/logrus"
)

func main() {
	cfg, err := loadConfig(os.Args[1:])
	if err != nil {
		fmt.Fprintf(os.Stderr, "podshimd: %v\n", err)
		os.Exit(2)
	}
	if err := setupLogging(cfg); err != nil {
		fmt.Fprintf(os.Stderr, "podshimd: %v\n", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		log.G(ctx).WithError(err).Error("podshimd failed")
		os.Exit(1)
	}
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
