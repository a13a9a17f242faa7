package lymph

import (
	"bytes"
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/internal/bufpool"
	"github.com/lymphgo/lymph/internal/transport"
)

// bigEcho echoes big payloads; Keep also holds on to its request's
// message, to read it after returning.
type bigEcho struct {
	Interface
	kept chan *Message
}

type bigArgs struct {
	Data []byte `msgpack:"data"`
}

func (*bigEcho) Echo(ctx context.Context, args bigArgs) ([]byte, error) { return args.Data, nil }

func (s *bigEcho) Keep(ctx context.Context, args bigArgs) (int, error) {
	s.kept <- IncomingRequest(ctx)
	return len(args.Data), nil
}

// payload is n bytes that say who they belong to throughout.
func payload(n, who int) []byte {
	return bytes.Repeat([]byte(fmt.Sprintf("%08d", who)), n/8)
}

// TestBigMessagesReuseBuffers: big requests and replies are read into
// pooled buffers that the server gives back after the method and the
// caller after decoding; many concurrent calls with their own payloads all
// get their own bytes back, and a method that kept its request still reads
// it intact after many more have been served.
func TestBigMessagesReuseBuffers(t *testing.T) {
	reg := memoryRegistry(t)
	svc := &bigEcho{kept: make(chan *Message, 1)}
	server := startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(svc, WithName("big")))
	}, WithoutHeartbeat())
	client := startContainer(t, reg, nil, WithoutHeartbeat())
	p := client.Proxy("big", WithInstance(server.Endpoint()))
	ctx := testContext(t)

	n, err := Call[int](ctx, p, "keep", bigArgs{Data: payload(256<<10, 99)})
	require.NoError(t, err)
	require.Equal(t, 256<<10, n)
	kept := <-svc.kept

	var wg sync.WaitGroup
	for who := range 16 {
		wg.Go(func() {
			for i := range 8 {
				size := 64<<10 + who*4096 + i*8
				if i%2 == 0 {
					size = 256 << 10 // the kept request's size class
				}
				want := payload(size, who*100+i)
				got, err := Call[[]byte](ctx, p, "echo", bigArgs{Data: want})
				if !assert.NoError(t, err) {
					return
				}
				assert.True(t, bytes.Equal(want, got), "caller %d got another's bytes", who)
			}
		})
	}
	wg.Wait()

	var args bigArgs
	require.NoError(t, kept.Decode(&args))
	assert.True(t, bytes.Equal(payload(256<<10, 99), args.Data), "a kept request's body was reused")
}

// TestServedRequestBodyOwnership: the container gives a served request's
// buffer back only if the method never asked for the message; asked for
// afterwards, the message comes without the bytes.
func TestServedRequestBodyOwnership(t *testing.T) {
	in := transport.Incoming{ID: "id", Type: TypeRequest, Subject: "big.echo", Sender: "tcp://127.0.0.1:1"}
	buf := bufpool.Get(64 << 10)[:64<<10]
	in.Headers, in.Body, in.Pooled = buf[:1], buf[1:], buf

	var shared Message
	shared.setFrom(&in)
	assert.Same(t, &shared, shared.share())
	shared.releaseBody()
	assert.NotNil(t, shared.pooled, "a message the method saw keeps its buffer")
	assert.Len(t, shared.RawBody(), 64<<10-1)

	var private Message
	private.setFrom(&in)
	private.releaseBody()
	assert.Nil(t, private.pooled, "given back")
	late := private.share()
	assert.NotSame(t, &private, late)
	assert.Nil(t, late.RawBody(), "the bytes are gone")
	assert.Equal(t, "id", late.ID)
	assert.Equal(t, "tcp://127.0.0.1:1", late.Source)
}
