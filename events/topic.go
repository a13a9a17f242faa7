package events

import (
	"fmt"
	"strings"
)

// Match reports whether the event type matches the binding pattern with
// RabbitMQ's topic semantics, on every backend: words are separated by
// ".", "*" is exactly one word, "#" is zero or more words. So "foo.#"
// matches "foo", "foo.bar" and "foo.bar.baz", and "*" matches "a-b" (lymph's
// own LocalEventSystem differs on both; its docs promise RabbitMQ's rules).
func Match(pattern, eventType string) bool {
	return matchWords(strings.Split(pattern, "."), strings.Split(eventType, "."))
}

func matchWords(p, w []string) bool {
	for len(p) > 0 {
		switch p[0] {
		case "#":
			// Collapse runs of "#": they match what one does.
			for len(p) > 1 && p[1] == "#" {
				p = p[1:]
			}
			if len(p) == 1 {
				return true
			}
			for i := 0; i <= len(w); i++ {
				if matchWords(p[1:], w[i:]) {
					return true
				}
			}
			return false
		case "*":
			if len(w) == 0 {
				return false
			}
		default:
			if len(w) == 0 || w[0] != p[0] {
				return false
			}
		}
		p, w = p[1:], w[1:]
	}
	return len(w) == 0
}

// CheckPattern refuses binding patterns RabbitMQ would not take: empty or
// longer than 255 bytes.
func CheckPattern(p string) error {
	if p == "" || len(p) > 255 {
		return fmt.Errorf("events: bad binding pattern %q (1 to 255 bytes)", p)
	}
	return nil
}
