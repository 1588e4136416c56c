package main

import (
	"flag"
	"fmt"
	"io"
)

const configUsage = `usage: podshimd config default
       podshimd config dump [flags]

  default  print every config key with its default value and what it means
           (a config file to start from: podshimd config default > /etc/podshim/config.toml)
  dump     print the configuration podshimd would run with: the defaults,
           overridden by the config file, overridden by the flags
`

// cmdConfig runs `podshimd config default|dump` and returns the exit code.
func cmdConfig(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, "podshimd config: missing subcommand\n\n"+configUsage)
		return 2
	}
	switch args[0] {
	case "default":
		if len(args) > 1 {
			fmt.Fprintf(stderr, "podshimd config default: unexpected argument %q\n\n%s", args[1], configUsage)
			return 2
		}
		if err := writeConfigTOML(stdout, DefaultConfig()); err != nil {
			fmt.Fprintf(stderr, "podshimd config default: %v\n", err)
			return 1
		}
		return 0
	case "dump":
		cfg, code := parseCommandFlags("config dump", args[1:], stdout, stderr)
		if code >= 0 {
			return code
		}
		if err := writeConfigTOML(stdout, cfg); err != nil {
			fmt.Fprintf(stderr, "podshimd config dump: %v\n", err)
			return 1
		}
		return 0
	case "-h", "--help", "help":
		fmt.Fprint(stdout, configUsage)
		return 0
	default:
		fmt.Fprintf(stderr, "podshimd config: unknown subcommand %q\n\n%s", args[0], configUsage)
		return 2
	}
}

// parseCommandFlags parses the config flags of a subcommand and loads the
// configuration. A code >= 0 means the command is over (help, or a usage
// error: 2; a config error: 2).
func parseCommandFlags(name string, args []string, stdout, stderr io.Writer) (Config, int) {
	fs := flag.NewFlagSet("podshimd "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	cf := addConfigFlags(fs)
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return Config{}, 0
		}
		return Config{}, 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "podshimd %s: unexpected argument %q\n", name, fs.Arg(0))
		fs.Usage()
		return Config{}, 2
	}
	cfg, err := cf.load()
	if err != nil {
		fmt.Fprintf(stderr, "podshimd %s: %v\n", name, err)
		return Config{}, 2
	}
	return cfg, -1
}
