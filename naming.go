package lymph

import "github.com/lymphgo/lymph/internal/codec"

// snakeCase turns a Go method name into lymph's wire name: DoAck -> do_ack,
// GetHTTPStatus -> get_http_status, Upper2 -> upper2. Untagged struct
// fields travel under the same rule (see internal/codec's fields).
func snakeCase(name string) string { return codec.SnakeCase(name) }
