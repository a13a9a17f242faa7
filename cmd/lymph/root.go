package main

import (
	"io"
	"log/slog"
	"net"
	"os"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// app is what every command shares: the streams, the global flags, and the
// printers made from them once the flags are parsed.
type app struct {
	stdout, stderr io.Writer
	stdin          io.Reader

	registryURL string
	configFile  string
	ip          string
	loglevel    string
	color       bool
	noColor     bool
	metricsAddr string

	out    *printer // stdout
	errOut *printer // stderr
	logger *slog.Logger
}

// newRootCmd builds the lymph command tree writing to stdout and stderr and
// reading stdin, so tests can run it in-process.
func newRootCmd(stdout, stderr io.Writer, stdin io.Reader) *cobra.Command {
	return newRoot(&app{stdout: stdout, stderr: stderr, stdin: stdin})
}

// newRoot builds the command tree around a, which run keeps to print the
// final error line in the colours the flags chose.
func newRoot(a *app) *cobra.Command {
	root := &cobra.Command{
		Use:   "lymph",
		Short: "Talk to lymph services: request, inspect, discover, ping",
		Long: `lymph talks to services of a lymph mesh (RPC over ZeroMQ with msgpack,
discovery in ZooKeeper), written in Go or with Python lymph.

Registry: --registry URL, else $LYMPH_REGISTRY, else the registry of the
lymph configuration, else local: (the embedded registry of this machine).
URLs: zookeeper://host:2181[,host:2181]/lymph, local:, local:///dir, memory:.

Configuration, as lymph reads it: --config, else $LYMPH_CONFIG, else
.lymph.yml in the current directory when present, over the sections of
$LYMPH_NODE_CONFIG; $(env.NAME) and $(var.NAME) ($LYMPH_VARS) substituted
(lymph config prints the result). Its registry (container.registry, or the
top-level registry) may be lymph's ZooKeeper one (hosts, chroot, zkclient)
or its static one, which lives inside one Python process and so is empty
here. A command sent to a tcp:// address needs no registry and runs
whatever the configuration says.

` + exitCodesHelp,
		Example: `  lymph discover --instances
  lymph inspect echo
  lymph request echo.upper '{"text": "hi"}'
  lymph --registry zookeeper://127.0.0.1:2181/lymph request echo.upper@1.2 '{"text": "hi"}'
  lymph request -N 10000 -C 16 echo.upper '{"text": "hi"}'`,
		Version:       version(),
		SilenceErrors: true, // run prints the one-line error itself
		SilenceUsage:  true, // a failed request is not a usage problem
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return a.setup()
		},
	}
	root.SetOut(a.stdout)
	root.SetErr(a.stderr)
	root.SetIn(a.stdin)
	root.SetFlagErrorFunc(func(_ *cobra.Command, err error) error {
		return usageErrorf("%v", err)
	})

	pf := root.PersistentFlags()
	pf.StringVar(&a.registryURL, "registry", "", "registry URL, e.g. zookeeper://127.0.0.1:2181/lymph (default $LYMPH_REGISTRY, .lymph.yml, local:)")
	pf.StringVarP(&a.configFile, "config", "c", "", "lymph config file (default $LYMPH_CONFIG, else .lymph.yml when present)")
	pf.StringVar(&a.ip, "ip", "", "IP address services reply to: this machine's address as they see it (default $LYMPH_NODE_IP or 127.0.0.1)")
	pf.StringVar(&a.loglevel, "loglevel", "warning", "log level on stderr: debug, info, warning, error")
	pf.StringVar(&a.metricsAddr, "metrics", "", "serve this command's Prometheus metrics on http://ADDR/metrics while it runs (e.g. during request -N load)")
	pf.BoolVar(&a.color, "color", false, "force colored output")
	pf.BoolVar(&a.noColor, "no-color", false, "disable colored output (NO_COLOR does too)")
	root.MarkFlagsMutuallyExclusive("color", "no-color")

	root.AddCommand(
		newRequestCmd(a),
		newInspectCmd(a),
		newDiscoverCmd(a),
		newPingCmd(a),
		newStatusCmd(a),
		newChangeLoglevelCmd(a),
		newConfigCmd(a),
		newTailCmd(a),
		newEmitCmd(a),
		newSubscribeCmd(a),
	)
	for _, c := range root.Commands() {
		wrapArgs(c)
	}
	// cobra adds these two when the command runs; made now, they can get
	// examples too: every command's --help shows one.
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	for _, c := range root.Commands() {
		switch c.Name() {
		case "help":
			c.Example = "  lymph help request"
		case "completion":
			c.Example = "  source <(lymph completion bash)\n  lymph completion zsh > \"${fpath[1]}/_lymph\""
			for _, sh := range c.Commands() {
				if sh.Example == "" {
					sh.Example = "  lymph completion " + sh.Name() + " --help"
				}
			}
		}
	}
	return root
}

// wrapArgs makes a wrong number of arguments a usage error (exit 1 with a
// pointer to --help), like a bad flag.
func wrapArgs(c *cobra.Command) {
	if c.Args == nil {
		return
	}
	check := c.Args
	c.Args = func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return usageErrorf("%v", err)
		}
		return nil
	}
}

// setup turns the global flags into printers and a logger.
func (a *app) setup() error {
	a.out = &printer{w: a.stdout, color: useColor(a.stdout, a.color, a.noColor)}
	a.errOut = &printer{w: a.stderr, color: useColor(a.stderr, a.color, a.noColor)}
	var level slog.Level
	switch strings.ToLower(a.loglevel) {
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warning", "warn":
		level = slog.LevelWarn
	case "error", "critical":
		level = slog.LevelError
	default:
		return usageErrorf("--loglevel %q: want debug, info, warning or error", a.loglevel)
	}
	a.logger = slog.New(slog.NewTextHandler(a.stderr, &slog.HandlerOptions{Level: level}))
	if a.ip == "" {
		a.ip = os.Getenv("LYMPH_NODE_IP")
	}
	if a.ip == "" {
		a.ip = "127.0.0.1"
	}
	// An address, not a name: it is bound and sent to the services as the
	// endpoint to reply to.
	if net.ParseIP(a.ip) == nil {
		return usageErrorf("--ip %q: want an IP address such as 10.0.0.5", a.ip)
	}
	return nil
}

// version is the module version the binary was built from, for --version.
func version() string {
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		return bi.Main.Version
	}
	return "(devel)"
}
