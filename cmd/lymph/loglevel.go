package main

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/spf13/cobra"

	"github.com/lymphgo/lymph/registry"
)

type loglevelFlags struct {
	name, level string
	period      float64
	timeout     float64
}

func newChangeLoglevelCmd(a *app) *cobra.Command {
	var f loglevelFlags
	cmd := &cobra.Command{
		Use:   "change-loglevel [flags] ADDRESS",
		Short: "Set the log level of every instance of a service for a while",
		Long: `Call lymph.change_loglevel on every live instance of ADDRESS (or on the
one instance at a tcp:// endpoint): the logger --name is set to --level
for --period seconds, then restored, as Python lymph's change-loglevel
does. Go services have one logger per container, so --name is only
logged there.

ADDRESS is a service name (echo, echo@1.2) or tcp://host:port.

` + exitCodesHelp,
		Example: `  lymph change-loglevel -l DEBUG echo
  lymph change-loglevel --name lymph.core --level WARNING --period 300 tcp://127.0.0.1:4000`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runChangeLoglevel(cmd.Context(), a, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.name, "name", "n", "", "name of the logger to change (Python's qualname)")
	fl.StringVarP(&f.level, "level", "l", "", "level to set: DEBUG, INFO, WARNING, ERROR or CRITICAL")
	fl.Float64VarP(&f.period, "period", "p", 60, "seconds until the level is restored")
	addTimeoutFlag(cmd, &f.timeout)
	_ = cmd.MarkFlagRequired("level")
	return cmd
}

func runChangeLoglevel(ctx context.Context, a *app, f *loglevelFlags, addressArg string) error {
	d, err := timeoutOf(f.timeout)
	if err != nil {
		return err
	}
	if !(f.period > 0) || math.IsInf(f.period, 0) {
		return usageErrorf("--period %v: want a positive number of seconds (e.g. --period=0.42)", f.period)
	}
	address, version, err := parseAddress(addressArg)
	if err != nil {
		return err
	}
	cl, err := a.startClient(ctx, address)
	if err != nil {
		return err
	}
	defer cl.close()

	endpoints := []string{address}
	if !strings.HasPrefix(address, "tcp://") {
		lctx, cancel := context.WithTimeout(ctx, d+lookupGrace)
		instances, err := cl.reg.Lookup(lctx, address)
		cancel()
		if err != nil {
			return &exitError{code: exitLookup, err: fmt.Errorf("registry %s: looking up %s: %w", cl.src.url, address, err)}
		}
		endpoints = endpoints[:0]
		for _, inst := range registry.Match(instances, version) {
			endpoints = append(endpoints, inst.Endpoint)
		}
		if len(endpoints) == 0 {
			return &exitError{code: exitLookup, err: fmt.Errorf("no live instance of %q in registry %s", addressArg, cl.src.url)}
		}
	}
	a.out.printf("Changing logger '%s' of '%s' to '%s' for a period of %s seconds\n", f.name, addressArg, f.level, pyFloat(f.period, 64))
	body := map[string]any{"qualname": f.name, "loglevel": f.level, "period": f.period}
	var errs []error
	for _, ep := range endpoints {
		t := target{subject: "lymph.change_loglevel", address: ep, timeout: d}
		msg, err := cl.caller(t)(ctx, body)
		if err != nil {
			err = cl.callErr(t, msg, "", err)
			a.errOut.printf("%s: %v\n", ep, err)
			errs = append(errs, err)
		}
	}
	if len(errs) > 0 {
		// The first failure decides the exit code; each was printed.
		return &exitError{code: exitCode(errs[0]), err: fmt.Errorf("%d of %d instances failed: %w", len(errs), len(endpoints), errors.Join(errs...))}
	}
	return nil
}
