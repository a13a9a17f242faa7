package registry

import (
	"crypto/md5"
	"encoding/hex"
	"fmt"
	"strings"
	"unicode"
)

// Identity returns the identity of the instance listening at endpoint: the
// lowercase hex MD5 of the Python text ('<endpoint>',), as lymph computes it.
func Identity(endpoint string) string {
	return md5hex("(" + pyRepr(endpoint) + ",)")
}

// InstanceID returns lymph's id for the interface name of the instance with
// that identity: the MD5 of ('<identity>', '<name>', None) without a
// version, or of ('<identity>', '<name>', Version('1.2.0')) with one. The
// version is hashed in canonical semver form, as Python prints it.
func InstanceID(identity, name, version string) string {
	v := "None"
	if version != "" {
		if c, err := canonicalVersion(version); err == nil {
			version = c
		}
		v = "Version(" + pyRepr(version) + ")"
	}
	return md5hex("(" + pyRepr(identity) + ", " + pyRepr(name) + ", " + v + ")")
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// pyRepr is Python 3's repr() of a str, so that ids match lymph's for any
// text: single quotes unless the text holds a single quote and no double
// one, backslash escapes for the quote, backslash and control characters.
func pyRepr(s string) string {
	quote := '\''
	if strings.ContainsRune(s, '\'') && !strings.ContainsRune(s, '"') {
		quote = '"'
	}
	var b strings.Builder
	b.WriteRune(quote)
	for _, r := range s {
		switch {
		case r == quote || r == '\\':
			b.WriteRune('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == unicode.ReplacementChar:
			// Python would have failed to decode the text: keep going.
			b.WriteRune(r)
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0):
			fmt.Fprintf(&b, `\x%02x`, r)
		case r > 0x7f && !unicode.IsPrint(r) && r != ' ':
			if r <= 0xffff {
				fmt.Fprintf(&b, `\u%04x`, r)
			} else {
				fmt.Fprintf(&b, `\U%08x`, r)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteRune(quote)
	return b.String()
}
