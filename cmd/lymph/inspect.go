package main

import (
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
)

// methodInfo is one entry of lymph.inspect's reply.
type methodInfo struct {
	Name    string   `msgpack:"name" json:"name"`
	Version *string  `msgpack:"version" json:"version"`
	Params  []string `msgpack:"params" json:"params"`
	Help    string   `msgpack:"help" json:"help"`
}

func newInspectCmd(a *app) *cobra.Command {
	var timeout float64
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "inspect [flags] ADDRESS",
		Short: "List the RPC methods of a service, with their parameters and help",
		Long: `Call lymph.inspect on ADDRESS and print every method it serves, the
builtin lymph interface included: the subject, the parameters, and the help
text indented below, as Python lymph's tool prints them. A versioned
interface's methods show their version: echo.upper@1.2.0(text).

ADDRESS is a service name (an instance is picked from the registry; echo@1.2
asks for a version) or an instance's endpoint, tcp://host:port.

` + exitCodesHelp,
		Example: `  lymph inspect echo
  lymph inspect --json tcp://127.0.0.1:4000 | jq '.[].name'`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			d, err := timeoutOf(timeout)
			if err != nil {
				return err
			}
			address, version, err := parseAddress(args[0])
			if err != nil {
				return err
			}
			ctx := cmd.Context()
			cl, err := a.startClient(ctx, address)
			if err != nil {
				return err
			}
			defer cl.close()
			t := target{subject: "lymph.inspect", version: version, address: address, timeout: d}
			msg, err := cl.caller(t)(ctx, nil)
			if err != nil {
				return cl.callErr(t, msg, "", err)
			}
			var reply struct {
				Methods []methodInfo `msgpack:"methods"`
			}
			if err := msg.Decode(&reply); err != nil {
				return fmt.Errorf("lymph.inspect at %s: unexpected reply: %v", msg.Source, err)
			}
			for i := range reply.Methods {
				reply.Methods[i].Version = noneIsNoVersion(reply.Methods[i].Version)
			}
			printMethods(a.out, reply.Methods, asJSON)
			return nil
		},
	}
	addTimeoutFlag(cmd, &timeout)
	cmd.Flags().BoolVar(&asJSON, "json", false, "print the methods as a JSON array")
	return cmd
}

func printMethods(p *printer, methods []methodInfo, asJSON bool) {
	sort.SliceStable(methods, func(i, j int) bool {
		if methods[i].Name != methods[j].Name {
			return methods[i].Name < methods[j].Name
		}
		return deref(methods[i].Version) < deref(methods[j].Version)
	})
	if asJSON {
		for i := range methods {
			if methods[i].Params == nil {
				methods[i].Params = []string{}
			}
		}
		_ = writeJSON(p.w, methods)
		return
	}
	for _, m := range methods {
		name := m.Name
		if v := deref(m.Version); v != "" {
			name += "@" + v
		}
		p.printf("rpc %s(%s)\n", p.paint(colName, name), strings.Join(m.Params, ", "))
		for _, line := range wrapText(m.Help, 70) {
			p.printf("    %s\n", line)
		}
		p.println()
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// noneIsNoVersion reads Python lymph's inspect, which writes the text "None"
// (str(None)) as the version of an unversioned method: that is no version.
func noneIsNoVersion(v *string) *string {
	if v != nil && (*v == "None" || *v == "") {
		return nil
	}
	return v
}
