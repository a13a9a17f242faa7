package lymph

import (
	"time"

	"github.com/lymphgo/lymph/internal/codec"
)

// Naive is the location of a datetime without a time zone, Python's naive
// datetime, which lymph sends without an offset. A naive datetime decodes to
// a time.Time in Naive (its clock reads the sender's wall time), and a
// time.Time in Naive is sent without an offset, so naive datetimes stay
// naive on a round trip through Go. Naive's offset is 0: Go's instant
// arithmetic treats such a time as UTC, where Python refuses to compare
// naive with aware datetimes; compare naive times with naive ones.
//
//	t := time.Date(2024, 1, 31, 12, 30, 0, 0, lymph.Naive) // "2024-01-31T12:30:00"
var Naive = codec.Naive

// IsNaive reports whether t is a naive datetime, one in Naive.
func IsNaive(t time.Time) bool { return codec.IsNaive(t) }
