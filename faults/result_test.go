package main

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/lymphgo/lymph"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want string
	}{
		{lymph.ErrTimeout, kindTimeout},
		{fmt.Errorf("echo.echo: %w", lymph.ErrTimeout), kindTimeout},
		{context.DeadlineExceeded, kindTimeout},
		{fmt.Errorf("x: %w", lymph.ErrNack), kindNack},
		{fmt.Errorf("x: %w", lymph.ErrNotConnected), kindNotConn},
		{fmt.Errorf("x: %w", lymph.ErrLookupFailure), kindLookup},
		{lymph.ErrNotRunning, kindNotRunning},
		{&lymph.RemoteError{Type: "Nope"}, kindOther},
		{errors.New("boom"), kindOther},
	} {
		assert.Equal(t, tc.want, classify(tc.err), "%v", tc.err)
	}
}

func TestCheckReply(t *testing.T) {
	assert.Equal(t, "", checkReply("t1-1-7", "t1-1-7"))
	assert.Equal(t, kindWrong, checkReply("t1-1-7", "t1-1-8"), "another call's token")
	assert.Equal(t, kindWrong, checkReply("t1-1-7xx", "t1-1-7"), "a truncated reply")
	assert.Equal(t, kindWrong, checkReply("t1-1-7", ""))
}

func TestMerge(t *testing.T) {
	var total Result
	total.merge(&Result{Calls: 3, OK: 2, Kinds: map[string]int64{kindNack: 1}, Samples: map[string]string{kindNack: "first"},
		PerSecond: []int64{2}, StartNs: 5, Failures: []Failure{{Kind: kindNack}}})
	total.merge(&Result{Calls: 2, OK: 0, Kinds: map[string]int64{kindNack: 1, kindWrong: 1}, Samples: map[string]string{kindNack: "second"},
		PerSecond: []int64{9}, StartNs: 7, Failures: []Failure{{Kind: kindNack}, {Kind: kindWrong}}, Dropped: 4})
	assert.Equal(t, int64(5), total.Calls)
	assert.Equal(t, int64(2), total.OK)
	assert.Equal(t, int64(3), total.Failed())
	assert.Equal(t, map[string]int64{kindNack: 2, kindWrong: 1}, total.Kinds)
	assert.Equal(t, "first", total.Samples[kindNack])
	assert.Equal(t, []int64{2}, total.PerSecond, "the first timed driver's seconds")
	assert.Equal(t, int64(5), total.StartNs)
	assert.Len(t, total.Failures, 3)
	assert.Equal(t, int64(4), total.Dropped)
}
