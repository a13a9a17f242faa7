package lymphtest_test

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/lymphtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

type echo struct{ lymph.Interface }

type upperArgs struct {
	Text string `msgpack:"text"`
}

func (*echo) Upper(ctx context.Context, args upperArgs) (string, error) {
	return strings.ToUpper(args.Text), nil
}

func TestStart(t *testing.T) {
	reg := lymphtest.Registry(t)
	server := lymphtest.Start(t, reg, func(c *lymph.Container) error { return c.Install(&echo{}, lymph.WithName("echo")) })
	client := lymphtest.Start(t, reg, nil)

	out, err := lymph.Call[string](context.Background(), client.Proxy("echo"), "upper", upperArgs{Text: "foo"})
	require.NoError(t, err)
	assert.Equal(t, "FOO", out)
	assert.NotEqual(t, server.Endpoint(), client.Endpoint())
}

func TestRegistriesAreSeparate(t *testing.T) {
	a, b := lymphtest.Registry(t), lymphtest.Registry(t)
	lymphtest.Start(t, a, func(c *lymph.Container) error { return c.Install(&echo{}, lymph.WithName("echo")) })
	client := lymphtest.Start(t, b, nil)
	err := client.Proxy("echo").Call(context.Background(), "upper", upperArgs{Text: "x"}, nil)
	assert.ErrorIs(t, err, lymph.ErrLookupFailure, "an instance in another test's registry is not found")
}
