package main

import (
	"github.com/spf13/cobra"
)

func newConfigCmd(a *app) *cobra.Command {
	return &cobra.Command{
		Use:   "config",
		Short: "Print the lymph configuration as lymph merges it",
		Long: `Print the configuration as YAML, as Python lymph's config command does:
the sections of $LYMPH_NODE_CONFIG, the config file (--config, else
$LYMPH_CONFIG, else .lymph.yml when present) over them, $(env.NAME) and
$(var.NAME) ($LYMPH_VARS) substituted, and container.ip defaulted to
$LYMPH_NODE_IP or 127.0.0.1.

` + exitCodesHelp,
		Example: `  lymph config
  lymph --config service.yml config`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			conf, err := loadConfig(a.configFile)
			if err != nil {
				return err
			}
			out, err := conf.YAML()
			if err != nil {
				return inputErrorf("config: %v", err)
			}
			_, err = a.out.w.Write(out)
			return err
		},
	}
}
