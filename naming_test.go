package lymph

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestSnakeCase(t *testing.T) {
	for in, want := range map[string]string{
		"Upper":          "upper",
		"DoAck":          "do_ack",
		"GetHTTPStatus":  "get_http_status",
		"HTTP":           "http",
		"Upper2":         "upper2",
		"ChangeLoglevel": "change_loglevel",
		"GetMetrics":     "get_metrics",
		"ID":             "id",
		"UserID":         "user_id",
		"V2Thing":        "v2_thing",
	} {
		assert.Equal(t, want, snakeCase(in), in)
	}
}
