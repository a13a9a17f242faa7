package transport

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The exact bytes of a lymph message inside a ZMTP 3 stream, written by
// hand from the ZMTP spec (RFC 23: flags byte, 1-byte size, or 0x02 and an
// 8-byte big-endian size past 255; 0x01 = more frames follow) and
// docs/protocol.md's five frames. A change to framing breaks every Python peer,
// so it must break this test first.

func unhexT(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	require.NoError(t, err)
	return b
}

func hexText(s string) string { return hex.EncodeToString([]byte(s)) }

const goldenID = "0123456789abcdef0123456789abcdef"

// goldenRequest is echo.upper(text="foo") with trace id goldenID, as lymph
// sends it: headers {"trace_id": ..., "version": nil}, body {"text": "foo"}.
var goldenRequest = outMsg{
	id:      goldenID,
	typ:     TypeREQ,
	subject: "echo.upper",
	headers: append(append([]byte{0x82, 0xa8}, "trace_id"...), append(append([]byte{0xd9, 0x20}, goldenID...), append([]byte{0xa7}, "version\xc0"...)...)...),
	body:    append([]byte{0x81, 0xa4}, "text\xa3foo"...),
}

func goldenRequestHex() string {
	return "01 20 " + hexText(goldenID) + // frame 1: id, more
		" 01 03 " + hexText("REQ") + // frame 2: type, more
		" 01 0a " + hexText("echo.upper") + // frame 3: subject, more
		" 01 35 82 a8 " + hexText("trace_id") + " d9 20 " + hexText(goldenID) + " a7 " + hexText("version") + " c0" + // frame 4: headers, more
		" 00 0a 81 a4 " + hexText("text") + " a3 " + hexText("foo") // frame 5: body, last
}

func TestGoldenFramesWritten(t *testing.T) {
	var buf bytes.Buffer
	w := newBatchWriter(&buf)
	writeMessage(w, &goldenRequest)
	require.NoError(t, w.Flush())
	assert.Equal(t, unhexT(t, goldenRequestHex()), buf.Bytes())
}

func TestGoldenLongFrame(t *testing.T) {
	body := bytes.Repeat([]byte{0xc0}, 300) // past 255 bytes: the 8-byte size form
	var buf bytes.Buffer
	w := newBatchWriter(&buf)
	writeMessage(w, &outMsg{id: "i", typ: TypeREP, subject: "s", headers: []byte{0x80}, body: body})
	require.NoError(t, w.Flush())
	want := unhexT(t, "01 01 69  01 03 "+hexText("REP")+"  01 01 73  01 01 80  02 00 00 00 00 00 00 01 2c")
	assert.Equal(t, append(want, body...), buf.Bytes())
}

// TestGoldenBigFrames: frames over bigPiece are written from where they
// lie, in one vectored write with the framing around them; the bytes are
// the same.
func TestGoldenBigFrames(t *testing.T) {
	headers := bytes.Repeat([]byte{0x90}, bigPiece)
	body := bytes.Repeat([]byte{0xc0}, 3*bigPiece)
	var buf bytes.Buffer
	w := newBatchWriter(&buf)
	m := outMsg{id: "i", typ: TypeREP, subject: "s", headers: headers, body: body}
	writeMessage(w, &m)
	writeMessage(w, &outMsg{id: "j", typ: TypeREP, subject: "t", headers: []byte{0x80}, body: []byte{0xc0}})
	require.NoError(t, w.Flush())
	want := unhexT(t, "01 01 69  01 03 "+hexText("REP")+"  01 01 73  03 00 00 00 00 00 00 20 00")
	want = append(want, headers...)
	want = append(want, unhexT(t, "02 00 00 00 00 00 00 60 00")...)
	want = append(want, body...)
	want = append(want, unhexT(t, "01 01 6a  01 03 "+hexText("REP")+"  01 01 74  01 01 80  00 01 c0")...)
	assert.Equal(t, want, buf.Bytes())
	assert.Zero(t, w.Buffered())
}

func TestGoldenFramesRead(t *testing.T) {
	mr := newMsgReader(bufio.NewReader(bytes.NewReader(unhexT(t, goldenRequestHex()))), 1<<20)
	var in Incoming
	reason, err := mr.read(&in)
	require.NoError(t, err)
	assert.Equal(t, dropNone, reason)
	assert.Equal(t, Incoming{
		ID: goldenID, Type: TypeREQ, Subject: "echo.upper",
		Headers: goldenRequest.headers, Body: goldenRequest.body,
	}, in)
}
