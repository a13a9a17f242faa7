package lymph

import (
	"net"
	"strconv"

	"github.com/lymphgo/lymph/events"
	"github.com/lymphgo/lymph/internal/lymphconfig"
)

// Config is a lymph configuration file (.lymph.yml) read as Python lymph
// reads it, so that one file configures the Python and the Go services of
// a mesh. FromConfig returns it; Options turns it into container options.
type Config struct {
	// Source is the file read ("" when the default .lymph.yml is absent).
	Source string
	// ServiceName is container.service_name, else $LYMPH_SERVICE_NAME,
	// else the top-level name; "" when none is set.
	ServiceName string
	// Endpoint is tcp://container.ip:container.port; the IP defaults to
	// $LYMPH_NODE_IP, else 127.0.0.1, and port 0 (unset) picks a free port.
	// Options binds it.
	Endpoint string
	// IP is container.ip as the files set it; "" when they do not. A
	// container given the configuration (WithConfig) advertises it when
	// its endpoint binds every address (tcp://0.0.0.0:PORT) and
	// $LYMPH_NODE_IP is unset; see WithAdvertiseIP.
	IP string
	// RegistryURL is the registry the file names (container.registry or
	// the deprecated top-level registry), as a registry URL: ZooKeeper's
	// hosts and chroot, or "memory:" for lymph's in-process static
	// registry. "" when the file names none.
	RegistryURL string
	// LogEndpoint is container.log_endpoint, where the log stream binds
	// (see the logstream package); "" picks a free port.
	LogEndpoint string
	// Events is container.events (or the deprecated event_system): the
	// event system's class and, for lymph's kombu one, the broker URL; nil
	// when the file has none.
	Events *EventsConfig
	// Values is the whole merged configuration, for sections Go has no
	// field for (an interface's own section: Values["interfaces"]).
	Values map[string]any
}

// EventsConfig is lymph's event system section of a config file.
type EventsConfig struct {
	// Class is the Python class named, e.g.
	// lymph.events.kombu:KombuEventSystem.
	Class string
	// URL is the broker, for the kombu event system: hostname when it is
	// a URL, else amqp://userid:password@hostname:port/virtual_host from
	// kombu's keys with kombu's defaults (guest, guest, localhost, 5672,
	// /). "" for other classes.
	URL string
	// Exchange is lymph's exchange name, "lymph" by default.
	Exchange string
	// Serializer is lymph-msgpack (the default) or lymph-json.
	Serializer string
	// Section is the whole section, for settings not interpreted here.
	Section map[string]any
}

// publicEvents makes the internal reading public; nil stays nil.
func publicEvents(e *lymphconfig.Events) *EventsConfig {
	if e == nil {
		return nil
	}
	return &EventsConfig{Class: e.Class, URL: e.URL, Exchange: e.Exchange, Serializer: e.Serializer, Section: e.Section}
}

// FromConfig reads a lymph config file as lymph does: path, else
// $LYMPH_CONFIG, else .lymph.yml in the current directory (which may be
// absent); the sections container, registry, event_system, plugins and
// dependencies of $LYMPH_NODE_CONFIG first, the file's over them;
// $(env.NAME), and $(var.NAME) from the $LYMPH_VARS file, substituted.
func FromConfig(path string) (*Config, error) {
	conf, err := lymphconfig.Load(lymphconfig.Options{File: path})
	if err != nil {
		return nil, err
	}
	ct, err := conf.Container()
	if err != nil {
		return nil, err
	}
	regURL, _, _, err := conf.Registry()
	if err != nil {
		return nil, err
	}
	return &Config{
		Source:      conf.Source,
		ServiceName: ct.ServiceName,
		IP:          ipIfSet(ct),
		Endpoint:    "tcp://" + net.JoinHostPort(ct.IP, strconv.Itoa(ct.Port)),
		RegistryURL: regURL,
		LogEndpoint: ct.LogEndpoint,
		Events:      publicEvents(ct.Events),
		Values:      conf.Values,
	}, nil
}

// Options returns the container options the configuration sets: the
// endpoint, the service name, the registry and the event system
// (container.events, as lymph's kombu settings), when set, and the
// configuration itself for services' own sections (WithConfig). Options given
// after them to NewContainer win.
func (c *Config) Options() []ContainerOption {
	opts := []ContainerOption{WithEndpoint(c.Endpoint), WithConfig(c)}
	if c.ServiceName != "" {
		opts = append(opts, WithName(c.ServiceName))
	}
	if c.RegistryURL != "" {
		opts = append(opts, WithRegistryURL(c.RegistryURL))
	}
	if c.Events != nil {
		if u, ok, err := events.URLFromConfig(c.Events.Section); err == nil && ok {
			opts = append(opts, WithEvents(u))
		}
	}
	return opts
}

func ipIfSet(ct lymphconfig.Container) string {
	if ct.IPSet {
		return ct.IP
	}
	return ""
}
