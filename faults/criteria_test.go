package main

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestCheckVerdict(t *testing.T) {
	for _, tc := range []struct {
		c    check
		want verdict
	}{
		{exact("wrong replies", 0, 0), pass},
		{exact("wrong replies", 1, 0), fail},
		{check{value: 100, target: 100, limit: 500}, pass},
		{check{value: 300, target: 100, limit: 500}, miss},
		{check{value: 500, target: 100, limit: 500}, miss},
		{check{value: 1000, target: 100, limit: 500}, fail},
		{check{value: 70, target: 67, limit: 33, higherBetter: true}, pass},
		{check{value: 50, target: 67, limit: 33, higherBetter: true}, miss},
		{check{value: 0.3, target: 67, limit: 33, higherBetter: true}, fail},
		{check{value: 0, target: 100, limit: 500, na: true}, fail},
	} {
		assert.Equal(t, tc.want, tc.c.verdict(), "%+v", tc.c)
	}
}

func TestCheckString(t *testing.T) {
	c := check{name: "p99 time to fail", value: 1005.7, target: 100, limit: 500, unit: "ms"}
	assert.Equal(t, "p99 time to fail 1005.70ms (target ≤ 100ms, limit ≤ 500ms): FAIL", c.String())
	c = check{name: "worst second / normal", value: 80, target: 67, limit: 33, higherBetter: true, unit: "%"}
	assert.Equal(t, "worst second / normal 80% (target ≥ 67%, limit ≥ 33%): pass", c.String())
	c = check{name: "re-registration", target: 1, limit: 4, unit: "s", na: true}
	assert.Equal(t, "re-registration n/a (target ≤ 1s, limit ≤ 4s): FAIL", c.String())
}

func TestWorst(t *testing.T) {
	assert.Equal(t, pass, worst(nil))
	assert.Equal(t, miss, worst([]check{exact("a", 0, 0), {value: 2, target: 1, limit: 3}}))
	assert.Equal(t, fail, worst([]check{{value: 2, target: 1, limit: 3}, exact("hung", 1, 0)}))
}
