package main

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
)

// The raw TCP echo: the floor row. No RPC framework, no encoding: each
// message is an 8-byte header (call id, payload length, both big-endian
// uint32) and the payload, on one connection, calls multiplexed by id. The
// server echoes each message back, flushing its buffered writer when no
// more input is buffered, so pipelined calls share a write; the client
// writes each call with one buffered write under a lock. What lymph,
// net/rpc and gRPC spend above this row is their framework's cost.

const tcpHeader = 8

// maxTCPPayload bounds what the echo server accepts from one header.
const maxTCPPayload = 64 << 20

func serveTCP() (addr string, stop func() error, err error) {
	return serveConns(func(conn net.Conn) {
		tcpEcho(conn)
		conn.Close()
	})
}

// serveConns listens on a loopback port and runs serve for each accepted
// connection, which it must close; stop closes the listener and every open
// connection and waits for the servers to return.
func serveConns(serve func(net.Conn)) (addr string, stop func() error, err error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, err
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]struct{}{}
		wg    sync.WaitGroup
	)
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns[conn] = struct{}{}
			mu.Unlock()
			wg.Go(func() {
				serve(conn)
				mu.Lock()
				delete(conns, conn)
				mu.Unlock()
			})
		}
	})
	stop = func() error {
		err := l.Close()
		mu.Lock()
		for conn := range conns {
			conn.Close()
		}
		mu.Unlock()
		wg.Wait()
		return err
	}
	return l.Addr().String(), stop, nil
}

// tcpEcho echoes one connection's messages until it fails.
func tcpEcho(conn net.Conn) {
	r := bufio.NewReaderSize(conn, 64<<10)
	w := bufio.NewWriterSize(conn, 64<<10)
	var hdr [tcpHeader]byte
	var buf []byte
	for {
		if _, err := io.ReadFull(r, hdr[:]); err != nil {
			return
		}
		n := binary.BigEndian.Uint32(hdr[4:])
		if n > maxTCPPayload {
			return
		}
		if cap(buf) < int(n) {
			buf = make([]byte, n)
		}
		buf = buf[:n]
		if _, err := io.ReadFull(r, buf); err != nil {
			return
		}
		w.Write(hdr[:])
		w.Write(buf)
		if r.Buffered() == 0 {
			if err := w.Flush(); err != nil {
				return
			}
		}
	}
}

type tcpCall struct {
	done  chan struct{}
	reply []byte
}

type tcpClient struct {
	conn net.Conn

	wmu sync.Mutex
	w   *bufio.Writer

	mu      sync.Mutex
	calls   []*tcpCall // by id
	free    []uint32   // ids not in use
	err     error      // set when the reader stopped
	stopped chan struct{}
}

func dialTCP(addr string, _ dialOptions) (echoClient, error) {
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		return nil, err
	}
	c := &tcpClient{conn: conn, w: bufio.NewWriterSize(conn, 64<<10), stopped: make(chan struct{})}
	go c.readLoop()
	return c, nil
}

func (c *tcpClient) readLoop() {
	defer close(c.stopped)
	r := bufio.NewReaderSize(c.conn, 64<<10)
	var hdr [tcpHeader]byte
	for {
		_, err := io.ReadFull(r, hdr[:])
		if err == nil {
			id, n := binary.BigEndian.Uint32(hdr[:4]), binary.BigEndian.Uint32(hdr[4:])
			c.mu.Lock()
			var call *tcpCall
			if int(id) < len(c.calls) {
				call = c.calls[id]
			}
			c.mu.Unlock()
			if call == nil {
				err = fmt.Errorf("reply to unknown call %d", id)
			} else {
				call.reply = call.reply[:0]
				if cap(call.reply) < int(n) {
					call.reply = make([]byte, n)
				}
				call.reply = call.reply[:n]
				if _, err = io.ReadFull(r, call.reply); err == nil {
					call.done <- struct{}{}
					continue
				}
			}
		}
		c.mu.Lock()
		c.err = err
		for _, call := range c.calls {
			if call != nil {
				close(call.done)
			}
		}
		c.mu.Unlock()
		return
	}
}

// Echo ignores ctx, as the net/rpc target does.
func (c *tcpClient) Echo(_ context.Context, text string) (string, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return "", err
	}
	var id uint32
	if n := len(c.free); n > 0 {
		id = c.free[n-1]
		c.free = c.free[:n-1]
	} else {
		id = uint32(len(c.calls))
		c.calls = append(c.calls, &tcpCall{done: make(chan struct{}, 1)})
	}
	call := c.calls[id]
	c.mu.Unlock()

	var hdr [tcpHeader]byte
	binary.BigEndian.PutUint32(hdr[:4], id)
	binary.BigEndian.PutUint32(hdr[4:], uint32(len(text)))
	c.wmu.Lock()
	c.w.Write(hdr[:])
	c.w.WriteString(text)
	err := c.w.Flush()
	c.wmu.Unlock()
	if err != nil {
		return "", err
	}
	if _, ok := <-call.done; !ok {
		return "", errors.New("raw TCP: connection lost")
	}
	out := string(call.reply)
	c.mu.Lock()
	c.free = append(c.free, id)
	c.mu.Unlock()
	return out, nil
}

func (c *tcpClient) Close() error {
	err := c.conn.Close()
	<-c.stopped
	return err
}
