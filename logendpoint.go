package lymph

// WithLogEndpoint publishes endpoint (tcp://host:port) as the instance's
// log_endpoint in the registry: where its log stream's PUB socket listens
// (see the logstream package), so that lymph tail, Python's or Go's, finds
// it. Without it the registry says null, as for a lymph instance without a
// log stream (the default). An endpoint that is not tcp://host:port is an
// error.
func WithLogEndpoint(endpoint string) ContainerOption {
	if err := checkEndpoint(endpoint); err != nil {
		return badContainerOption("WithLogEndpoint: %v", err)
	}
	return containerOption(func(c *config) { c.logEndpoint = endpoint })
}

// registryFields are the fields beyond lymph's core ones this container
// publishes with each interface; nil leaves the registry's defaults.
func (c *config) registryFields() map[string]any {
	if c.logEndpoint == "" {
		return nil
	}
	return map[string]any{"log_endpoint": c.logEndpoint}
}
