package codec

import "fmt"

// Decimal is a decimal number kept as its text: lymph's "Decimal", Python's
// decimal.Decimal. It keeps every digit a Python peer sent (no rounding
// through float64); arithmetic is left to a decimal library of your choice.
//
// The text follows Python's Decimal syntax without whitespace or
// underscores: an optional sign, then digits with an optional point and an
// optional exponent ("-12.50", "1E+3", ".5"), or one of Infinity, Inf, NaN
// and sNaN (any letter case; NaN may carry diagnostic digits). Both encoding
// and decoding reject any other text, because Python's decimal.Decimal would
// fail on it and lose the whole message.
//
// The zero Decimal "" is no number; it is sent as nil and a nil is decoded
// into "", so an unset Decimal field reaches Python as None.
type Decimal string

// ParseDecimal checks that s is a decimal number as described at Decimal.
func ParseDecimal(s string) (Decimal, error) {
	if !validDecimal(s) {
		return "", fmt.Errorf("invalid decimal %q", s)
	}
	return Decimal(s), nil
}

// String returns the text of d.
func (d Decimal) String() string { return string(d) }

// Valid reports whether d is a decimal number as described at Decimal.
func (d Decimal) Valid() bool { return validDecimal(string(d)) }

// validDecimal implements Python's decimal string grammar (without the
// surrounding whitespace and the digit-grouping underscores it tolerates).
func validDecimal(s string) bool {
	i := 0
	if i < len(s) && (s[i] == '+' || s[i] == '-') {
		i++
	}
	if i < len(s) && !isDigit(s[i]) && s[i] != '.' {
		return validSpecial(s[i:])
	}
	intDigits := skipDigits(s, &i)
	fracDigits := 0
	if i < len(s) && s[i] == '.' {
		i++
		fracDigits = skipDigits(s, &i)
	}
	if intDigits+fracDigits == 0 {
		return false
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if skipDigits(s, &i) == 0 {
			return false
		}
	}
	return i == len(s)
}

// validSpecial accepts Infinity, Inf, NaN[digits] and sNaN[digits], in any
// letter case.
func validSpecial(s string) bool {
	switch {
	case equalFold(s, "infinity"), equalFold(s, "inf"):
		return true
	case len(s) >= 3 && equalFold(s[:3], "nan"):
		s = s[3:]
	case len(s) >= 4 && equalFold(s[:4], "snan"):
		s = s[4:]
	default:
		return false
	}
	i := 0
	skipDigits(s, &i)
	return i == len(s)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func skipDigits(s string, i *int) int {
	start := *i
	for *i < len(s) && isDigit(s[*i]) {
		*i++
	}
	return *i - start
}

// equalFold compares ASCII s with lower-case word, ignoring the case of s.
func equalFold(s, word string) bool {
	if len(s) != len(word) {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != word[i] {
			return false
		}
	}
	return true
}
