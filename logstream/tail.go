package logstream

import (
	"context"
	"fmt"
	"net"
	"strings"
	"time"

	"github.com/go-zeromq/zmq4"
)

// maxLine bounds one frame of a received log record.
const maxLine = 1 << 20

// Record is one message of a log stream.
type Record struct {
	Level    string // DEBUG, INFO, WARNING, ERROR or CRITICAL
	Endpoint string // the publisher's log endpoint, as it sent it
	Line     string // the formatted line
}

// Tail subscribes to every record of the log stream at endpoint
// (tcp://host:port), a Go Publisher or a Python lymph instance, and calls fn
// with each, in order, until ctx ends (then it returns nil) or the
// connection fails. Messages that are not three frames are skipped.
func Tail(ctx context.Context, endpoint string, fn func(Record)) error {
	addr, ok := strings.CutPrefix(endpoint, "tcp://")
	if !ok {
		return fmt.Errorf("logstream: endpoint %q: want tcp://host:port", endpoint)
	}
	var d net.Dialer
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return fmt.Errorf("logstream: %w", err)
	}
	stop := context.AfterFunc(ctx, func() { _ = c.Close() })
	defer stop()
	defer c.Close()
	lc := newLimitedConn(c)
	if err := handshake(lc, zmq4.Sub, false); err != nil {
		return ctxErr(ctx, fmt.Errorf("logstream: %s: %w", endpoint, err))
	}
	// Subscribe to everything, as lymph tail does, in ZMTP 3.0's form
	// (a message [1, topic...]), which every version accepts from a 3.0
	// peer, as zmq4 greets.
	if err := c.SetWriteDeadline(time.Now().Add(handshakeTimeout)); err != nil {
		return err
	}
	if _, err := c.Write(appendMessage(nil, []byte{1})); err != nil {
		return ctxErr(ctx, fmt.Errorf("logstream: %s: %w", endpoint, err))
	}
	var parts [][]byte
	for {
		f, err := readFrame(lc.r, maxLine)
		if err != nil {
			return ctxErr(ctx, fmt.Errorf("logstream: %s: %w", endpoint, err))
		}
		if f.command {
			continue // PING and the like
		}
		parts = append(parts, f.body)
		if f.more {
			if len(parts) > 3 {
				parts = parts[:3] // keep reading, but never store more
				parts[2] = nil
			}
			continue
		}
		if len(parts) == 3 && parts[2] != nil {
			fn(Record{Level: string(parts[0]), Endpoint: string(parts[1]), Line: string(parts[2])})
		}
		parts = parts[:0]
	}
}

// ctxErr is nil when ctx ended: a closed connection is then the way out.
func ctxErr(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}
