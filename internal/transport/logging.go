package transport

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// rateLog logs at most one record per key per interval, so that a hostile
// or broken peer cannot flood the log; the next record carries the number
// of records suppressed in between. Keys are a small fixed set (drop
// reasons), never peer-controlled text.
type rateLog struct {
	log      *slog.Logger
	interval time.Duration

	mu   sync.Mutex
	keys map[string]*rateKey
}

type rateKey struct {
	next       time.Time
	suppressed int
}

func newRateLog(log *slog.Logger, interval time.Duration) *rateLog {
	return &rateLog{log: log, interval: interval, keys: make(map[string]*rateKey)}
}

// warn logs msg with attrs at warning level unless key was logged less than
// interval ago.
func (r *rateLog) warn(key, msg string, attrs ...slog.Attr) {
	now := time.Now()
	r.mu.Lock()
	k := r.keys[key]
	if k == nil {
		k = &rateKey{}
		r.keys[key] = k
	}
	if now.Before(k.next) {
		k.suppressed++
		r.mu.Unlock()
		return
	}
	suppressed := k.suppressed
	k.suppressed = 0
	k.next = now.Add(r.interval)
	r.mu.Unlock()
	if suppressed > 0 {
		attrs = append(attrs, slog.Int("suppressed", suppressed))
	}
	r.log.LogAttrs(context.Background(), slog.LevelWarn, msg, attrs...)
}
