package main

import (
	"bytes"
	"encoding"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/lymphgo/lymph"
	"github.com/lymphgo/lymph/internal/codec"
)

// isTerminal reports whether w is a terminal. Only an *os.File can be one;
// a character device is what a tty is (pipes and files are not).
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// useColor decides whether to colour w: --no-color and --color win, then
// NO_COLOR (https://no-color.org: set and not empty) and TERM=dumb turn it
// off, and otherwise only a terminal gets colours, so pipes stay plain.
func useColor(w io.Writer, force, disable bool) bool {
	switch {
	case disable:
		return false
	case force:
		return true
	case os.Getenv("NO_COLOR") != "", os.Getenv("TERM") == "dumb":
		return false
	}
	return isTerminal(w)
}

// ANSI colours: lymph's tool prints service and method names in red.
const (
	colName   = "31"   // red
	colKey    = "34"   // blue
	colString = "32"   // green
	colNumber = "36"   // cyan
	colConst  = "33"   // yellow: true, false, null
	colType   = "35"   // magenta: extension value tags
	colDim    = "2"    // faint: hints and headers
	colBold   = "1"    // labels
	colErr    = "1;31" // bold red
)

// printer writes a command's output, coloured or not.
type printer struct {
	w     io.Writer
	color bool
}

// paint wraps s in an ANSI colour when colours are on.
func (p *printer) paint(code, s string) string {
	if !p.color || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p *printer) printf(format string, args ...any) { fmt.Fprintf(p.w, format, args...) }
func (p *printer) println(args ...any)               { fmt.Fprintln(p.w, args...) }

// writeJSON prints v as indented JSON. HTML escaping is off: the output is
// read by people and jq, not embedded in pages.
func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(jsonValue(v))
}

// jsonValue turns a decoded msgpack value into one encoding/json can write
// without losing it: bytes become base64 text, lymph's extension values
// their canonical text, sets arrays, non-text map keys text, and floats
// JSON has no number for ("NaN", "+Inf", "-Inf") text.
func jsonValue(v any) any {
	switch x := v.(type) {
	case nil, bool, string, json.Number,
		int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		return x
	case float32:
		return jsonFloat(float64(x), 32)
	case float64:
		return jsonFloat(x, 64)
	case []byte:
		return base64.StdEncoding.EncodeToString(x)
	case codec.Raw:
		var inner any
		if err := codec.Unmarshal(x, &inner); err != nil {
			return base64.StdEncoding.EncodeToString(x)
		}
		return jsonValue(inner)
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case uuid.UUID:
		return x.String()
	case lymph.Set:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case lymph.Nested:
		return jsonValue(x.Value)
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonValue(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonValue(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[keyText(k)] = jsonValue(e)
		}
		return out
	case fmt.Stringer: // lymph.Date, TimeOfDay, Decimal
		return x.String()
	case encoding.TextMarshaler:
		if b, err := x.MarshalText(); err == nil {
			return string(b)
		}
	}
	// Whatever else (typed slices and maps, structs) goes through reflection
	// once, element by element.
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Slice, reflect.Array:
		out := make([]any, rv.Len())
		for i := range out {
			out[i] = jsonValue(rv.Index(i).Interface())
		}
		return out
	case reflect.Map:
		out := make(map[string]any, rv.Len())
		it := rv.MapRange()
		for it.Next() {
			out[keyText(it.Key().Interface())] = jsonValue(it.Value().Interface())
		}
		return out
	case reflect.Pointer:
		if rv.IsNil() {
			return nil
		}
		return jsonValue(rv.Elem().Interface())
	case reflect.Struct:
		return v // the CLI's own types, with json tags
	}
	return fmt.Sprint(v)
}

// jsonFloat writes a float as Python's json.dumps does (3.0, not 3), so
// that scripts see the float a Python service sent.
func jsonFloat(f float64, bits int) any {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "+Inf"
	case math.IsInf(f, -1):
		return "-Inf"
	}
	return json.Number(pyFloat(f, bits))
}

// pyFloat formats a float as Python's repr does: the shortest digits that
// read back as the same value, positional for exponents -4 to 15 and with
// ".0" when integral (3.0), else scientific with a signed exponent of at
// least two digits (1e+16, 1e-05). A float32 gets the shortest float32
// digits. NaN and the infinities stay Go's NaN, +Inf and -Inf.
func pyFloat(f float64, bits int) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return strconv.FormatFloat(f, 'g', -1, bits)
	}
	sci := strconv.FormatFloat(f, 'e', -1, bits) // d.ddde±XX
	mant, expText, _ := strings.Cut(sci, "e")
	exp, _ := strconv.Atoi(expText)
	if exp < -4 || exp >= 16 {
		return mant + "e" + expText
	}
	out := strconv.FormatFloat(f, 'f', -1, bits)
	if !strings.ContainsAny(out, ".") {
		out += ".0"
	}
	return out
}

// keyText is a map key as JSON object keys must be: text.
func keyText(k any) string {
	switch x := k.(type) {
	case string:
		return x
	case []byte:
		return string(x)
	}
	if s, ok := jsonValue(k).(string); ok {
		return s
	}
	b, err := json.Marshal(jsonValue(k))
	if err != nil {
		return fmt.Sprint(k)
	}
	return string(b)
}

// pretty renders a decoded reply for people: JSON's shape, indented, with
// map keys sorted, colours on a terminal, and lymph's extension values
// tagged as Python shows them (Decimal("1.10"), UUID("..."), b"bytes").
func (p *printer) pretty(v any) string {
	var b strings.Builder
	p.writePretty(&b, v, 0)
	return b.String()
}

func (p *printer) writePretty(b *strings.Builder, v any, depth int) {
	tagged := func(tag, text string) {
		b.WriteString(p.paint(colType, tag))
		b.WriteString("(" + p.paint(colString, strconv.Quote(text)) + ")")
	}
	switch x := v.(type) {
	case nil:
		b.WriteString(p.paint(colConst, "null"))
	case bool:
		b.WriteString(p.paint(colConst, strconv.FormatBool(x)))
	case string:
		b.WriteString(p.paint(colString, quoteJSON(x)))
	case json.Number:
		b.WriteString(p.paint(colNumber, x.String()))
	case int, int8, int16, int32, int64, uint, uint8, uint16, uint32, uint64:
		b.WriteString(p.paint(colNumber, fmt.Sprint(x)))
	case float32:
		b.WriteString(p.paint(colNumber, pyFloat(float64(x), 32)))
	case float64:
		b.WriteString(p.paint(colNumber, pyFloat(x, 64)))
	case []byte:
		b.WriteString(p.paint(colString, "b"+strconv.Quote(string(x))))
	case codec.Raw:
		var inner any
		if err := codec.Unmarshal(x, &inner); err != nil {
			b.WriteString(p.paint(colString, "b"+strconv.Quote(string(x))))
			return
		}
		p.writePretty(b, inner, depth)
	case time.Time:
		tagged("datetime", x.Format(time.RFC3339Nano))
	case uuid.UUID:
		tagged("UUID", x.String())
	case lymph.Date:
		tagged("date", x.String())
	case lymph.TimeOfDay:
		tagged("time", x.String())
	case lymph.Decimal:
		tagged("Decimal", x.String())
	case lymph.Nested:
		b.WriteString(p.paint(colType, "nested"))
		p.writePretty(b, x.Value, depth)
	case lymph.Set:
		b.WriteString(p.paint(colType, "set"))
		p.writeList(b, []any(x), depth)
	case []any:
		p.writeList(b, x, depth)
	case map[string]any:
		keys := make([]any, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		p.writeMap(b, keys, func(k any) any { return x[k.(string)] }, depth)
	case map[any]any:
		keys := make([]any, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		p.writeMap(b, keys, func(k any) any { return x[k] }, depth)
	default:
		// Anything else is shown as its JSON form.
		p.writePretty(b, jsonValue(v), depth)
	}
}

func (p *printer) writeList(b *strings.Builder, items []any, depth int) {
	if len(items) == 0 {
		b.WriteString("[]")
		return
	}
	b.WriteString("[\n")
	for i, e := range items {
		b.WriteString(strings.Repeat("  ", depth+1))
		p.writePretty(b, e, depth+1)
		if i < len(items)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(strings.Repeat("  ", depth) + "]")
}

func (p *printer) writeMap(b *strings.Builder, keys []any, value func(any) any, depth int) {
	if len(keys) == 0 {
		b.WriteString("{}")
		return
	}
	sort.Slice(keys, func(i, j int) bool { return keyText(keys[i]) < keyText(keys[j]) })
	b.WriteString("{\n")
	for i, k := range keys {
		b.WriteString(strings.Repeat("  ", depth+1))
		if s, ok := k.(string); ok {
			b.WriteString(p.paint(colKey, quoteJSON(s)))
		} else {
			p.writePretty(b, k, depth+1) // a non-text key is shown as the value it is
		}
		b.WriteString(": ")
		p.writePretty(b, value(k), depth+1)
		if i < len(keys)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString(strings.Repeat("  ", depth) + "}")
}

// quoteJSON quotes s as JSON does (not as Go does: no \x escapes), keeping
// non-ASCII text readable.
func quoteJSON(s string) string {
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

// wrapText is Python's textwrap.wrap, which lymph's inspect uses for help
// texts: words refilled to width; blank lines still separate paragraphs.
func wrapText(text string, width int) []string {
	var lines []string
	for i, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		if i > 0 {
			lines = append(lines, "")
		}
		line := ""
		for _, word := range strings.Fields(para) {
			switch {
			case line == "":
				line = word
			case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width:
				lines = append(lines, line)
				line = word
			default:
				line += " " + word
			}
		}
		if line != "" {
			lines = append(lines, line)
		}
	}
	return lines
}
