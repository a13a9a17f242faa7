// Package lymph lets Go services join a lymph mesh: call, and be called by,
// services written with the Python lymph framework (RPC over ZeroMQ with
// msgpack), on the same wire.
//
// A service is a struct that embeds Interface. Its exported methods are its
// RPC methods, found by reflection when it is installed in a Container and
// served as "<name>.<snake_case method name>":
//
//	type Echo struct{ lymph.Interface }
//
//	type UpperArgs struct {
//		Text string `msgpack:"text"`
//	}
//
//	// Upper returns the text in upper case.
//	func (e *Echo) Upper(ctx context.Context, args UpperArgs) (string, error) {
//		return strings.ToUpper(args.Text), nil
//	}
//
// # Method shapes
//
// A plain method is lymph's rpc kind; its return value is the reply:
//
//	func (s *T) M([ctx context.Context,] [args A]) ([R,] error)
//
// A method that takes a *ReplyChannel is lymph's raw_rpc kind; it answers
// through the channel (Reply, Ack, Nack, Error), and gets a NACK if it
// returns without answering:
//
//	func (s *T) M(ch *lymph.ReplyChannel[, args A])
//
// A is a struct (or pointer to one) whose fields are the keyword arguments,
// or a map with string keys. A request whose arguments do not fit — a
// missing, unknown or ill-typed argument — gets a NACK. A struct field is
// optional when it is a pointer, or tagged omitempty or lymph:"optional".
//
// # Arguments and results
//
// Structs travel as msgpack maps of their fields. A field's key is its
// msgpack tag, or, untagged, the snake_case of its Go name, the rule that
// names methods: FirstName travels as "first_name", UserID as "user_id";
// `msgpack:"FirstName"` keeps the Go name, `msgpack:"-"` leaves the field
// out, `msgpack:",omitempty"` leaves out an empty value. Unexported fields
// are left out; an untagged embedded struct is flattened into the outer
// map. A reply value that does not fit its target fails the call with an
// error naming the field and what was wanted and found: `lymph: echo.upper:
// decoding the reply: field "count": want an integer, got a string`.
//
// # Calling: where and what
//
// Container.Proxy separates where a call goes from what it calls:
//
//	echo := c.Proxy("echo@1.2")                        // where: echo instances of a version 1.x >= 1.2
//	out, err := lymph.Call[string](ctx, echo, "upper", UpperArgs{Text: "hi"}) // what: echo.upper
//	err = echo.Interface("lymph").Call(ctx, "status", nil, &st)               // lymph.status of such an instance
//	one := c.Proxy("echo", lymph.WithInstance("tcp://10.0.0.5:4000"))          // one instance, no registry
//
// The constraint after '@' selects the instances, and goes out as the
// request's version header only for calls to the service's own interface
// (it is that interface's version), never to another interface of the
// instances. A method name has no '.'; Interface names another interface.
//
// # Options
//
// NewContainer takes ContainerOptions, Container.Proxy ProxyOptions and
// Install InstallOptions, all named WithX or WithoutX; an Option
// (WithTimeout) serves a container and a proxy, a NameOption (WithName) a
// container and Install. The zero rule holds for every one: an option you
// do not pass leaves its default, which its doc states; an option you pass
// sets exactly the value given; a value outside its range (a zero timeout,
// a zero or negative size or queue, a negative grace, a method name the
// service does not have) is an error from NewContainer, from Install, or
// from every call of the proxy, never a silent default. Where zero is a
// meaningful value it is in range: WithBusyPoll(0) polls not at all,
// WithStopGrace(0) gives no grace.
//
// # Errors
//
// A method's error reaches the caller as a *RemoteError (ERROR on the wire)
// when it matches one the method declared with WithRaises; any other error,
// and any panic, is logged with the request's trace id and becomes a NACK,
// which the caller sees as ErrNack. Calls that get no reply in time fail
// with ErrTimeout, calls whose context is cancelled with ErrCancelled;
// calls that cannot be sent with ErrNotConnected or ErrLookupFailure.
//
// # Wire values
//
// Arguments and results travel as msgpack: strings as str, []byte as bin.
// lymph's extension values map to time.Time (datetime), Date, TimeOfDay,
// Decimal, uuid.UUID (github.com/google/uuid) and Set, and a nested
// document (msgpack extension 101) to Nested; decoded into `any`, they come
// back as these types. lymph's forms stay lymph's: nothing is registered
// with github.com/vmihailenco/msgpack, so other users of it in the same
// binary keep its own encoding of time.Time, uuid.UUID and maps.
package lymph
