package transport

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"unicode/utf8"
)

const tcpScheme = "tcp://"

// splitEndpoint checks that ep is a tcp://host:port URL and returns its
// "host:port" address. Port 0 is accepted only when allowZeroPort is set
// (Listen picks a free port then). Peers' identities go through the same
// check: an identity we could not dial is useless as a reply address, and
// dialing garbage is how a lymph receive loop used to die.
func splitEndpoint(ep string, allowZeroPort bool) (addr string, err error) {
	if !strings.HasPrefix(ep, tcpScheme) {
		return "", fmt.Errorf("%w: %q: want tcp://host:port", ErrBadEndpoint, ep)
	}
	addr = ep[len(tcpScheme):]
	if !utf8.ValidString(addr) {
		return "", fmt.Errorf("%w: %q: not UTF-8", ErrBadEndpoint, ep)
	}
	for i := 0; i < len(addr); i++ {
		if c := addr[i]; c <= ' ' || c == 0x7f || c == '/' || c == '?' || c == '#' || c == '@' {
			return "", fmt.Errorf("%w: %q: bad character", ErrBadEndpoint, ep)
		}
	}
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return "", fmt.Errorf("%w: %q: %v", ErrBadEndpoint, ep, err)
	}
	if host == "" {
		return "", fmt.Errorf("%w: %q: empty host", ErrBadEndpoint, ep)
	}
	n, err := strconv.ParseUint(port, 10, 16)
	if err != nil || (n == 0 && !allowZeroPort) || port[0] == '+' {
		return "", fmt.Errorf("%w: %q: bad port", ErrBadEndpoint, ep)
	}
	return addr, nil
}

// validSender reports whether a peer's socket identity is usable as the
// address to reply to: valid UTF-8 and a tcp://host:port URL.
func validSender(id string) bool {
	_, err := splitEndpoint(id, false)
	return err == nil
}
