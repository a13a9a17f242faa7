package events

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
)

// URLFromConfig turns the container.events section of a lymph .lymph.yml
// (decoded YAML) into a backend URL. For lymph.events.kombu:KombuEventSystem
// it reads kombu's connection keys: hostname (a host, or a whole
// amqp://user:pass@host:port/vhost URL), userid, password, virtual_host,
// port, and lymph's exchange; kombu's defaults fill the rest (guest/guest on
// localhost:5672, vhost "/"). lymph's LocalEventSystem (one process) maps to
// memory:. ok is false when the section names no event system Go knows.
func URLFromConfig(section map[string]any) (u string, ok bool, err error) {
	if section == nil {
		return "", false, nil
	}
	class, _ := section["class"].(string)
	switch {
	case strings.Contains(class, "LocalEventSystem"):
		return "memory:", true, nil
	case class != "" && !strings.Contains(class, "kombu"):
		return "", false, fmt.Errorf("events class %s is not supported (lymph.events.kombu:KombuEventSystem or LocalEventSystem)", class)
	}
	str := func(k string) string {
		switch v := section[k].(type) {
		case string:
			return v
		case int:
			return strconv.Itoa(v)
		}
		return ""
	}
	out := &url.URL{Scheme: "amqp", Host: "localhost:5672", Path: "/"}
	user, pass := "guest", "guest"
	if h := str("hostname"); h != "" {
		if strings.Contains(h, "://") {
			parsed, err := url.Parse(h)
			if err != nil {
				return "", false, fmt.Errorf("events hostname %q: %v", h, err)
			}
			out.Scheme, out.Host = parsed.Scheme, parsed.Host
			if parsed.User != nil {
				user = parsed.User.Username()
				if p, ok := parsed.User.Password(); ok {
					pass = p
				}
			}
			if parsed.Path != "" {
				out.Path = parsed.Path
			}
		} else {
			out.Host = h
		}
	}
	if p := str("port"); p != "" {
		out.Host = hostOnly(out.Host) + ":" + p
	} else if !strings.Contains(out.Host, ":") {
		out.Host += ":5672"
	}
	if v := str("userid"); v != "" {
		user = v
	}
	if v := str("password"); v != "" {
		pass = v
	}
	out.User = url.UserPassword(user, pass)
	if v := str("virtual_host"); v != "" {
		out.Path = "/" + strings.TrimPrefix(v, "/")
		if v == "/" {
			out.Path = "/"
		}
	}
	if x := str("exchange"); x != "" && x != "lymph" {
		out.RawQuery = url.Values{"exchange": {x}}.Encode()
	}
	s := out.String()
	if out.Path == "/" && strings.HasSuffix(s, "/") == false {
		s += "/"
	}
	return s, true, nil
}

func hostOnly(hostport string) string {
	if i := strings.LastIndex(hostport, ":"); i >= 0 && !strings.HasSuffix(hostport, "]") {
		return hostport[:i]
	}
	return hostport
}
