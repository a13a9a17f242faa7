package lymph

import (
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"github.com/lymphgo/lymph/internal/lymphconfig"
)

// Bind vs advertise. WithEndpoint says where the container's socket binds;
// the endpoint it advertises — Endpoint(), its identity (the MD5 of it), the
// ZMTP identity it presents when it connects to peers (their reply address),
// and what it registers — is tcp://IP:PORT, PORT being the bound one. The IP
// is, in this order:
//
//  1. WithAdvertiseIP, or WithGuessExternalIP;
//  2. the bind host, when it is one address (127.0.0.1, 10.0.0.5, a name);
//  3. for a bind host that is every address (0.0.0.0, ::): $LYMPH_NODE_IP,
//     else container.ip from the configuration (WithConfig);
//  4. nothing: NewContainer and Start refuse the endpoint, since
//     tcp://0.0.0.0:PORT is an address no peer can reach.
//
// $LYMPH_NODE_IP and container.ip are consulted only for an unspecified
// bind host (3): a container bound to 127.0.0.1 that advertised the node's
// IP would get no reply, and Python lymph binds and advertises the same
// container.ip, so a bind host that is one address already is it (Config's
// Options bind it).

// advertiseConfig is what the options say about the advertised IP.
type advertiseConfig struct {
	ip       string // WithAdvertiseIP, canonical; "" when not given
	guess    bool   // WithGuessExternalIP
	configIP string // container.ip as the configuration sets it (WithConfig)
	err      error  // a bad WithAdvertiseIP, or both options given
}

// WithAdvertiseIP sets the IP address peers reach this container at, when
// it differs from the host WithEndpoint binds: binding tcp://0.0.0.0:4000
// with WithAdvertiseIP("10.0.0.5") listens on every interface and is known
// as tcp://10.0.0.5:4000 (its endpoint, identity, registration and the
// address replies come back to). It is lymph's --ip, for the address only.
// The IP must be an address (IPv4 or IPv6, no brackets), not an unspecified
// one, or NewContainer fails; it cannot be combined with
// WithGuessExternalIP. The default is the bind host, or for one that is
// unspecified $LYMPH_NODE_IP, else the configuration's container.ip.
func WithAdvertiseIP(ip string) ContainerOption {
	return containerOption(func(c *config) {
		parsed := net.ParseIP(ip)
		switch {
		case parsed == nil:
			c.advertise.err = fmt.Errorf("lymph: WithAdvertiseIP(%q): not an IP address", ip)
		case parsed.IsUnspecified():
			c.advertise.err = fmt.Errorf("lymph: WithAdvertiseIP(%q): an unspecified address cannot be advertised; give one peers can reach", ip)
		case c.advertise.guess:
			c.advertise.err = errAdvertiseBoth
		default:
			c.advertise.ip = parsed.String()
		}
	})
}

// WithGuessExternalIP makes the container advertise the first IPv4 address,
// neither loopback nor link-local, of a network interface that is up, as
// lymph's --guess-external-ip does; pair it with an endpoint that binds
// that address or every one (tcp://0.0.0.0:PORT). The guess is made by
// Start, which fails when no interface has such an address. It cannot be
// combined with WithAdvertiseIP. The default is off (see WithAdvertiseIP).
func WithGuessExternalIP() ContainerOption {
	return containerOption(func(c *config) {
		if c.advertise.ip != "" {
			c.advertise.err = errAdvertiseBoth
			return
		}
		c.advertise.guess = true
	})
}

var errAdvertiseBoth = errors.New("lymph: WithAdvertiseIP and WithGuessExternalIP exclude each other (as lymph's --ip and --guess-external-ip do)")

// checkAdvertise is NewContainer's check: a bad option, or an endpoint that
// binds every address with nothing to advertise (known unless the IP is to
// be guessed at Start, or the endpoint is not one Start could bind).
func (cfg *config) checkAdvertise() error {
	if cfg.advertise.err != nil {
		return cfg.advertise.err
	}
	if cfg.advertise.guess {
		return nil
	}
	if _, err := cfg.advertiseHost(); err != nil {
		return fmt.Errorf("lymph: %w", err)
	}
	return nil
}

// advertiseHost returns the host to put in the container's endpoint in
// place of the bind host, or "" to keep the bind host. Start calls it, so
// that $LYMPH_NODE_IP is read then, and guesses the IP if asked. Its errors
// have no "lymph: " prefix: the callers add theirs.
func (cfg *config) advertiseHost() (string, error) {
	a := &cfg.advertise
	switch {
	case a.err != nil:
		return "", a.err
	case a.ip != "":
		return a.ip, nil
	case a.guess:
		return guessExternalIP()
	}
	if !bindsEveryAddress(cfg.endpoint) {
		return "", nil
	}
	if env := strings.TrimSpace(os.Getenv(lymphconfig.EnvNodeIP)); env != "" {
		ip := net.ParseIP(env)
		if ip == nil || ip.IsUnspecified() {
			return "", fmt.Errorf("endpoint %s binds every address, and $%s=%q is not an address peers can reach", cfg.endpoint, lymphconfig.EnvNodeIP, env)
		}
		return ip.String(), nil
	}
	if ip := net.ParseIP(a.configIP); ip != nil && !ip.IsUnspecified() {
		return ip.String(), nil
	}
	return "", fmt.Errorf("endpoint %s binds every address; peers need one: set WithAdvertiseIP, $%s or container.ip", cfg.endpoint, lymphconfig.EnvNodeIP)
}

// bindsEveryAddress reports whether endpoint's host is an unspecified
// address (0.0.0.0, ::). An endpoint that does not parse is left to Start's
// bind to report.
func bindsEveryAddress(endpoint string) bool {
	host, _, err := net.SplitHostPort(strings.TrimPrefix(endpoint, "tcp://"))
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsUnspecified()
}

// guessExternalIP returns the first IPv4 address, neither loopback nor
// link-local, of an interface that is up (lymph's guess_external_ip).
func guessExternalIP() (string, error) {
	ifaces, err := net.Interfaces()
	if err != nil {
		return "", fmt.Errorf("WithGuessExternalIP: %w", err)
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp == 0 || ifc.Flags&net.FlagLoopback != 0 {
			continue
		}
		addrs, err := ifc.Addrs()
		if err != nil {
			continue
		}
		for _, a := range addrs {
			ipnet, ok := a.(*net.IPNet)
			if !ok {
				continue
			}
			ip := ipnet.IP.To4()
			if ip == nil || ip.IsLoopback() || ip.IsLinkLocalUnicast() {
				continue
			}
			return ip.String(), nil
		}
	}
	return "", errors.New("WithGuessExternalIP: no network interface that is up has an IPv4 address other than loopback and link-local")
}
