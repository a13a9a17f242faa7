package codec

import (
	"strings"
	"unicode"
)

// SnakeCase turns a Go name into lymph's wire name: DoAck -> do_ack,
// GetHTTPStatus -> get_http_status, Upper2 -> upper2. Method names become
// subjects by it, and untagged struct fields keys.
func SnakeCase(name string) string {
	runes := []rune(name)
	var b strings.Builder
	b.Grow(len(name) + 4)
	for i, r := range runes {
		if unicode.IsUpper(r) {
			// A word starts at an upper-case letter that follows a lower-case
			// letter or digit, or that ends an acronym (HTTPStatus: the S).
			if i > 0 {
				prev := runes[i-1]
				nextLower := i+1 < len(runes) && unicode.IsLower(runes[i+1])
				if unicode.IsLower(prev) || unicode.IsDigit(prev) || (unicode.IsUpper(prev) && nextLower) {
					b.WriteByte('_')
				}
			}
			b.WriteRune(unicode.ToLower(r))
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
