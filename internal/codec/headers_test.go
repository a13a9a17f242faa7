package codec

import (
	"bytes"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestHeadersRoundTrip(t *testing.T) {
	b, err := MarshalHeaders("abc", "1.2.0", map[string]any{"x-custom": []any{"a"}})
	require.NoError(t, err)
	h, err := UnmarshalHeaders(b)
	require.NoError(t, err)
	assert.Equal(t, Headers{"trace_id": "abc", "version": "1.2.0", "x-custom": []any{"a"}}, h)

	b, err = MarshalHeaders("", "", nil)
	require.NoError(t, err)
	h, err = UnmarshalHeaders(b)
	require.NoError(t, err)
	assert.Equal(t, Headers{"trace_id": nil, "version": nil}, h)
}

func TestAppendHeaders(t *testing.T) {
	dst := []byte{0x95}
	b, err := AppendHeaders(dst, "t", "", nil)
	require.NoError(t, err)
	assert.Equal(t, unhex(t, "95 82 a8 "+hexOf("trace_id")+" a1 74 a7 "+hexOf("version")+" c0"), b)

	b, err = AppendHeaders(dst, "t", "", map[string]any{"bad": make(chan int)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `header "bad"`)
	assert.Equal(t, dst, b)
}

func TestUnmarshalHeaders(t *testing.T) {
	tests := []struct {
		name string
		data []byte
		want Headers
		err  string
	}{
		{"empty frame", nil, Headers{}, ""},
		{"nil", []byte{0xc0}, Headers{}, ""},
		{"empty map", []byte{0x80}, Headers{}, ""},
		{"python 2 bin values", unhex(t, "82 c4 08 "+hexOf("trace_id")+" c4 02 6162 a7 "+hexOf("version")+" c4 01 31"),
			Headers{"trace_id": "ab", "version": "1"}, ""},
		{"other bin values stay bytes", unhex(t, "81 a1 78 c4 01 31"), Headers{"x": []byte("1")}, ""},
		{"lymph values", mustMarshal(t, map[string]any{"d": Date{2024, 1, 1}}), Headers{"d": Date{2024, 1, 1}}, ""},
		{"not a map", []byte{0x90}, nil, "headers must be a map"},
		{"int key is dropped", unhex(t, "81 01 01"), Headers{}, ""},
		{"truncated", unhex(t, "82 a1 78"), nil, "malformed msgpack"},
		{"trailing", unhex(t, "80 80"), nil, "1 bytes after the msgpack document"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, err := UnmarshalHeaders(tt.data)
			if tt.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, h)
		})
	}
}

// TestHeadersAllocations checks the header helpers stay off the heap, on
// average: a garbage collection empties the encoder pool now and then, and
// refilling it allocates, so single runs are not exact.
func TestHeadersAllocations(t *testing.T) {
	if raceEnabled {
		t.Skip("allocation counts are meaningless under -race (sync.Pool drops items on purpose); the plain go test run checks them")
	}
	buf := make([]byte, 0, 128)
	allocs := testing.AllocsPerRun(1000, func() {
		_, _ = AppendHeaders(buf[:0], "0123456789abcdef0123456789abcdef", "1.2.0", nil)
	})
	assert.Less(t, allocs, 1.0)
	allocs = testing.AllocsPerRun(1000, func() {
		_, _ = MarshalHeaders("0123456789abcdef0123456789abcdef", "1.2.0", nil)
	})
	assert.Less(t, allocs, 2.0, "one for the result")
}

func TestMarshalMessage(t *testing.T) {
	headers, body, err := MarshalMessage("abc", "1.2.0", map[string]any{"text": "foo"})
	require.NoError(t, err)
	wantHeaders, err := MarshalHeaders("abc", "1.2.0", nil)
	require.NoError(t, err)
	assert.Equal(t, wantHeaders, headers)
	assert.Equal(t, mustMarshal(t, map[string]any{"text": "foo"}), body)
	assert.Equal(t, len(headers), cap(headers), "appending to the headers must not overwrite the body")

	_, _, err = MarshalMessage("abc", "", make(chan int))
	assert.Error(t, err)
}

// TestMarshalReplyPooled: a big reply is encoded into a pooled buffer,
// given back by release and used again; it encodes as MarshalMessage
// does, whatever the body's shape; a small reply has nothing to release.
func TestMarshalReplyPooled(t *testing.T) {
	type wrapped struct {
		Text string `msgpack:"text"`
		Blob []byte `msgpack:"blob"`
	}
	big := strings.Repeat("x", 1<<20)
	for name, body := range map[string]any{
		"string":        big,
		"bytes":         []byte(big),
		"struct fields": wrapped{Text: big, Blob: []byte(big[:300<<10])},
		"map":           map[string]any{"a": big, "b": big[:100<<10]},
	} {
		t.Run(name, func(t *testing.T) {
			wantH, wantB, err := MarshalMessage("abc", "1.0.0", body)
			require.NoError(t, err)
			h, b, release, err := MarshalReply("abc", "1.0.0", body)
			require.NoError(t, err)
			require.NotNil(t, release)
			assert.Equal(t, wantH, h)
			assert.True(t, bytes.Equal(wantB, b), "body differs")
			assert.Equal(t, len(h), cap(h))
			release()
		})
	}
	h, b, release, err := MarshalReply("abc", "", "small")
	require.NoError(t, err)
	assert.Nil(t, release)
	assert.Equal(t, mustMarshal(t, "small"), b)
	assert.NotEmpty(t, h)

	_, _, release, err = MarshalReply("abc", "", []any{big, make(chan int)})
	assert.Error(t, err)
	assert.Nil(t, release)

	if raceEnabled {
		return // sync.Pool drops items at random under the race detector
	}
	_, b1, release, err := MarshalReply("", "", big)
	require.NoError(t, err)
	release()
	_, b2, release, err := MarshalReply("", "", big)
	require.NoError(t, err)
	defer release()
	assert.Equal(t, &b1[0], &b2[0], "the second reply did not reuse the first one's buffer")
}

func TestPeekHeaders(t *testing.T) {
	full, err := MarshalHeaders("0123456789abcdef0123456789abcdef", "1.2.0", map[string]any{"x": []any{1, map[string]any{"y": 2}}})
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		data           []byte
		trace, version string
		err            bool
	}{
		"full":          {full, "0123456789abcdef0123456789abcdef", "1.2.0", false},
		"empty frame":   {nil, "", "", false},
		"nil values":    {mustMarshal(t, map[string]any{"trace_id": nil, "version": nil}), "", "", false},
		"python 2 bins": {unhex(t, "82 c4 08 "+hexOf("trace_id")+" c4 02 6162 a7 "+hexOf("version")+" c4 01 31"), "ab", "1", false},
		"not a map":     {[]byte{0x90}, "", "", true},
		"truncated":     {unhex(t, "82 a1 78"), "", "", true},
		"trailing":      {[]byte{0x80, 0x80}, "", "", true},
		"huge map":      {[]byte{0xdf, 0xff, 0xff, 0xff, 0xff}, "", "", true},
	} {
		trace, version, err := PeekHeaders(tc.data)
		if tc.err {
			assert.Error(t, err, name)
			continue
		}
		require.NoError(t, err, name)
		assert.Equal(t, tc.trace, trace, name)
		assert.Equal(t, tc.version, version, name)
	}
}

func TestRequestHeadersRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		name    string
		timeout int64
		extra   map[string]any
	}{
		{"no timeout", 0, nil},
		{"timeout", 1500, nil},
		{"timeout and extra", 20, map[string]any{"x-user": "ann", "traceparent": "00-ab-cd-01"}},
		{"extra cannot replace the timeout", 20, map[string]any{HeaderTimeout: int64(99999)}},
		{"extra timeout dropped without a deadline", 0, map[string]any{HeaderTimeout: int64(99999)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			headers, body, err := MarshalRequest("abc", "1.0.0", tc.timeout, tc.extra, map[string]any{"text": "foo"})
			require.NoError(t, err)
			h, err := PeekRequest(headers)
			require.NoError(t, err)
			assert.Equal(t, "abc", h.TraceID)
			assert.Equal(t, "1.0.0", h.Version)
			assert.Equal(t, tc.timeout > 0, h.HasTimeout)
			assert.Equal(t, tc.timeout, h.Timeout)
			all, err := UnmarshalHeaders(headers)
			require.NoError(t, err)
			for k, v := range tc.extra {
				if k != HeaderTimeout {
					assert.Equal(t, v, all[k], k)
				}
			}
			var args map[string]any
			require.NoError(t, Unmarshal(body, &args))
			assert.Equal(t, "foo", args["text"])
		})
	}
}

func TestPeekRequestRejectsNonIntegerTimeout(t *testing.T) {
	headers, err := MarshalHeaders("abc", "", map[string]any{HeaderTimeout: "soon"})
	require.NoError(t, err)
	_, err = PeekRequest(headers)
	assert.ErrorContains(t, err, "timeout_ms")
}

// BenchmarkMarshalMessageSizes: a reply's encoding by payload size. Over
// maxPooledBuffer the encoder's buffer is handed out rather than copied.
func BenchmarkMarshalMessageSizes(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10, 1 << 20} {
		text := strings.Repeat("x", size)
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, _, err := MarshalMessage("trace", "1.0", text); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkMarshalRequestSizes: a request's encoding by payload size.
func BenchmarkMarshalRequestSizes(b *testing.B) {
	for _, size := range []int{16, 1 << 10, 64 << 10, 1 << 20} {
		args := map[string]any{"text": strings.Repeat("x", size)}
		b.Run(strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				if _, _, err := MarshalRequest("trace", "1.0", 3000, nil, args); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestPeekFastAgrees: wherever the fast header reader answers, it says what
// the general path says; and it answers for what lymph peers send.
func TestPeekFastAgrees(t *testing.T) {
	mustRequest := func(trace, version string, timeout int64, extra map[string]any) []byte {
		h, _, err := MarshalRequest(trace, version, timeout, extra, nil)
		require.NoError(t, err)
		return h
	}
	common := [][]byte{
		mustRequest("0123456789abcdef0123456789abcdef", "", 0, nil),
		mustRequest("0123456789abcdef0123456789abcdef", "1.2.0", 3000, nil),
		mustRequest("t", "1", 1<<40, map[string]any{"x-user": "ann", "x-list": []any{1, "a", map[string]any{"k": nil}}}),
		[]byte("\x82\xa8trace_id\xc0\xa7version\xc0"),                     // the heartbeat's
		[]byte("\x82\xc4\x08trace_id\xc4\x03abc\xc4\x07version\xc4\x011"), // Python 2: all bin
		[]byte("\x81\xaatimeout_ms\xd3\xff\xff\xff\xff\xff\xff\xff\xfe"),  // int64 -2
		[]byte("\x81\xaatimeout_ms\xcf\xff\xff\xff\xff\xff\xff\xff\xff"),  // uint64 max: capped
		[]byte("\x81\xaatimeout_ms\xe0"),                                  // fixint -32
		[]byte("\xde\x00\x01\xa8trace_id\xd9\x03abc"),                     // map16, str8
		[]byte{},
	}
	odd := [][]byte{
		[]byte("\x81\xaatimeout_ms\xcb\x40\x59\x00\x00\x00\x00\x00\x00"), // float 100
		[]byte("\x81\xa8trace_id\x01"),                                   // an int trace id
		[]byte("\x82\xa8trace_id\xc0"),                                   // cut short
		[]byte("\x81\xa8trace_id\xc0\xc0"),                               // trailing byte
		[]byte("\x91\xc0"),                                               // not a map
		[]byte("\x81\x01\xc0"),                                           // an int key
		[]byte("\x81\xa1x\xc1"),                                          // never used byte
		[]byte("\xdf\xff\xff\xff\xff"),                                   // a huge map, no entries
		[]byte("\x81\xa8trace_id\xdb\xff\xff\xff\xff"),                   // a string longer than the data
	}
	for i, data := range append(common, odd...) {
		want, wantErr := peekRequest(data)
		got, ok := peekFast(data)
		if i < len(common) {
			assert.True(t, ok, "fast path declined case %d: % x", i, data)
		}
		if ok {
			require.NoError(t, wantErr, "case %d: the fast path accepted what the general path refuses", i)
			assert.Equal(t, want, got, "case %d", i)
		}
		h, err := PeekRequest(data)
		assert.Equal(t, want, h, "case %d", i)
		assert.Equal(t, wantErr, err, "case %d", i)
	}
}

func BenchmarkPeekRequest(b *testing.B) {
	h, _, err := MarshalRequest("0123456789abcdef0123456789abcdef", "1.2.0", 3000, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PeekRequest(h); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPeekRequestGeneral is BenchmarkPeekRequest through the general
// path (the msgpack decoder), for comparison.
func BenchmarkPeekRequestGeneral(b *testing.B) {
	h, _, err := MarshalRequest("0123456789abcdef0123456789abcdef", "1.2.0", 3000, nil, nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := peekRequest(h); err != nil {
			b.Fatal(err)
		}
	}
}
