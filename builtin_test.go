package lymph

import (
	"context"
	"reflect"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/lymphgo/lymph/registry"
)

type documented struct{ Interface }

func (*documented) Upper(ctx context.Context, args textArgs) (string, error) { return "", nil }
func (*documented) Lower(ctx context.Context, args textArgs) (string, error) { return "", nil }

func (*documented) LymphDocs() map[string]string {
	return map[string]string{"Upper": "Upper shouts.", "Lower": "generated"}
}

func TestBuiltinInterface(t *testing.T) {
	reg := memoryRegistry(t)
	server := startContainer(t, reg, func(c *Container) {
		require.NoError(t, c.Install(&documented{}, WithName("doc"), WithDoc("Lower", "Lower whispers.")))
		require.NoError(t, c.Install(&documented{}, WithName("doc"), WithVersion("1.2.0")))
	})
	client := startContainer(t, reg, nil)
	ctx := testContext(t)
	lymph := client.Proxy("lymph", WithInstance(server.Endpoint()))

	t.Run("ping", func(t *testing.T) {
		for _, payload := range []any{"", "hello", int8(42), uint64(1 << 40), []byte{1, 2}, map[string]any{"a": "b"}} {
			var out any
			require.NoError(t, lymph.Call(ctx, "ping", map[string]any{"payload": payload}, &out))
			assert.Equal(t, payload, out)
		}
	})
	t.Run("ping without a payload answers nil, as lymph's ping(payload=None)", func(t *testing.T) {
		for _, args := range []any{nil, map[string]any{}} {
			msg, err := client.Proxy("lymph", WithInstance(server.Endpoint())).Request(ctx, "ping", args)
			require.NoError(t, err)
			assert.Equal(t, TypeReply, msg.Type)
			var out any
			require.NoError(t, msg.Decode(&out))
			assert.Nil(t, out)
		}
	})
	t.Run("the builtin interface has lymph's version", func(t *testing.T) {
		msg, err := client.Proxy("lymph", WithInstance(server.Endpoint())).Request(ctx, "status", nil)
		require.NoError(t, err)
		assert.Equal(t, BuiltinVersion, msg.Version(), "reply header")

		instances, err := reg.Lookup(ctx, "lymph")
		require.NoError(t, err)
		var mine []registry.Instance
		for _, inst := range instances {
			if inst.Endpoint == server.Endpoint() {
				mine = append(mine, inst)
			}
		}
		require.Len(t, mine, 1)
		assert.Equal(t, BuiltinVersion, mine[0].Version, "registry entry")
		assert.Equal(t, registry.InstanceID(server.Identity(), "lymph", BuiltinVersion), mine[0].ID)

		// By name with a version: lymph@0.16, an older 0.x and Python
		// lymph's own 0.16.0-dev reach Go instances; another major does not.
		for _, v := range []string{"0.16", "0.15.2", "0.16.0-dev"} {
			msg, err = client.Proxy("lymph@"+v).Request(ctx, "status", nil)
			require.NoError(t, err, v)
			assert.Equal(t, BuiltinVersion, msg.Version(), v)
		}
		_, err = client.Proxy("lymph@1.0", WithInstance(server.Endpoint())).Request(ctx, "status", nil)
		assert.ErrorIs(t, err, ErrNack)
	})
	t.Run("status", func(t *testing.T) {
		var st map[string]string
		require.NoError(t, lymph.Call(ctx, "status", nil, &st))
		assert.Equal(t, map[string]string{"endpoint": server.Endpoint(), "identity": registry.Identity(server.Endpoint()), "registration": "registered"}, st)
	})
	t.Run("inspect lists every interface, the builtin one included", func(t *testing.T) {
		var out struct {
			Methods []struct {
				Name    string   `msgpack:"name"`
				Version any      `msgpack:"version"`
				Params  []string `msgpack:"params"`
				Help    string   `msgpack:"help"`
			} `msgpack:"methods"`
		}
		require.NoError(t, lymph.Call(ctx, "inspect", nil, &out))
		byName := map[string][]int{}
		for i, m := range out.Methods {
			byName[m.Name] = append(byName[m.Name], i)
		}
		for _, name := range []string{"lymph.ping", "lymph.status", "lymph.inspect", "lymph.get_metrics", "lymph.change_loglevel"} {
			assert.Contains(t, byName, name)
		}
		require.Len(t, byName["doc.upper"], 2, "both versions")
		first, second := out.Methods[byName["doc.upper"][0]], out.Methods[byName["doc.upper"][1]]
		assert.Equal(t, "1.2.0", first.Version, "newest version first")
		assert.Nil(t, second.Version)
		assert.Equal(t, []string{"text"}, first.Params)
		assert.Equal(t, "Upper shouts.", first.Help, "from LymphDocs")
		assert.Equal(t, "Lower whispers.", out.Methods[byName["doc.lower"][1]].Help, "Doc overrides LymphDocs")
		assert.Equal(t, []string{"payload"}, out.Methods[byName["lymph.ping"][0]].Params)
		assert.Equal(t, BuiltinVersion, out.Methods[byName["lymph.ping"][0]].Version)
		assert.Equal(t, []string{"qualname", "loglevel", "period"}, out.Methods[byName["lymph.change_loglevel"][0]].Params)
	})
	t.Run("get_metrics counts requests and errors", func(t *testing.T) {
		p := client.Proxy("doc")
		require.NoError(t, p.Call(ctx, "upper", textArgs{Text: "a"}, nil))
		require.ErrorIs(t, p.Call(ctx, "nope", nil, nil), ErrNack)
		var metrics [][]any
		require.NoError(t, lymph.Call(ctx, "get_metrics", nil, &metrics))
		found := map[string]any{}
		for _, m := range metrics {
			require.Len(t, m, 3)
			tags, _ := m[2].(map[string]any)
			key := m[0].(string)
			if s, ok := tags["subject"]; ok {
				key += " " + s.(string)
			}
			found[key] = m[1]
		}
		assert.EqualValues(t, 1, found["rpc.requests doc.upper"], "%v", found)
		assert.EqualValues(t, 1, found["rpc.unknown <other>"])
		assert.EqualValues(t, 1, found["rpc.nacks <other>"])
		assert.Contains(t, found, "transport.connections")
		// Two Go containers: the replies rode the requests' connection.
		assert.EqualValues(t, 1, found["transport.shared_connections"])
		assert.GreaterOrEqual(t, reflect.ValueOf(found["transport.shared_replies"]).Convert(reflect.TypeFor[int64]()).Int(), int64(2))
		assert.EqualValues(t, 0, found["transport.connections_out"], "the server dialed its caller")
	})
	t.Run("change_loglevel", func(t *testing.T) {
		require.NoError(t, lymph.Call(ctx, "change_loglevel", map[string]any{"qualname": "lymph", "loglevel": "DEBUG", "period": 0.05}, nil))
		assert.Equal(t, "DEBUG", server.levels.level.Level().String())
		assert.ErrorIs(t, lymph.Call(ctx, "change_loglevel", map[string]any{"qualname": "x", "loglevel": "LOUD"}, nil), ErrNack)
	})
	t.Run("versions pick the interface", func(t *testing.T) {
		msg, err := client.Proxy("doc", WithInstance(server.Endpoint())).Request(ctx, "upper", textArgs{Text: "a"})
		require.NoError(t, err)
		assert.Equal(t, "1.2.0", msg.Version(), "no version asked: the newest")

		msg, err = client.Proxy("doc@1.1").Request(ctx, "upper", textArgs{Text: "a"})
		require.NoError(t, err)
		assert.Equal(t, "1.2.0", msg.Version())

		_, err = client.Proxy("doc@2.0", WithInstance(server.Endpoint())).Request(ctx, "upper", textArgs{Text: "a"})
		assert.ErrorIs(t, err, ErrNack, "no installed version satisfies 2.0")
	})
}
