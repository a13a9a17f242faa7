package bufpool

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestGetRoundsUpToAClass(t *testing.T) {
	for _, tc := range []struct{ n, cap int }{
		{1, Min},
		{Min, Min},
		{Min + 1, Min + Min/8},
		{64 << 10, 64 << 10},
		{64<<10 + 100, 72 << 10},
		{1 << 20, 1 << 20},
		{1<<20 + 1, 1<<20 + 1<<17},
		{Max, Max},
		{Max + 1, Max + 1}, // beyond the classes: exact, not pooled
	} {
		b := Get(tc.n)
		assert.Zero(t, len(b), "Get(%d)", tc.n)
		assert.Equal(t, tc.cap, cap(b), "Get(%d)", tc.n)
	}
}

func TestClassesAreDistinctAndTight(t *testing.T) {
	seen := map[int]int{}
	prev := 0
	for n := Min; n <= Max; n += 997 {
		i, size, ok := class(n)
		assert.True(t, ok)
		assert.GreaterOrEqual(t, size, n)
		assert.LessOrEqual(t, float64(size), float64(n)*1.125+1, "n=%d", n)
		assert.Less(t, i, len(pools))
		if other, dup := seen[i]; dup {
			assert.Equal(t, other, size, "index %d names two sizes", i)
		}
		seen[i] = size
		assert.GreaterOrEqual(t, size, prev, "classes grow with n")
		prev = size
	}
}

func TestPutKeepsOnlyClassBuffers(t *testing.T) {
	b := Get(100 << 10)
	Put(append(b, "reused"...))
	Put(make([]byte, 0, 100<<10+1)) // not a class's capacity: dropped
	got := Get(100 << 10)
	assert.Zero(t, len(got))
	assert.Equal(t, 104<<10, cap(got))
}

func TestConstantsAgree(t *testing.T) {
	assert.Equal(t, Min, 1<<minLog)
	assert.Equal(t, Max, 1<<maxLog)
	i, size, ok := class(Max)
	assert.True(t, ok)
	assert.Equal(t, Max, size)
	assert.Equal(t, len(pools)-1, i, "the last pool is Max's")
}
