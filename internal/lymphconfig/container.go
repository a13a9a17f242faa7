package lymphconfig

import (
	"fmt"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Container is what the container section (and the sections lymph folds
// into it) says about one instance.
type Container struct {
	// IP is container.ip: $LYMPH_NODE_IP or 127.0.0.1 when unset.
	IP string
	// IPSet reports that a file set container.ip (IP is not a default).
	IPSet bool
	// Port is container.port; 0 picks a free port.
	Port int
	// ServiceName is container.service_name, else $LYMPH_SERVICE_NAME,
	// else the top-level name (lymph's ServiceContainer.from_config).
	ServiceName string
	// LogEndpoint is container.log_endpoint: where the log stream's PUB
	// socket binds; "" picks a free port.
	LogEndpoint string
	// Events is container.events, or the deprecated top-level
	// event_system; nil when neither is set.
	Events *Events
}

// Events is lymph's event system section.
type Events struct {
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

// Container interprets the container section.
func (c *Config) Container() (Container, error) {
	var out Container
	out.IP = c.String("container.ip")
	out.IPSet = out.IP != "" && !c.ipDefaulted
	if out.IP == "" {
		out.IP = os.Getenv(EnvNodeIP)
	}
	if out.IP == "" {
		out.IP = "127.0.0.1"
	}
	switch p := c.Get("container.port").(type) {
	case nil:
	case int:
		out.Port = p
	case string:
		n, err := strconv.Atoi(p)
		if err != nil {
			return out, fmt.Errorf("container.port: want a number, got %q", p)
		}
		out.Port = n
	default:
		return out, fmt.Errorf("container.port: want a number, got %v", p)
	}
	if out.Port < 0 || out.Port > 65535 {
		return out, fmt.Errorf("container.port: %d is not a port", out.Port)
	}
	out.ServiceName = c.String("container.service_name")
	if out.ServiceName == "" {
		out.ServiceName = os.Getenv(EnvServiceName)
	}
	if out.ServiceName == "" {
		out.ServiceName = c.String("name")
	}
	out.LogEndpoint = c.String("container.log_endpoint")
	events := c.Map("event_system") // deprecated, and wins as in create_container
	if events == nil {
		events = c.Map("container.events")
	}
	if events != nil {
		ev, err := parseEvents(events)
		if err != nil {
			return out, err
		}
		out.Events = ev
	}
	return out, nil
}

func parseEvents(section map[string]any) (*Events, error) {
	str := func(k, def string) string {
		switch v := section[k].(type) {
		case nil:
			return def
		case string:
			return v
		default:
			return fmt.Sprint(v)
		}
	}
	ev := &Events{
		Class:      str("class", ""),
		Exchange:   str("exchange", "lymph"),
		Serializer: str("serializer", "lymph-msgpack"),
		Section:    section,
	}
	if !strings.Contains(ev.Class, "kombu") {
		return ev, nil
	}
	host := str("hostname", "localhost")
	if strings.Contains(host, "://") {
		if _, err := url.Parse(host); err != nil {
			return nil, fmt.Errorf("container.events.hostname: %v", err)
		}
		ev.URL = host
		return ev, nil
	}
	transport := str("transport", "amqp")
	switch transport {
	case "amqp", "pyamqp", "librabbitmq":
		transport = "amqp"
	case "amqps":
	default:
		return nil, fmt.Errorf("container.events.transport %q is not supported (only amqp)", transport)
	}
	u := url.URL{
		Scheme: transport,
		User:   url.UserPassword(str("userid", "guest"), str("password", "guest")),
		Host:   host + ":" + str("port", "5672"),
		Path:   "/",
	}
	if vhost := str("virtual_host", "/"); vhost != "/" {
		u.Path = "/" + vhost
	}
	ev.URL = u.String()
	return ev, nil
}
