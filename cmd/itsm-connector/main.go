// Command itsm-connector receives Azure Monitor alerts through a Secure
// Webhook and keeps work items in ITSM tools through plugins.
//
//	itsm-connector serve      -config connector.hcl   run the connector
//	itsm-connector validate   -config connector.hcl   check a config, plugins included
//	itsm-connector route      -config F -alert A.json show where an alert would go
//	itsm-connector send       -url U A.json           post an alert with a dev token
//	itsm-connector token                              mint a dev token
//	itsm-connector deadletter list|show|replay|drop   manage dead letters
//	itsm-connector workitems  list|show               inspect work items and their audit trail
//	itsm-connector plugins                            list plugins and their schemas
//	itsm-connector version
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"syscall"

	"github.com/itsm-connector/itsm-connector/host/app"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

// command is one subcommand.
type command struct {
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

var commands = map[string]command{}

func register(name, summary string, run func(ctx context.Context, args []string, stdout, stderr io.Writer) error) {
	commands[name] = command{summary: summary, run: run}
}

// exitError carries a specific exit code (e.g. 1 for invalid config) without
// printing anything more.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "-h" || args[0] == "-help" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	cmd, ok := commands[args[0]]
	if !ok {
		fmt.Fprintf(stderr, "itsm-connector: unknown command %q\n\n", args[0])
		usage(stderr)
		return 2
	}
	err := cmd.run(ctx, args[1:], stdout, stderr)
	var ee exitError
	switch {
	case err == nil:
		return 0
	case errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ee):
		return ee.code
	default:
		// Errors quote the store, the admin API, plugins and alerts.
		fmt.Fprintf(stderr, "itsm-connector %s: %s\n", args[0], termText(err.Error()))
		return 1
	}
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: itsm-connector <command> [flags]")
	fmt.Fprintln(w)
	names := make([]string, 0, len(commands))
	for n := range commands {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(w, "  %-11s %s\n", n, commands[n].summary)
	}
	fmt.Fprintln(w)
	fmt.Fprintln(w, "Run 'itsm-connector <command> -h' for a command's flags.")
}

// newFlags makes a FlagSet that reports errors instead of exiting.
func newFlags(name string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("itsm-connector "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	return fs
}

// defaultConfigFile is the configuration every command reads without
// -config, except in dev mode.
const defaultConfigFile = "connector.hcl"

// configFlags registers -config and -dev as serve has them.
func configFlags(fs *flag.FlagSet, opts *app.Options, devUsage string) {
	fs.StringVar(&opts.ConfigPath, "config", "", "configuration `file` (default "+defaultConfigFile+"; with -dev the embedded quickstart)")
	fs.BoolVar(&opts.Dev, "dev", false, devUsage)
}

// defaultConfig sets the configuration serve would load: without -config,
// connector.hcl, or in dev mode the embedded quickstart (empty path).
func defaultConfig(opts *app.Options) {
	if opts.ConfigPath == "" && !opts.Dev {
		opts.ConfigPath = defaultConfigFile
	}
}

func init() {
	register("version", "print the version", func(_ context.Context, _ []string, stdout, _ io.Writer) error {
		fmt.Fprintf(stdout, "itsm-connector %s (plugin API v1)\n", version)
		return nil
	})
}
