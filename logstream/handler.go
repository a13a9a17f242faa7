package logstream

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/lymphgo/lymph"
)

// HandlerOptions configure a Handler.
type HandlerOptions struct {
	// Name is the logger name in each line (Python's %(name)s), e.g. the
	// service name; "lymph" when empty.
	Name string
	// Level is the lowest level published; slog.LevelDebug when nil, so
	// that lymph tail -l DEBUG sees everything (tail filters itself).
	Level slog.Leveler
}

// Handler is a slog.Handler that publishes each record on a Publisher as
// Python lymph's PubLogHandler does: topic the level name, then the
// endpoint, then the line
//
//	2024-01-31 12:30:15,123 [INFO] echo: started port=4000 - trace_id="0123…"
//
// (lymph's %(asctime)s [%(levelname)s] %(name)s: %(message)s -
// trace_id="%(trace_id)s"; the record's attributes follow the message as
// key=value, and a record outside any trace says trace_id="None", as
// lymph writes it). The trace id is the record's trace_id attribute, else
// the one of the context (lymph.TraceID). Combine it with your own handler
// with slog.NewMultiHandler.
type Handler struct {
	pub   *Publisher
	name  string
	level slog.Leveler
	attrs string // preformatted " key=value" of WithAttrs
	trace string // a trace_id given by WithAttrs
	group string // the group prefix for later attributes, "a.b."
}

// Handler returns a slog.Handler publishing on p.
func (p *Publisher) Handler(opts *HandlerOptions) *Handler {
	h := &Handler{pub: p, name: "lymph", level: slog.LevelDebug}
	if opts != nil {
		if opts.Name != "" {
			h.name = opts.Name
		}
		if opts.Level != nil {
			h.level = opts.Level
		}
	}
	return h
}

// Enabled reports whether records at l are published: at the handler's
// level or above, while anyone subscribes (so that a log call costs next to
// nothing while nobody tails).
func (h *Handler) Enabled(_ context.Context, l slog.Level) bool {
	return l >= h.level.Level() && h.pub.nsubs.Load() > 0
}

// LevelName is Python's name of a slog level: DEBUG, INFO, WARNING, ERROR,
// and CRITICAL from slog.LevelError+4 up.
func LevelName(l slog.Level) string {
	switch {
	case l < slog.LevelInfo:
		return "DEBUG"
	case l < slog.LevelWarn:
		return "INFO"
	case l < slog.LevelError:
		return "WARNING"
	case l < slog.LevelError+4:
		return "ERROR"
	}
	return "CRITICAL"
}

var bufPool = sync.Pool{New: func() any { return new(strings.Builder) }}

// Handle formats and publishes r.
func (h *Handler) Handle(ctx context.Context, r slog.Record) error {
	b := bufPool.Get().(*strings.Builder)
	defer func() { b.Reset(); bufPool.Put(b) }()
	level := LevelName(r.Level)
	t := r.Time
	if t.IsZero() {
		t = time.Now()
	}
	// Python's asctime: local time, milliseconds after a comma.
	fmt.Fprintf(b, "%s,%03d [%s] %s: %s", t.Format(time.DateTime), t.Nanosecond()/1e6, level, h.name, r.Message)
	b.WriteString(h.attrs)
	trace := h.trace
	r.Attrs(func(a slog.Attr) bool {
		if a.Key == "trace_id" && h.group == "" {
			trace = a.Value.String()
			return true
		}
		appendAttr(b, h.group, a)
		return true
	})
	if trace == "" {
		trace = lymph.TraceID(ctx)
	}
	if trace == "" {
		trace = "None"
	}
	b.WriteString(` - trace_id="` + trace + `"`)
	h.pub.Publish(level, b.String())
	return nil
}

// WithAttrs returns a handler that adds attrs to every record.
func (h *Handler) WithAttrs(attrs []slog.Attr) slog.Handler {
	h2 := *h
	var b strings.Builder
	b.WriteString(h.attrs)
	for _, a := range attrs {
		if a.Key == "trace_id" && h.group == "" {
			h2.trace = a.Value.String()
			continue
		}
		appendAttr(&b, h.group, a)
	}
	h2.attrs = b.String()
	return &h2
}

// WithGroup returns a handler that qualifies later attributes with name.
func (h *Handler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	h2 := *h
	h2.group = h.group + name + "."
	return &h2
}

// appendAttr writes " key=value", groups flattened to a.b=value, values
// quoted when they hold spaces or quotes, as slog's text handler does.
func appendAttr(b *strings.Builder, prefix string, a slog.Attr) {
	a.Value = a.Value.Resolve()
	if a.Equal(slog.Attr{}) {
		return
	}
	if a.Value.Kind() == slog.KindGroup {
		p := prefix
		if a.Key != "" {
			p += a.Key + "."
		}
		for _, g := range a.Value.Group() {
			appendAttr(b, p, g)
		}
		return
	}
	v := a.Value.String()
	if v == "" || strings.ContainsAny(v, " \t\n\"=") {
		v = fmt.Sprintf("%q", v)
	}
	b.WriteString(" " + prefix + a.Key + "=" + v)
}
