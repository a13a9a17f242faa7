package transport

import (
	"crypto/subtle"
	"errors"
	"fmt"
	"io"

	"github.com/go-zeromq/zmq4"
	"github.com/go-zeromq/zmq4/security/null"
	"github.com/go-zeromq/zmq4/security/plain"
)

// errAuth reports PLAIN credentials the server does not accept.
var errAuth = errors.New("transport: PLAIN authentication failed")

// serverSecurity is the mechanism of accepted connections.
func (t *Transport) serverSecurity() zmq4.Security {
	if t.opts.Credentials == nil {
		return null.Security()
	}
	return plainServer{creds: t.opts.Credentials}
}

// clientSecurity is the mechanism of dialed connections. zmq4's PLAIN
// client forgets the user name and password after its first handshake, so
// every dial gets a fresh one.
func (t *Transport) clientSecurity() zmq4.Security {
	if t.opts.Username == "" {
		return null.Security()
	}
	return plain.Security(t.opts.Username, t.opts.Password)
}

// plainServer is the server side of ZMTP PLAIN (https://rfc.zeromq.org/spec/24/)
// with a real credential check: zmq4's own server side accepts any user
// name and password.
type plainServer struct {
	creds map[string]string
}

// Type returns the PLAIN mechanism.
func (plainServer) Type() zmq4.SecurityType { return zmq4.PlainSecurity }

// Handshake runs the server side: HELLO (checked) → WELCOME, INITIATE →
// READY. On bad credentials it sends an ERROR command and fails.
func (s plainServer) Handshake(conn *zmq4.Conn, server bool) error {
	if !server {
		return errors.New("transport: plainServer used as a client")
	}
	cmd, err := conn.RecvCmd()
	if err != nil {
		return fmt.Errorf("PLAIN: receiving HELLO: %w", err)
	}
	if cmd.Name != zmq4.CmdHello {
		return fmt.Errorf("PLAIN: got %q, want HELLO", cmd.Name)
	}
	user, pass, ok := parseHello(cmd.Body)
	if !ok || !s.check(user, pass) {
		_ = conn.SendCmd(zmq4.CmdError, errorReason("invalid username or password"))
		return errAuth
	}
	if err := conn.SendCmd(zmq4.CmdWelcome, nil); err != nil {
		return fmt.Errorf("PLAIN: sending WELCOME: %w", err)
	}
	cmd, err = conn.RecvCmd()
	if err != nil {
		return fmt.Errorf("PLAIN: receiving INITIATE: %w", err)
	}
	if cmd.Name != zmq4.CmdInitiate {
		return fmt.Errorf("PLAIN: got %q, want INITIATE", cmd.Name)
	}
	if err := conn.Peer.Meta.UnmarshalZMTP(cmd.Body); err != nil {
		return fmt.Errorf("PLAIN: peer metadata: %w", err)
	}
	raw, err := conn.Meta.MarshalZMTP()
	if err != nil {
		return fmt.Errorf("PLAIN: our metadata: %w", err)
	}
	if err := conn.SendCmd(zmq4.CmdReady, raw); err != nil {
		return fmt.Errorf("PLAIN: sending READY: %w", err)
	}
	return nil
}

// check compares in constant time, not to leak how much of a password
// matched; an unknown user costs the same as a wrong password.
func (s plainServer) check(user, pass []byte) bool {
	want, known := s.creds[string(user)]
	ok := subtle.ConstantTimeCompare(pass, []byte(want)) == 1
	return known && ok
}

// Encrypt writes data unchanged: PLAIN does not encrypt.
func (plainServer) Encrypt(w io.Writer, data []byte) (int, error) { return w.Write(data) }

// Decrypt writes data unchanged: PLAIN does not encrypt.
func (plainServer) Decrypt(w io.Writer, data []byte) (int, error) { return w.Write(data) }

// parseHello splits a HELLO body: user name and password, each preceded by
// its one-byte length.
func parseHello(b []byte) (user, pass []byte, ok bool) {
	if len(b) < 1 || len(b) < 1+int(b[0])+1 {
		return nil, nil, false
	}
	user, b = b[1:1+int(b[0])], b[1+int(b[0]):]
	if len(b) != 1+int(b[0]) {
		return nil, nil, false
	}
	return user, b[1:], true
}

// errorReason encodes the body of a ZMTP ERROR command.
func errorReason(s string) []byte {
	return append([]byte{byte(len(s))}, s...)
}
