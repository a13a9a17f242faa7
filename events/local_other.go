//go:build !linux

package events

import (
	"errors"
	"log/slog"
)

func parseLocal(rest string) (string, error) { return rest, nil }

func newLocal(dir string, log *slog.Logger) (Backend, error) {
	return nil, errors.New("events: local: needs Linux (inotify, flock); use memory: or amqp://")
}
