package logstream

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-zeromq/zmq4"
)

// subscriberQueue bounds the messages queued for one subscriber; a slow
// subscriber loses messages beyond it (a PUB socket's high-water mark), it
// never slows the logging service down.
const subscriberQueue = 1024

// maxSubscription bounds a subscription message (a topic is a level name).
const maxSubscription = 1024

// Publisher is a ZeroMQ PUB socket for a log stream: every subscriber
// (lymph tail, Python's or Go's) gets each published record whose level
// name starts with one of its subscriptions, as three frames [level name,
// log endpoint, line]. Publishing never blocks: a subscriber that cannot
// keep up loses records, counted by Dropped. Its methods are safe for
// concurrent use.
type Publisher struct {
	ln       net.Listener
	endpoint string
	logger   *slog.Logger

	mu     sync.Mutex
	subs   map[*subscriber]struct{}
	conns  map[net.Conn]struct{} // every accepted connection, handshaking ones included, for Close
	closed bool

	wg      sync.WaitGroup
	nsubs   atomic.Int32 // len(subs), read without the lock by Handler.Enabled
	dropped atomic.Uint64
	logged  atomic.Int64 // unix nanoseconds of the last logged bad subscriber, for rate limiting
}

// Listen binds a PUB socket at endpoint, tcp://host:port; port 0 picks a
// free port (Endpoint says which). logger gets the socket's own problems
// (a subscriber that fails its handshake), rate-limited; nil discards them.
// It must not be a logger that publishes here.
func Listen(endpoint string, logger *slog.Logger) (*Publisher, error) {
	addr, ok := strings.CutPrefix(endpoint, "tcp://")
	if !ok {
		return nil, fmt.Errorf("logstream: endpoint %q: want tcp://host:port", endpoint)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("logstream: %w", err)
	}
	host, _, _ := net.SplitHostPort(addr)
	port := ln.Addr().(*net.TCPAddr).Port
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	p := &Publisher{
		ln:       ln,
		endpoint: "tcp://" + net.JoinHostPort(host, strconv.Itoa(port)),
		logger:   logger,
		subs:     map[*subscriber]struct{}{},
		conns:    map[net.Conn]struct{}{},
	}
	p.wg.Add(1)
	go p.accept()
	return p, nil
}

// Endpoint is the bound endpoint, tcp://host:port, to register as the
// instance's log_endpoint.
func (p *Publisher) Endpoint() string { return p.endpoint }

// Dropped counts the records not delivered to a subscriber because its
// queue was full.
func (p *Publisher) Dropped() uint64 { return p.dropped.Load() }

// Subscribers returns how many subscribers are connected.
func (p *Publisher) Subscribers() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.subs)
}

// Publish sends one record to the subscribers: levelName (DEBUG, INFO,
// WARNING, ERROR, CRITICAL) and the formatted line.
func (p *Publisher) Publish(levelName, line string) {
	level := []byte(levelName)
	var msg []byte
	p.mu.Lock()
	defer p.mu.Unlock()
	for s := range p.subs {
		if !s.wants(level) {
			continue
		}
		if msg == nil {
			msg = appendMessage(nil, level, []byte(p.endpoint), []byte(line))
		}
		select {
		case s.queue <- msg:
		default:
			p.dropped.Add(1)
		}
	}
}

// Close stops accepting subscribers, disconnects the connected ones and
// waits for the socket's goroutines. Closing twice is not an error.
func (p *Publisher) Close() error {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return nil
	}
	p.closed = true
	subs, conns := p.subs, p.conns
	p.subs, p.conns = map[*subscriber]struct{}{}, map[net.Conn]struct{}{}
	p.nsubs.Store(0)
	p.mu.Unlock()
	err := p.ln.Close()
	for s := range subs {
		s.close()
	}
	for c := range conns { // those still in their handshake
		_ = c.Close()
	}
	p.wg.Wait()
	return err
}

func (p *Publisher) accept() {
	defer p.wg.Done()
	for {
		c, err := p.ln.Accept()
		if err != nil {
			if errors.Is(err, net.ErrClosed) {
				return
			}
			// A transient error (EMFILE): wait a little rather than spin.
			p.warn("accept failed", err)
			time.Sleep(50 * time.Millisecond)
			continue
		}
		p.mu.Lock()
		if p.closed {
			p.mu.Unlock()
			_ = c.Close()
			return
		}
		p.conns[c] = struct{}{}
		p.wg.Add(1)
		p.mu.Unlock()
		go p.serve(c)
	}
}

// serve runs one subscriber: its handshake, then a reader for its
// subscriptions and a writer for its queue, until either fails or Close.
func (p *Publisher) serve(c net.Conn) {
	defer p.wg.Done()
	defer func() {
		p.mu.Lock()
		delete(p.conns, c)
		p.mu.Unlock()
	}()
	lc := newLimitedConn(c)
	if err := handshake(lc, zmq4.Pub, true); err != nil {
		p.warn("subscriber handshake failed", err, "remote", c.RemoteAddr().String())
		_ = c.Close()
		return
	}
	s := &subscriber{conn: c, queue: make(chan []byte, subscriberQueue), done: make(chan struct{})}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		_ = c.Close()
		return
	}
	p.subs[s] = struct{}{}
	p.nsubs.Store(int32(len(p.subs)))
	p.mu.Unlock()

	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		s.write()
	}()
	err := s.read(lc.r)
	p.mu.Lock()
	delete(p.subs, s)
	p.nsubs.Store(int32(len(p.subs)))
	p.mu.Unlock()
	s.close()
	if err != nil && !errors.Is(err, net.ErrClosed) && !isEOF(err) {
		p.warn("subscriber dropped", err, "remote", c.RemoteAddr().String())
	}
}

// warn logs a problem of the socket at most once a second.
func (p *Publisher) warn(msg string, err error, args ...any) {
	now := time.Now().UnixNano()
	last := p.logged.Load()
	if now-last < int64(time.Second) || !p.logged.CompareAndSwap(last, now) {
		return
	}
	p.logger.Warn("logstream: "+msg, append(args, "error", err)...)
}

func isEOF(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF)
}

// subscriber is one connected SUB socket.
type subscriber struct {
	conn  net.Conn
	queue chan []byte

	mu     sync.Mutex
	topics [][]byte // prefixes; the empty one matches everything

	closeOnce sync.Once
	done      chan struct{}
}

func (s *subscriber) wants(topic []byte) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.topics {
		if bytes.HasPrefix(topic, t) {
			return true
		}
	}
	return false
}

// read applies the subscriber's subscriptions: ZMTP 3.0 messages whose
// first byte is 1 (subscribe) or 0 (cancel), and ZMTP 3.1's SUBSCRIBE and
// CANCEL commands. Anything else from a subscriber is ignored.
func (s *subscriber) read(r *bufio.Reader) error {
	for {
		f, err := readFrame(r, maxSubscription)
		if err != nil {
			return err
		}
		var subscribe bool
		var topic []byte
		switch {
		case f.command:
			name, data, ok := parseCommand(f.body)
			if !ok {
				continue
			}
			switch name {
			case "SUBSCRIBE":
				subscribe, topic = true, data
			case "CANCEL":
				topic = data
			default:
				continue
			}
		case len(f.body) > 0 && (f.body[0] == 0 || f.body[0] == 1):
			subscribe, topic = f.body[0] == 1, f.body[1:]
		default:
			continue
		}
		s.mu.Lock()
		if subscribe {
			s.topics = append(s.topics, bytes.Clone(topic))
		} else {
			for i, t := range s.topics {
				if bytes.Equal(t, topic) {
					s.topics = append(s.topics[:i], s.topics[i+1:]...)
					break
				}
			}
		}
		s.mu.Unlock()
	}
}

func parseCommand(b []byte) (name string, data []byte, ok bool) {
	if len(b) < 1 || int(b[0]) > len(b)-1 {
		return "", nil, false
	}
	n := int(b[0])
	return string(b[1 : 1+n]), b[1+n:], true
}

// write sends queued messages, several per system call when they pile up.
func (s *subscriber) write() {
	var buf []byte
	for {
		select {
		case <-s.done:
			return
		case msg := <-s.queue:
			buf = append(buf[:0], msg...)
		more:
			for len(buf) < 64<<10 {
				select {
				case m := <-s.queue:
					buf = append(buf, m...)
				default:
					break more
				}
			}
			if err := s.conn.SetWriteDeadline(time.Now().Add(10 * time.Second)); err != nil {
				s.close()
				return
			}
			if _, err := s.conn.Write(buf); err != nil {
				s.close() // the reader sees the closed connection and removes s
				return
			}
		}
	}
}

func (s *subscriber) close() {
	s.closeOnce.Do(func() {
		close(s.done)
		_ = s.conn.Close()
	})
}
