package lymph

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"sync/atomic"

	"github.com/lymphgo/lymph/internal/codec"
)

// This file is the reflection registry: it looks at a service's methods
// once, at Install, decides which kind each one is, and keeps what dispatch
// needs so that serving a request does no more reflection than a call.

// methodKind is lymph's kind of RPC method.
type methodKind int

const (
	kindRPC methodKind = iota // plain method: its return value is the reply
	kindRaw                   // raw_rpc: answers through a *ReplyChannel
)

var (
	typeOfContext      = reflect.TypeFor[context.Context]()
	typeOfError        = reflect.TypeFor[error]()
	typeOfReplyChannel = reflect.TypeFor[*ReplyChannel]()
	// The embedded Interface's own exported methods, by name and type
	// (without receiver), are never served.
	interfaceMethods = methodTypes(reflect.TypeFor[*Interface]())
)

// method is one served method.
type method struct {
	goName  string
	name    string // wire name, snake_case
	kind    methodKind
	fn      reflect.Value // the method's function, its receiver the first argument
	recv    reflect.Value // the receiver
	hasCtx  bool          // rpc kind: takes a context.Context first
	argType reflect.Type  // nil: takes no arguments
	argPtr  bool          // the argument is a pointer to argType
	result  bool          // rpc kind: returns (R, error), not just error
	params  []string
	help    string
	raises  []declaredError

	// The per-method in-flight limit (MaxInFlight, overload.go); 0: none.
	limit    int64
	inFlight atomic.Int64
}

// declaredError is one error a method declared it may raise.
type declaredError struct {
	typeName string
	sentinel *ErrorType   // matched with errors.Is
	errType  reflect.Type // or matched with errors.As against this type
}

// match returns the wire type and message for err if it is this declared
// error.
func (d declaredError) match(err error) (typ, message string, ok bool) {
	if d.sentinel != nil {
		if !errors.Is(err, d.sentinel) {
			return "", "", false
		}
		var re *RemoteError
		if errors.As(err, &re) && re.Type == d.typeName {
			return d.typeName, re.Message, true
		}
		return d.typeName, err.Error(), true
	}
	target := reflect.New(d.errType)
	if !errors.As(err, target.Interface()) {
		return "", "", false
	}
	return d.typeName, target.Elem().Interface().(error).Error(), true
}

// describeMethods finds the served methods of svc. Every exported method
// must fit one of the two shapes or be excluded; the error names each one
// that does not, and why, so a typo does not silently drop a method.
func describeMethods(svc any, cfg *installConfig) (map[string]*method, error) {
	v := reflect.ValueOf(svc)
	t := v.Type()
	typeName := t.String()
	var docs map[string]string
	if d, ok := svc.(Documented); ok {
		docs = d.LymphDocs()
	}

	methods := map[string]*method{}
	failed := map[string]bool{} // already reported: options naming them are not
	var problems []error
	for i := 0; i < t.NumMethod(); i++ {
		rm := t.Method(i)
		if promoted(rm.Name, v.Method(i).Type()) || isHook(rm.Name, v.Method(i).Type()) || cfg.exclude[rm.Name] || cfg.handles(rm.Name) || rm.Name == "LymphDocs" {
			continue
		}
		m, err := describeMethod(rm, v)
		if err != nil {
			problems = append(problems, fmt.Errorf("%s.%s: %w", typeName, rm.Name, err))
			failed[rm.Name] = true
			continue
		}
		if other, dup := methods[m.name]; dup {
			problems = append(problems, fmt.Errorf("%s.%s: wire name %q is taken by %s", typeName, rm.Name, m.name, other.goName))
			continue
		}
		m.help = docs[rm.Name]
		if h, ok := cfg.docs[rm.Name]; ok {
			m.help = h
		}
		raises, err := declaredErrors(cfg.raises[rm.Name])
		if err != nil {
			problems = append(problems, fmt.Errorf("%s.%s: %w", typeName, rm.Name, err))
		}
		m.raises = raises
		methods[m.name] = m
	}
	// An option naming a method the service does not serve is a typo or a
	// rename: say so, rather than serve without the option.
	served := func(goName string) bool {
		if failed[goName] {
			return true
		}
		for _, m := range methods {
			if m.goName == goName {
				return true
			}
		}
		return false
	}
	for _, name := range sortedKeys(cfg.raises) {
		if !served(name) {
			problems = append(problems, fmt.Errorf("%s: WithRaises(%q): it names no method the service serves", typeName, name))
		}
	}
	for _, name := range sortedKeys(cfg.docs) {
		if !served(name) {
			problems = append(problems, fmt.Errorf("%s: WithDoc(%q): it names no method the service serves", typeName, name))
		}
	}
	for _, name := range sortedKeys(cfg.exclude) {
		if _, ok := t.MethodByName(name); !ok {
			problems = append(problems, fmt.Errorf("%s: WithoutMethods(%q): the service has no exported method of that name", typeName, name))
		}
	}
	if len(problems) == 0 && len(methods) == 0 && len(cfg.handlers) == 0 { // events: handlers-only interfaces are fine
		problems = append(problems, fmt.Errorf("%s has no exported methods to serve", typeName))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("lymph: cannot install %s: %w", typeName, errors.Join(problems...))
	}
	return methods, nil
}

// describeMethod decides the kind of one exported method, or says why it
// fits neither:
//
//	rpc:     func (s *T) M([ctx context.Context,] [args A]) ([R,] error)
//	raw_rpc: func (s *T) M(ch *lymph.ReplyChannel[, args A])
//
// where A is a struct, a pointer to a struct, or a map with string keys:
// lymph's keyword arguments.
//
// It is called through its function with the receiver as first argument:
// reflect calls a method value through an extra trampoline that allocates.
func describeMethod(rm reflect.Method, recv reflect.Value) (*method, error) {
	ft := recv.Method(rm.Index).Type() // without the receiver
	m := &method{goName: rm.Name, name: snakeCase(rm.Name), fn: rm.Func, recv: recv}
	in := 0
	if ft.NumIn() > 0 && ft.In(0) == typeOfReplyChannel {
		m.kind = kindRaw
		in = 1
		if ft.NumOut() != 0 {
			return nil, errors.New("a raw method (taking *lymph.ReplyChannel) answers through the channel and must return nothing")
		}
	} else {
		if ft.NumIn() > 0 && ft.In(0) == typeOfContext {
			m.hasCtx = true
			in = 1
		}
		switch {
		case ft.NumOut() == 1 && ft.Out(0) == typeOfError:
		case ft.NumOut() == 2 && ft.Out(1) == typeOfError:
			if err := encodable(ft.Out(0)); err != nil {
				return nil, fmt.Errorf("result: %w", err)
			}
			m.result = true
		default:
			return nil, errors.New("must return error or (result, error), or take *lymph.ReplyChannel first to be a raw method")
		}
	}
	for i := in; i < ft.NumIn(); i++ {
		if ft.In(i) == typeOfContext {
			return nil, errors.New("context.Context must be the first argument")
		}
	}
	switch rest := ft.NumIn() - in; {
	case rest == 0:
	case rest == 1:
		at := ft.In(in)
		if at.Kind() == reflect.Pointer {
			m.argPtr = true
			at = at.Elem()
		}
		switch {
		case at.Kind() == reflect.Struct:
			m.params = codec.ArgNames(at)
		case at.Kind() == reflect.Map && at.Key().Kind() == reflect.String && !m.argPtr:
		default:
			return nil, fmt.Errorf("arguments are lymph keyword arguments: want a struct, a pointer to a struct or a map with string keys, not %s", ft.In(in))
		}
		m.argType = at
	default:
		return nil, fmt.Errorf("takes %d arguments after the context; want one struct or map holding the keyword arguments", rest)
	}
	if m.params == nil {
		m.params = []string{}
	}
	return m, nil
}

// encodable rejects result types msgpack cannot carry.
func encodable(t reflect.Type) error {
	switch t.Kind() {
	case reflect.Chan, reflect.Func, reflect.UnsafePointer, reflect.Complex64, reflect.Complex128:
		return fmt.Errorf("%s cannot be sent as msgpack", t)
	}
	return nil
}

func declaredErrors(errs []error) ([]declaredError, error) {
	out := make([]declaredError, 0, len(errs))
	for _, e := range errs {
		if et, ok := e.(*ErrorType); ok && et != nil {
			out = append(out, declaredError{typeName: et.name, sentinel: et})
			continue
		}
		t := reflect.TypeOf(e)
		if t == nil || t.Kind() != reflect.Pointer || !reflect.ValueOf(e).IsNil() {
			return nil, fmt.Errorf("WithRaises takes *lymph.ErrorType values or typed nil pointers of error types, not %v (%T)", e, e)
		}
		out = append(out, declaredError{typeName: t.Elem().Name(), errType: t})
	}
	return out, nil
}

func methodTypes(t reflect.Type) map[string]reflect.Type {
	types := map[string]reflect.Type{}
	v := reflect.New(t.Elem())
	for i := 0; i < t.NumMethod(); i++ {
		types[t.Method(i).Name] = v.Method(i).Type()
	}
	return types
}

// promoted reports whether a service's method is the embedded Interface's
// own (Name, Version, Proxy...), which is never served. A method of the
// service with the same name but another signature shadows it and is
// served like any other: a Version(ctx) (string, error) RPC is allowed.
func promoted(name string, typ reflect.Type) bool {
	t, ok := interfaceMethods[name]
	return ok && t == typ
}

// sortedMethods lists an interface's methods by wire name, for inspect.
func sortedMethods(ms map[string]*method) []*method {
	out := make([]*method, 0, len(ms))
	for _, m := range ms {
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].name < out[j].name })
	return out
}

// splitSubject splits "iface.method" at the last dot, as lymph does.
func splitSubject(subject string) (iface, method string, ok bool) {
	i := strings.LastIndexByte(subject, '.')
	if i <= 0 || i == len(subject)-1 {
		return "", "", false
	}
	return subject[:i], subject[i+1:], true
}
