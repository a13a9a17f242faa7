package events

import (
	"errors"
	"log/slog"
)

func parseLocal(rest string) (string, error) { return rest, nil }

func newLocal(dir string, log *slog.Logger) (Backend, error) {
	return nil, errors.New("events: local: not implemented yet")
}
