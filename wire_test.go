package lymph

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/internal/codec"
)

// testService exercises every row of the error table.
type testService struct {
	Interface
	mu       sync.Mutex
	traceIDs []string
	release  chan struct{}
}

var errNope = NewErrorType("Nope")

type textArgs struct {
	Text string `msgpack:"text"`
}

func (s *testService) Upper(ctx context.Context, args textArgs) (string, error) {
	return stringsToUpper(args.Text), nil
}

func (s *testService) Fail(ctx context.Context, args textArgs) error {
	return errNope.New(args.Text)
}

func (s *testService) FailTyped(ctx context.Context, args textArgs) error {
	return &notFound{key: args.Text}
}

func (s *testService) Undeclared(ctx context.Context) error {
	return errors.New("something broke")
}

func (s *testService) Panic(ctx context.Context) error {
	panic("boom")
}

type sleepArgs struct {
	Seconds float64 `msgpack:"seconds"`
}

func (s *testService) Sleep(ctx context.Context, args sleepArgs) error {
	select {
	case <-time.After(time.Duration(args.Seconds * float64(time.Second))):
	case <-ctx.Done():
	}
	return nil
}

// Cancelled waits for its context and returns its error: what a method
// cut short by Stop does.
func (s *testService) Cancelled(ctx context.Context) error {
	<-ctx.Done()
	return ctx.Err()
}

// Block waits until the test releases it.
func (s *testService) Block(ctx context.Context) (string, error) {
	<-s.release
	return "released", nil
}

func (s *testService) Trace(ctx context.Context) (string, error) {
	return TraceID(ctx), nil
}

type forwardArgs struct {
	To string `msgpack:"to"`
}

// Forward calls another service's trace method with its own context, so
// the trace id should travel on.
func (s *testService) Forward(ctx context.Context, args forwardArgs) ([]string, error) {
	inner, err := Call[string](ctx, s.Proxy(args.To), "trace", nil)
	return []string{TraceID(ctx), inner}, err
}

// everything holds a value of each msgpack kind. Integers in `any` keep
// their wire width (vmihailenco/msgpack's rule), hence the int8 below.
type everything struct {
	Str   string         `msgpack:"str"`
	Bytes []byte         `msgpack:"bytes"`
	Int   int64          `msgpack:"int"`
	Float float64        `msgpack:"float"`
	Bool  bool           `msgpack:"bool"`
	List  []any          `msgpack:"list"`
	Map   map[string]any `msgpack:"map"`
	Nil   any            `msgpack:"nil"`
}

func (s *testService) Roundtrip(ctx context.Context, args everything) (everything, error) {
	return args, nil
}

func stringsToUpper(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - 32
		}
	}
	return string(b)
}

func installTestService(svc *testService) func(c *Container) {
	return func(c *Container) {
		if svc.release == nil {
			svc.release = make(chan struct{})
		}
		err := c.Install(svc, WithName("testsvc"), WithRaises("Fail", errNope), WithRaises("FailTyped", (*notFound)(nil)))
		if err != nil {
			panic(err)
		}
	}
}

// pair starts a server with the test service and a separate client
// container, each on its own endpoint: every call crosses real TCP.
func pair(t *testing.T) (server, client *Container, svc *testService) {
	reg := memoryRegistry(t)
	svc = &testService{}
	server = startContainer(t, reg, installTestService(svc))
	client = startContainer(t, reg, nil)
	return server, client, svc
}

func TestErrorTableOverTCP(t *testing.T) {
	server, client, _ := pair(t)
	ctx := testContext(t)
	p := client.Proxy("testsvc")

	t.Run("value", func(t *testing.T) {
		out, err := Call[string](ctx, p, "upper", textArgs{Text: "foo"})
		require.NoError(t, err)
		assert.Equal(t, "FOO", out)
	})
	t.Run("declared error type", func(t *testing.T) {
		err := p.Call(ctx, "fail", textArgs{Text: "no way"}, nil)
		var re *RemoteError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, "Nope", re.Type)
		assert.Equal(t, "no way", re.Message)
		assert.ErrorIs(t, err, errNope)
		assert.ErrorIs(t, err, NewErrorType("Nope"), "matching by type name needs no shared value")
		assert.NotErrorIs(t, err, NewErrorType("Other"))
	})
	t.Run("declared error by Go type", func(t *testing.T) {
		err := p.Call(ctx, "fail_typed", textArgs{Text: "key"}, nil)
		var re *RemoteError
		require.ErrorAs(t, err, &re)
		assert.Equal(t, &RemoteError{Type: "notFound", Message: "no key"}, re)
	})
	for _, method := range []string{"undeclared", "panic"} {
		t.Run(method+" is a NACK", func(t *testing.T) {
			err := p.Call(ctx, method, nil, nil)
			assert.ErrorIs(t, err, ErrNack)
		})
	}
	t.Run("unknown method", func(t *testing.T) {
		assert.ErrorIs(t, p.Call(ctx, "no_such_method", nil, nil), ErrNack)
	})
	t.Run("unknown interface", func(t *testing.T) {
		_, err := client.Proxy("nosuch", WithInstance(p.c.Proxy("testsvc").nameEndpoint(t, ctx))).Request(ctx, "method", nil)
		assert.ErrorIs(t, err, ErrNack)
	})
	t.Run("bad arguments", func(t *testing.T) {
		for name, args := range map[string]any{
			"missing":    map[string]any{},
			"extra":      map[string]any{"text": "a", "other": 1},
			"ill-typed":  map[string]any{"text": 42},
			"not a map":  encoded(t, []any{"a"}), // past the caller's own check
			"for a bare": nil,                    // handled below
		} {
			if args == nil {
				continue
			}
			assert.ErrorIs(t, p.Call(ctx, "upper", args, nil), ErrNack, name)
		}
		assert.ErrorIs(t, p.Call(ctx, "undeclared", map[string]any{"unexpected": 1}, nil), ErrNack,
			"a method without arguments refuses keyword arguments")

		// Arguments that cannot be keyword arguments fail at the caller,
		// before anything is sent.
		for _, args := range []any{[]any{"a"}, "text", 42, &[]string{}, map[int]string{1: "a"}} {
			err := p.Call(ctx, "upper", args, nil)
			require.Error(t, err, "%T", args)
			assert.NotErrorIs(t, err, ErrNack, "%T", args)
			assert.EqualError(t, err, fmt.Sprintf("lymph: testsvc.upper: arguments must be a struct or a map with string keys (lymph keyword arguments), not %T", args))
		}

		// msgpack reads an extension's data as a map where it wants a
		// map; 3 MiB of nested arrays hidden that way, as the argument
		// of lymph.ping (an any), once overflowed the server's stack.
		// Now a NACK, and the server serves on.
		hidden := append([]byte{0xdf, 0, 0, 0, 1, 0xa7}, "payload"...)
		hidden = append(append(hidden, bytes.Repeat([]byte{0x91}, 3<<20)...), 0xc0)
		body := binary.BigEndian.AppendUint32([]byte{0xc9}, uint32(len(hidden)))
		body = append(append(body, 5), hidden...)
		ping := client.Proxy("lymph", WithInstance(server.Endpoint()))
		assert.ErrorIs(t, ping.Call(ctx, "ping", codec.Raw(body), nil), ErrNack, "an extension hiding a map")
		var out string
		require.NoError(t, ping.Call(ctx, "ping", map[string]any{"payload": "still here"}, &out))
		assert.Equal(t, "still here", out)
	})
	t.Run("timeout", func(t *testing.T) {
		short, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
		defer cancel()
		err := p.Call(short, "sleep", sleepArgs{Seconds: 1}, nil)
		assert.ErrorIs(t, err, ErrTimeout)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
	t.Run("no instance", func(t *testing.T) {
		err := client.Proxy("nobody").Call(ctx, "x", nil, nil)
		assert.ErrorIs(t, err, ErrLookupFailure)
	})
	t.Run("dead endpoint", func(t *testing.T) {
		err := client.Proxy("testsvc", WithInstance(deadEndpoint(t))).Call(ctx, "upper", textArgs{Text: "x"}, nil)
		assert.ErrorIs(t, err, ErrNotConnected)
	})
	t.Run("values survive the trip", func(t *testing.T) {
		in := everything{
			Str: "héllo", Bytes: []byte{0, 1, 0xff}, Int: -1 << 40, Float: 2.5, Bool: true,
			List: []any{"a", int8(1)}, Map: map[string]any{"k": "v"},
		}
		out, err := Call[everything](ctx, p, "roundtrip", in)
		require.NoError(t, err)
		assert.Equal(t, in, out)
	})
}

// nameEndpoint resolves the proxy's service to the one endpoint serving it.
func (p *Proxy) nameEndpoint(t *testing.T, ctx context.Context) string {
	t.Helper()
	endpoints, err := p.endpoints(ctx)
	require.NoError(t, err)
	require.Len(t, endpoints, 1)
	return endpoints[0]
}

// encoded is v as msgpack, sent as it is: a body a Go caller's own checks
// would not let through.
func encoded(t *testing.T, v any) codec.Raw {
	t.Helper()
	b, err := codec.Marshal(v)
	require.NoError(t, err)
	return codec.Raw(b)
}
