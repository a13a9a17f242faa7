// Package codec is lymph's msgpack: the one place that knows how Go values
// become message bodies and headers and back, so that Python lymph services
// understand them (PROTOCOL.md, "Bodies" and "Frames").
//
// # Encoding
//
// Marshal writes what Python's msgpack writes with use_bin_type=True and
// lymph's serializer in front of it:
//
//   - nil, nil pointers, nil slices and nil maps: nil
//   - bool: bool; integers: the smallest msgpack integer; float64: float 64;
//     float32: float 32
//   - string: str; []byte and [N]byte: bin
//   - slices and arrays: array
//   - maps: map, with string and number keys in sorted order so that the
//     same value always gives the same bytes
//   - structs: a map keyed by each field's msgpack tag name or Go name (see
//     below for the tag rules)
//   - time.Time: {"__type__": "datetime", "_": "2024-01-31T13:45:00+0100"},
//     with ".ffffff" microseconds after the seconds when they are not zero
//     (finer digits are dropped: Python has microseconds)
//   - Date, TimeOfDay, Decimal, uuid.UUID, Set: lymph's "date", "time",
//     "Decimal", "UUID" and "set" typed maps, "__type__" first
//   - Embedded: extension 101; Ext: its own extension; Raw: its bytes as they
//     are
//   - types with msgpack v5's EncodeMsgpack or MarshalMsgpack methods: what
//     those write; types with MarshalText: str
//
// Channels, functions and complex numbers cannot be encoded.
//
// msgpack's own timestamp extension (-1) is never written: Python's lymph
// would not read it. No process-wide registration is made to get this
// (msgpack v5's Register would change every msgpack user in the program):
// the package walks Go values itself and uses the msgpack format directly.
//
// # Decoding
//
// Unmarshal decodes into any Go value a pointer points to. Into an any it
// makes:
//
//   - str: string; bin: []byte; nil: nil; bool: bool
//   - integers: int64, or uint64 above math.MaxInt64; floats: float64
//   - arrays: []any
//   - maps: map[string]any when every key is str (or bin, as Python 2 peers
//     send text), else map[any]any; a key that cannot be a Go map key (an
//     array, a map) is an error
//   - lymph typed maps: time.Time, Date, TimeOfDay, Decimal, uuid.UUID, Set;
//     a datetime without an offset (Python's naive datetime) is taken as UTC;
//     a typed map with an unknown "__type__" stays a plain map
//   - extension 101: the nested document, decoded the same way, in place;
//     msgpack timestamps (extension -1): time.Time; other extensions: Ext
//
// Typed targets take what fits them: an int field takes any integer in
// range (and integral floats), a float field takes integers, a string takes
// str, bin, or the text of a lymph typed map (a Python UUID into a string
// field), a slice takes an array or a lymph set, time.Time, Date, TimeOfDay,
// Decimal and uuid.UUID take their typed map or their bare text. Nil sets
// the zero value. Struct keys that name no field are ignored (DecodeArgs
// is the strict one). A value that does not fit is a *TypeError saying
// where: "cannot decode str into int at .items[2].count".
//
// Decoding never panics on hostile input; it bounds nesting at 1000 levels
// and never allocates for a length the input cannot hold.
//
// # Struct tags
//
// Tags follow vmihailenco's msgpack: `msgpack:"name"` names the key,
// `msgpack:"-"` skips the field, `msgpack:",omitempty"` leaves out a zero
// value when encoding, embedded structs without a name are inlined
// (`msgpack:",noinline"` keeps one as a single field). `lymph:"optional"`
// marks a field that DecodeArgs may find missing.
//
// # Arguments and headers
//
// DecodeArgs decodes a REQ body of keyword arguments strictly, with errors
// meant for the caller (*ArgsError); ArgNames lists the parameters for
// lymph's inspect. AppendHeaders, MarshalHeaders and UnmarshalHeaders handle
// the header frame of every message.
package codec
