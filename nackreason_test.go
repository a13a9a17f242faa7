package lymph

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// refuser fails in each way a request can fail without a declared error.
type refuser struct{ Interface }

type countArgs struct {
	Count int `msgpack:"count"`
}

func (*refuser) Count(args countArgs) (int, error) { return args.Count, nil }
func (*refuser) Undeclared() error                 { return errors.New("db password is hunter2") }
func (*refuser) Panics() error                     { panic("boom") }
func (*refuser) Silent(ch *ReplyChannel)           {}
func (*refuser) RawPanics(ch *ReplyChannel)        { panic("boom") }

// A NACK says why, in the nack_reason header, and the caller's error shows
// it; an undeclared error's own text stays in the server's log.
func TestNackReasonsReachTheCaller(t *testing.T) {
	reg := memoryRegistry(t)
	server := startContainer(t, reg, func(c *Container) { require.NoError(t, c.Install(&refuser{}, WithName("refuser"))) })
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	p := client.Proxy("refuser")
	for _, tc := range []struct {
		method string
		args   any
		want   string
	}{
		{"nope", nil, `unknown interface, method or version: refuser has no method "nope"`},
		{"count", map[string]any{"count": "seven"}, `bad arguments: argument "count": want an integer, got a string`},
		{"count", map[string]any{"count": 7, "extra": 1}, `bad arguments:`},
		{"undeclared", nil, "failed: the method returned an error it did not declare"},
		{"panics", nil, "failed: the method panicked"},
		{"silent", nil, "the raw method returned without replying"},
		{"raw_panics", nil, "failed: the method panicked"},
	} {
		err := p.Call(ctx, tc.method, tc.args, nil)
		require.ErrorIs(t, err, ErrNack, tc.method)
		assert.ErrorContains(t, err, "refuser."+tc.method+": "+tc.want, tc.method)
		assert.NotContains(t, err.Error(), "hunter2", "an undeclared error's text is the server's")
	}

	at := func(service string) *Proxy { return client.Proxy(service, WithInstance(server.Endpoint())) }
	err := at("nothere").Call(ctx, "x", nil, nil)
	assert.ErrorContains(t, err, `nothere.x: unknown interface, method or version: no interface "nothere"`)
	err = at("refuser@2").Call(ctx, "count", nil, nil)
	assert.ErrorContains(t, err, `refuser.count: unknown interface, method or version: no interface "refuser" with a version 2`)
}
