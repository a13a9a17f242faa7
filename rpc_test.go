package lymph

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type kwargs struct {
	Text  string  `msgpack:"text"`
	Count int     `msgpack:"count,omitempty"`
	Note  *string `msgpack:"note"`
}

// shapes has one method of every accepted shape.
type shapes struct{ Interface }

func (*shapes) Full(ctx context.Context, args kwargs) (string, error)  { return "", nil }
func (*shapes) PtrArgs(ctx context.Context, args *kwargs) (int, error) { return 0, nil }
func (*shapes) MapArgs(ctx context.Context, args map[string]any) error { return nil }
func (*shapes) NoCtx(args kwargs) (string, error)                      { return "", nil }
func (*shapes) Bare() error                                            { return nil }
func (*shapes) CtxOnly(ctx context.Context) ([]byte, error)            { return nil, nil }
func (*shapes) Raw(ch *ReplyChannel, args kwargs)                      {}
func (*shapes) RawBare(ch *ReplyChannel)                               {}

func TestDescribeMethodsAcceptsEveryShape(t *testing.T) {
	methods, err := describeMethods(&shapes{}, &installConfig{})
	require.NoError(t, err)

	want := map[string]struct {
		kind   methodKind
		params []string
	}{
		"full":     {kindRPC, []string{"text", "count", "note"}},
		"ptr_args": {kindRPC, []string{"text", "count", "note"}},
		"map_args": {kindRPC, []string{}},
		"no_ctx":   {kindRPC, []string{"text", "count", "note"}},
		"bare":     {kindRPC, []string{}},
		"ctx_only": {kindRPC, []string{}},
		"raw":      {kindRaw, []string{"text", "count", "note"}},
		"raw_bare": {kindRaw, []string{}},
	}
	require.Len(t, methods, len(want))
	for name, w := range want {
		m := methods[name]
		require.NotNil(t, m, name)
		assert.Equal(t, w.kind, m.kind, name)
		assert.Equal(t, w.params, m.params, name)
	}
	assert.NotContains(t, methods, "proxy", "the embedded Interface's methods are not served")
	assert.NotContains(t, methods, "name")
}

type noErrorResult struct{ Interface }

func (*noErrorResult) M(ctx context.Context) string { return "" }

type ctxSecond struct{ Interface }

func (*ctxSecond) M(args kwargs, ctx context.Context) error { return nil }

type twoArgs struct{ Interface }

func (*twoArgs) M(ctx context.Context, a, b kwargs) error { return nil }

type scalarArgs struct{ Interface }

func (*scalarArgs) M(ctx context.Context, text string) error { return nil }

type intKeyMap struct{ Interface }

func (*intKeyMap) M(ctx context.Context, args map[int]any) error { return nil }

type rawReturns struct{ Interface }

func (*rawReturns) M(ch *ReplyChannel) error { return nil }

type chanResult struct{ Interface }

func (*chanResult) M() (chan int, error) { return nil, nil }

type helperMethod struct{ Interface }

func (*helperMethod) Served() error { return nil }
func (*helperMethod) Helper() int   { return 1 }

type collision struct{ Interface }

func (*collision) DoIt() error  { return nil }
func (*collision) Do_it() error { return nil } //nolint:revive // the collision under test

type nothing struct{ Interface }

func TestDescribeMethodsRejectsWithReasons(t *testing.T) {
	for _, tc := range []struct {
		svc  any
		want string
	}{
		{&noErrorResult{}, "must return error or (result, error)"},
		{&ctxSecond{}, "context.Context must be the first argument"},
		{&twoArgs{}, "takes 2 arguments after the context"},
		{&scalarArgs{}, "want a struct, a pointer to a struct or a map with string keys, not string"},
		{&intKeyMap{}, "not map[int]interface {}"},
		{&rawReturns{}, "must return nothing"},
		{&chanResult{}, "chan int cannot be sent as msgpack"},
		{&helperMethod{}, "helperMethod.Helper: must return error"},
		{&collision{}, `wire name "do_it" is taken`},
		{&nothing{}, "has no exported methods to serve"},
	} {
		_, err := describeMethods(tc.svc, &installConfig{})
		require.Error(t, err, "%T", tc.svc)
		assert.Contains(t, err.Error(), tc.want, "%T", tc.svc)
	}
}

func TestExcludeKeepsHelpersOut(t *testing.T) {
	methods, err := describeMethods(&helperMethod{}, &installConfig{exclude: map[string]bool{"Helper": true}})
	require.NoError(t, err)
	assert.Contains(t, methods, "served")
	assert.NotContains(t, methods, "helper")
}

type notFound struct{ key string }

func (e *notFound) Error() string { return "no " + e.key }

func TestRaisesValidation(t *testing.T) {
	_, err := describeMethods(&shapes{}, &installConfig{raises: map[string][]error{"Full": {context.Canceled}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "WithRaises takes *lymph.ErrorType values or typed nil pointers")

	_, err = describeMethods(&shapes{}, &installConfig{raises: map[string][]error{"Missing": {NewErrorType("X")}}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `WithRaises("Missing"): it names no method the service serves`)

	methods, err := describeMethods(&shapes{}, &installConfig{raises: map[string][]error{"Full": {NewErrorType("Nope"), (*notFound)(nil)}}})
	require.NoError(t, err)
	require.Len(t, methods["full"].raises, 2)
	assert.Equal(t, "Nope", methods["full"].raises[0].typeName)
	assert.Equal(t, "notFound", methods["full"].raises[1].typeName)
}

func TestInstallRules(t *testing.T) {
	c, err := NewContainer(WithName("svc"), WithLogger(quietLogger()))
	require.NoError(t, err)

	var plain struct{ X int }
	assert.ErrorContains(t, c.Install(&plain), "must be a pointer to a struct that embeds lymph.Interface")
	assert.ErrorContains(t, c.Install((*shapes)(nil)), "want a non-nil pointer")
	assert.ErrorContains(t, c.Install(&shapes{}, WithName("lymph")), "builtin")
	assert.ErrorContains(t, c.Install(&shapes{}, WithVersion("not-a-version")), "version")

	s := &shapes{}
	require.NoError(t, c.Install(s))
	assert.Equal(t, "svc", s.Name())
	assert.Same(t, c, s.Container())
	assert.ErrorContains(t, c.Install(s), "already installed")
	assert.ErrorContains(t, c.Install(&shapes{}), "already installed")
	require.NoError(t, c.Install(&shapes{}, WithVersion("1.2.0")))
	v := &shapes{}
	require.NoError(t, c.Install(v, WithName("svc@1.3.0")), "lymph's name@version form")
	assert.Equal(t, "svc", v.Name())
	assert.Equal(t, "1.3.0", v.Version())

	anon, err := NewContainer()
	require.NoError(t, err)
	assert.ErrorContains(t, anon.Install(&shapes{}), "no name")
}

func TestSplitSubject(t *testing.T) {
	for subject, want := range map[string][2]string{
		"echo.upper":        {"echo", "upper"},
		"a.b.c":             {"a.b", "c"},
		"lymph.get_metrics": {"lymph", "get_metrics"},
	} {
		iface, m, ok := splitSubject(subject)
		require.True(t, ok, subject)
		assert.Equal(t, want, [2]string{iface, m})
	}
	for _, bad := range []string{"", "echo", ".upper", "echo."} {
		_, _, ok := splitSubject(bad)
		assert.False(t, ok, bad)
	}
}
