package transport

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"testing"
	"unicode/utf8"
)

const fuzzMax = 1024

// FuzzMsgReader feeds arbitrary bytes to the post-handshake frame parser:
// it must never panic, never hand out a message over the limit or one that
// fails validation, and every message it accepts must survive a round trip
// through writeMessage.
func FuzzMsgReader(f *testing.F) {
	f.Add(message([]byte(NewID()), []byte(TypeREQ), []byte("a.b"), []byte{0x80}, []byte{0xc0}))
	f.Add(message([]byte("i"), []byte(TypeERROR), []byte("s"), nil, make([]byte, 300)))
	f.Add(append(command("PING", nil), message([]byte("i"), []byte(TypeACK), []byte("s"), nil, nil)...))
	f.Add(message([]byte("only"), []byte("four"), []byte("frames"), nil))
	f.Add([]byte{flagLong, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
	f.Add(message([]byte("i"), []byte(TypeREQ), []byte("s"), nil, make([]byte, 2*fuzzMax))) // read past
	f.Fuzz(func(t *testing.T, stream []byte) {
		mr := newMsgReader(bufio.NewReader(bytes.NewReader(stream)), fuzzMax)
		for range 100 {
			var in Incoming
			reason, err := mr.read(&in)
			if err != nil {
				return
			}
			if reason != dropNone {
				if in.ID != "" || in.Body != nil {
					t.Fatalf("dropped message not cleared: %+v", in)
				}
				continue
			}
			if in.TooLarge && (in.Headers != nil || in.Body != nil) {
				t.Fatalf("oversized message kept its payload: %+v", in)
			}
			m := outMsg{id: in.ID, typ: in.Type, subject: in.Subject, headers: in.Headers, body: in.Body}
			if m.size() > fuzzMax {
				t.Fatalf("message of %d bytes over the limit", m.size())
			}
			if _, ok := messageType([]byte(in.Type)); !ok || !utf8.ValidString(in.ID) || !utf8.ValidString(in.Subject) {
				t.Fatalf("invalid message accepted: %+v", in)
			}
			var buf bytes.Buffer
			w := newBatchWriter(&buf)
			writeMessage(w, &m)
			w.Flush()
			var again Incoming
			if r, err := newMsgReader(bufio.NewReader(&buf), fuzzMax).read(&again); err != nil || r != dropNone {
				t.Fatalf("round trip failed: %v %v", r, err)
			}
			if again.ID != in.ID || again.Type != in.Type || again.Subject != in.Subject ||
				!bytes.Equal(again.Headers, in.Headers) || !bytes.Equal(again.Body, in.Body) {
				t.Fatalf("round trip changed %+v into %+v", in, again)
			}
		}
	})
}

// FuzzZMTPLimit feeds arbitrary streams, in arbitrary chunks, to the
// handshake limit: the verdict must not depend on the chunking and must be
// the reference parser's.
func FuzzZMTPLimit(f *testing.F) {
	ok := append(greeting(), command("READY", readyBody("DEALER", "tcp://127.0.0.1:1"))...)
	huge := append(append([]byte{}, ok...), flagLong, 0, 0, 0, 1, 0, 0, 0, 0)
	f.Add(ok, uint8(1))
	f.Add(ok, uint8(7))
	f.Add(huge, uint8(3))
	f.Add(append(greeting(), frame(0, make([]byte, fuzzMax+1))...), uint8(64))
	f.Fuzz(func(t *testing.T, stream []byte, chunk uint8) {
		notZMTP := referenceNotZMTP(stream)
		over := !notZMTP && referenceLimit(stream, fuzzMax)
		z := newZMTPLimit(fuzzMax)
		var got error
		step := int(chunk)%97 + 1
		for i := 0; i < len(stream) && got == nil; i += step {
			got = z.scan(stream[i:min(i+step, len(stream))])
		}
		switch {
		case notZMTP && !errors.Is(got, ErrNotZMTP):
			t.Fatalf("limit says %v, reference says the greeting is not ZMTP 3", got)
		case over && !errors.Is(got, ErrTooLarge):
			t.Fatalf("limit says %v, reference says a frame is over the limit", got)
		case !notZMTP && !over && got != nil:
			t.Fatalf("limit says %v, reference says the stream is fine", got)
		}
	})
}

// referenceNotZMTP is the obvious whole-buffer check of the greeting's
// fixed bytes: the signature's first and last, and the major version.
func referenceNotZMTP(b []byte) bool {
	return (len(b) > 0 && b[0] != sigFirst) ||
		(len(b) > sigLastAt && b[sigLastAt] != sigLast) ||
		(len(b) > versionAt && b[versionAt] < zmtpVersion)
}

// referenceLimit is the obvious whole-buffer parse: does any frame whose
// size field is complete declare more than max bytes?
func referenceLimit(b []byte, max uint64) bool {
	if len(b) < greetingSize {
		return false
	}
	b = b[greetingSize:]
	for len(b) > 0 {
		var size uint64
		if b[0]&flagLong != 0 {
			if len(b) < 9 {
				return false
			}
			size, b = binary.BigEndian.Uint64(b[1:9]), b[9:]
		} else {
			if len(b) < 2 {
				return false
			}
			size, b = uint64(b[1]), b[2:]
		}
		if size > max {
			return true
		}
		if uint64(len(b)) < size {
			return false
		}
		b = b[size:]
	}
	return false
}
