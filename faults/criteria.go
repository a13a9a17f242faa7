package main

import "fmt"

// check is one pass criterion of a scenario: the target, and the
// limit beyond which the target counts as missed by a wide margin and the
// scenario fails. A value between the two is a miss: printed, not failed.
type check struct {
	name          string
	value         float64
	target, limit float64
	higherBetter  bool   // e.g. throughput ratios: the value must reach the target
	unit          string // how value prints: "", "ms", "s", "MiB", "%"
	na            bool   // no value could be measured: fails
}

// verdict of a check.
type verdict int

const (
	pass verdict = iota
	miss         // target missed, within the limit
	fail         // limit crossed, or nothing measured
)

func (v verdict) String() string { return [...]string{"pass", "MISS", "FAIL"}[v] }

func (c check) verdict() verdict {
	if c.na {
		return fail
	}
	better := func(a, b float64) bool { // a at least as good as b
		if c.higherBetter {
			return a >= b
		}
		return a <= b
	}
	switch {
	case better(c.value, c.target):
		return pass
	case better(c.value, c.limit):
		return miss
	default:
		return fail
	}
}

// String reads like "p99 time to fail 1000ms (target ≤ 100ms, limit ≤ 500ms): FAIL".
func (c check) String() string {
	op := "≤"
	if c.higherBetter {
		op = "≥"
	}
	val := "n/a"
	if !c.na {
		val = num(c.value) + c.unit
	}
	return fmt.Sprintf("%s %s (target %s %s%s, limit %s %s%s): %s",
		c.name, val, op, num(c.target), c.unit, op, num(c.limit), c.unit, c.verdict())
}

func num(f float64) string {
	if f == float64(int64(f)) {
		return fmt.Sprintf("%d", int64(f))
	}
	return fmt.Sprintf("%.2f", f)
}

// worst is the worst verdict of a set of checks.
func worst(cs []check) verdict {
	w := pass
	for _, c := range cs {
		w = max(w, c.verdict())
	}
	return w
}

// exact is a check whose target and limit are the same: 0 wrong replies,
// 0 hung calls, 0 failed calls on a graceful restart.
func exact(name string, value, want float64) check {
	return check{name: name, value: value, target: want, limit: want}
}
