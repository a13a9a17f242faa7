package main

import (
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"syscall"
	"time"
)

// neighbours are hostile TCP clients of a server: silent connections,
// connections sending random bytes, and ZMTP peers whose frames declare
// huge lengths. They stay open until close.
type neighbours struct {
	conns []net.Conn
	// refused counts dials the server turned away (reset or refused):
	// its cap on connections still in their handshake at work.
	refused int
}

// zmtpGreeting is a ZMTP 3.0 NULL-mechanism greeting, as a real peer sends.
func zmtpGreeting() []byte {
	g := make([]byte, 64)
	g[0], g[9], g[10] = 0xff, 0x7f, 3
	copy(g[12:], "NULL")
	return g
}

// hugeFrame is a long frame header declaring 2^62 bytes (flags: long, and
// command when cmd), with no body.
func hugeFrame(cmd bool) []byte {
	f := make([]byte, 9)
	f[0] = 0x02
	if cmd {
		f[0] |= 0x04
	}
	binary.BigEndian.PutUint64(f[1:], 1<<62)
	return f
}

// openNeighbours connects silent, random and huge ones to addr (host:port).
func openNeighbours(addr string, silent, random, huge int) (*neighbours, error) {
	n := &neighbours{}
	dial := func() (net.Conn, error) {
		c, err := net.DialTimeout("tcp", addr, 2*time.Second)
		if errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) {
			n.refused++
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("hostile dial %s: %w", addr, err)
		}
		n.conns = append(n.conns, c)
		return c, nil
	}
	for range silent {
		if _, err := dial(); err != nil {
			n.close()
			return nil, err
		}
	}
	noise := make([]byte, 64<<10)
	for range random {
		c, err := dial()
		if err != nil {
			n.close()
			return nil, err
		}
		if c == nil {
			continue
		}
		_, _ = rand.Read(noise)
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(noise) // the server may close on the first bad byte
	}
	for i := range huge {
		c, err := dial()
		if err != nil {
			n.close()
			return nil, err
		}
		if c == nil {
			continue
		}
		_ = c.SetWriteDeadline(time.Now().Add(time.Second))
		_, _ = c.Write(append(zmtpGreeting(), hugeFrame(i%2 == 0)...))
	}
	return n, nil
}

func (n *neighbours) close() {
	for _, c := range n.conns {
		c.Close()
	}
	n.conns = nil
}
