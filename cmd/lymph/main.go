package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

func main() {
	// SIGINT and SIGTERM cancel the command's context instead of killing the
	// process, so a load run can print what it measured and every container
	// stops cleanly (its sockets closed, nothing left in the registry).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr, os.Stdin)
	stop()
	os.Exit(code)
}

// run executes the command line args and returns the process exit code. It
// is main without the process around it, so tests drive the CLI in-process.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, stdin io.Reader) int {
	a := &app{stdout: stdout, stderr: stderr, stdin: stdin}
	root := newRoot(a)
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if err == nil {
		return exitOK
	}
	code, msg := describe(err)
	if msg != "" {
		p := a.errOut
		if p == nil { // the flags were not parsed: no colours
			p = &printer{w: stderr}
		}
		fmt.Fprintln(stderr, p.paint(colErr, "lymph:")+" "+oneLine(msg))
	}
	var ee *exitError
	if errors.As(err, &ee) && ee.usage {
		if cmd, _, ferr := root.Find(args); ferr == nil {
			fmt.Fprintf(stderr, "Run '%s --help' for usage.\n", cmd.CommandPath())
		}
	}
	return code
}

// oneLine folds a message onto one line: wrapped and joined errors may carry
// newlines, and the promise is one line per failure.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
