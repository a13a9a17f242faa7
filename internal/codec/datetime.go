package codec

import (
	"errors"
	"fmt"
	"time"
)

// This file holds lymph's three calendar values and their text forms:
// datetime (time.Time), date (Date) and time (TimeOfDay). Python's lymph
// writes them with strftime and reads datetime with iso8601.parse_date, date
// with strptime("%Y-%m-%d") and time with strptime("%H:%M:%SZ"); what we
// write must pass those readers, and what we read should accept anything a
// Python peer plausibly sends.

// Naive is the location of a datetime without a time zone: Python's naive
// datetime, which lymph sends without an offset (2014-09-12T08:33:12). A
// naive datetime decodes to a time.Time in Naive, whose clock reads the
// sender's wall time, and a time.Time in Naive encodes without an offset,
// so a naive datetime stays naive through Go and back. Naive has offset 0:
// Go's instant arithmetic (Equal, Before, Sub, Unix) treats such a time as if
// it were UTC, which is what Python does not do; compare naive times with
// naive ones. Make one with time.Date(..., codec.Naive) or t.In(codec.Naive)
// (the wall clock of t in UTC).
var Naive = time.FixedZone("naive", 0)

// IsNaive reports whether t is a naive datetime, one in Naive.
func IsNaive(t time.Time) bool { return t.Location() == Naive }

// Date is a calendar day without a time or zone: lymph's "date", Python's
// datetime.date. Its text form is YYYY-MM-DD.
//
// The zero Date (0000-00-00) is no valid day; it is sent as nil and a nil is
// decoded into a zero Date, so an unset Date field reaches Python as None.
type Date struct {
	Year  int        // 1 to 9999, the range of Python's datetime.date
	Month time.Month // 1 to 12
	Day   int        // 1 to the length of the month
}

// DateOf returns the day on which t falls, in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate parses the text form YYYY-MM-DD.
func ParseDate(s string) (Date, error) {
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	y, ok1 := digits(s[0:4])
	m, ok2 := digits(s[5:7])
	d, ok3 := digits(s[8:10])
	if !ok1 || !ok2 || !ok3 {
		return Date{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	date := Date{Year: y, Month: time.Month(m), Day: d}
	if !date.Valid() {
		return Date{}, fmt.Errorf("invalid date %q: no such day", s)
	}
	return date, nil
}

// String returns the text form YYYY-MM-DD.
func (d Date) String() string {
	if d.Year < 0 || d.Year > 9999 || d.Month < 0 || d.Month > 99 || d.Day < 0 || d.Day > 99 {
		return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day)
	}
	var buf [10]byte
	return string(d.appendText(buf[:0]))
}

// IsZero reports whether d is the zero Date, which encodes as nil.
func (d Date) IsZero() bool { return d == Date{} }

// Valid reports whether d is a day that Python's datetime.date can hold.
func (d Date) Valid() bool {
	return d.Year >= 1 && d.Year <= 9999 && d.Month >= 1 && d.Month <= 12 &&
		d.Day >= 1 && d.Day <= daysIn(d.Month, d.Year)
}

// In returns midnight at the start of d in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// MarshalText implements encoding.TextMarshaler, for JSON and logs.
func (d Date) MarshalText() ([]byte, error) {
	if !d.Valid() {
		return nil, &ValueError{Type: dateType, Msg: "invalid date " + d.String()}
	}
	return d.appendText(nil), nil
}

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Date) UnmarshalText(text []byte) error {
	date, err := ParseDate(string(text))
	if err != nil {
		return err
	}
	*d = date
	return nil
}

func (d Date) appendText(b []byte) []byte {
	b = append4(b, d.Year)
	b = append(b, '-')
	b = append2(b, int(d.Month))
	b = append(b, '-')
	return append2(b, d.Day)
}

// TimeOfDay is a wall-clock time without a date or zone: lymph's "time",
// Python's datetime.time. On the wire it is HH:MM:SSZ. Python's lymph reads
// it with strptime("%H:%M:%SZ"), which accepts no fraction, so Nanosecond is
// dropped when encoding; decoding accepts a fraction and ignores a zone.
type TimeOfDay struct {
	Hour       int // 0 to 23
	Minute     int // 0 to 59
	Second     int // 0 to 59
	Nanosecond int // 0 to 999999999; not sent
}

// TimeOfDayOf returns the wall-clock time of t in t's own location.
func TimeOfDayOf(t time.Time) TimeOfDay {
	h, m, s := t.Clock()
	return TimeOfDay{Hour: h, Minute: m, Second: s, Nanosecond: t.Nanosecond()}
}

// ParseTimeOfDay parses HH:MM:SS with an optional fraction of a second and
// an optional zone (Z, ±hh:mm, ±hhmm or ±hh), which is checked and ignored.
func ParseTimeOfDay(s string) (TimeOfDay, error) {
	t, rest, err := parseClock(s)
	if err != nil {
		return TimeOfDay{}, fmt.Errorf("invalid time %q: %w", s, err)
	}
	if _, err := parseZone(rest); err != nil {
		return TimeOfDay{}, fmt.Errorf("invalid time %q: %w", s, err)
	}
	return t, nil
}

// String returns HH:MM:SS, with a fraction of up to nine digits when
// Nanosecond is not zero.
func (t TimeOfDay) String() string {
	if t.Hour < 0 || t.Hour > 99 || t.Minute < 0 || t.Minute > 99 || t.Second < 0 || t.Second > 99 ||
		t.Nanosecond < 0 || t.Nanosecond > 999999999 {
		return fmt.Sprintf("%02d:%02d:%02d.%d", t.Hour, t.Minute, t.Second, t.Nanosecond)
	}
	var buf [18]byte
	b := t.appendText(buf[:0])
	if t.Nanosecond != 0 {
		b = appendFraction(b, t.Nanosecond, 9)
	}
	return string(b)
}

// Valid reports whether every field of t is within its range.
func (t TimeOfDay) Valid() bool {
	return t.Hour >= 0 && t.Hour <= 23 && t.Minute >= 0 && t.Minute <= 59 &&
		t.Second >= 0 && t.Second <= 59 && t.Nanosecond >= 0 && t.Nanosecond <= 999999999
}

// On returns the instant at t on day d in loc.
func (t TimeOfDay) On(d Date, loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, t.Hour, t.Minute, t.Second, t.Nanosecond, loc)
}

// MarshalText implements encoding.TextMarshaler; it writes the String form.
func (t TimeOfDay) MarshalText() ([]byte, error) {
	if !t.Valid() {
		return nil, &ValueError{Type: timeOfDayType, Msg: "invalid time " + t.String()}
	}
	return []byte(t.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler; it accepts what
// ParseTimeOfDay accepts.
func (t *TimeOfDay) UnmarshalText(text []byte) error {
	v, err := ParseTimeOfDay(string(text))
	if err != nil {
		return err
	}
	*t = v
	return nil
}

// appendText writes HH:MM:SS.
func (t TimeOfDay) appendText(b []byte) []byte {
	b = append2(b, t.Hour)
	b = append(b, ':')
	b = append2(b, t.Minute)
	b = append(b, ':')
	return append2(b, t.Second)
}

// appendWireTime writes lymph's "time" text: HH:MM:SSZ.
func appendWireTime(b []byte, t TimeOfDay) ([]byte, error) {
	if !t.Valid() {
		return b, &ValueError{Type: timeOfDayType, Msg: "invalid time " + t.String()}
	}
	return append(t.appendText(b), 'Z'), nil
}

// appendWireDatetime writes lymph's "datetime" text for t:
// YYYY-MM-DDTHH:MM:SS[.ffffff]±hhmm, without the offset for a time in
// Naive. Python keeps microseconds, so finer digits are dropped; the
// fraction is written only when not zero, as Python's isoformat does. An
// offset with seconds (historic local mean times) cannot be written as
// ±hhmm, so such a time is written in UTC.
func appendWireDatetime(b []byte, t time.Time) ([]byte, error) {
	naive := IsNaive(t)
	_, off := t.Zone()
	if off%60 != 0 {
		t = t.UTC()
		off = 0
	}
	if y := t.Year(); y < 1 || y > 9999 {
		return b, &ValueError{Type: timeType, Msg: fmt.Sprintf("year %d is outside 1..9999", y)}
	}
	b = DateOf(t).appendText(b)
	b = append(b, 'T')
	b = TimeOfDayOf(t).appendText(b)
	if us := t.Nanosecond() / 1000; us != 0 {
		b = appendFraction(b, us, 6)
	}
	if naive {
		return b, nil
	}
	sign := byte('+')
	if off < 0 {
		sign = '-'
		off = -off
	}
	b = append(b, sign)
	b = append2(b, off/3600)
	return append2(b, off/60%60), nil
}

// ParseDatetime parses lymph's datetime text: YYYY-MM-DDTHH:MM:SS with an
// optional fraction of a second (up to nine digits are kept) and an optional
// zone (Z, ±hh:mm, ±hhmm or ±hh). A space or a lower-case t may stand for
// the T. A datetime without a zone (Python's naive datetime) is returned in
// Naive.
func ParseDatetime(s string) (time.Time, error) {
	if len(s) < 19 || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') {
		return time.Time{}, fmt.Errorf("invalid datetime %q: want YYYY-MM-DDTHH:MM:SS", s)
	}
	d, err := ParseDate(s[:10])
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid datetime %q: bad date", s)
	}
	c, rest, err := parseClock(s[11:])
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid datetime %q: %w", s, err)
	}
	if rest == "" {
		return c.On(d, Naive), nil
	}
	loc, err := parseZone(rest)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid datetime %q: %w", s, err)
	}
	return c.On(d, loc), nil
}

var errClock = errors.New("want HH:MM:SS")

// parseClock reads HH:MM:SS[.fraction] from the start of s and returns the
// rest.
func parseClock(s string) (TimeOfDay, string, error) {
	if len(s) < 8 || s[2] != ':' || s[5] != ':' {
		return TimeOfDay{}, "", errClock
	}
	h, ok1 := digits(s[0:2])
	m, ok2 := digits(s[3:5])
	sec, ok3 := digits(s[6:8])
	if !ok1 || !ok2 || !ok3 {
		return TimeOfDay{}, "", errClock
	}
	t := TimeOfDay{Hour: h, Minute: m, Second: sec}
	if !t.Valid() {
		return TimeOfDay{}, "", errors.New("clock out of range")
	}
	rest := s[8:]
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		i := 1
		scale := 100000000
		for ; i < len(rest) && rest[i] >= '0' && rest[i] <= '9'; i++ {
			t.Nanosecond += int(rest[i]-'0') * scale
			scale /= 10
		}
		if i == 1 {
			return TimeOfDay{}, "", errors.New("empty fraction of a second")
		}
		rest = rest[i:]
	}
	return t, rest, nil
}

// parseZone reads a whole zone designator: empty (UTC), Z, ±hh:mm, ±hhmm
// or ±hh.
func parseZone(s string) (*time.Location, error) {
	switch {
	case s == "" || s == "Z" || s == "z":
		return time.UTC, nil
	case s[0] != '+' && s[0] != '-':
		return nil, fmt.Errorf("unexpected %q after the time", s)
	}
	var hh, mm string
	switch len(s) {
	case 3:
		hh = s[1:3]
		mm = "00"
	case 5:
		hh, mm = s[1:3], s[3:5]
	case 6:
		if s[3] != ':' {
			return nil, fmt.Errorf("invalid zone offset %q", s)
		}
		hh, mm = s[1:3], s[4:6]
	default:
		return nil, fmt.Errorf("invalid zone offset %q", s)
	}
	h, ok1 := digits(hh)
	m, ok2 := digits(mm)
	if !ok1 || !ok2 || h > 23 || m > 59 {
		return nil, fmt.Errorf("invalid zone offset %q", s)
	}
	off := h*3600 + m*60
	if off == 0 {
		return time.UTC, nil
	}
	if s[0] == '-' {
		off = -off
	}
	return time.FixedZone("", off), nil
}

// digits parses a run of ASCII digits; ok is false for anything else.
func digits(s string) (n int, ok bool) {
	if s == "" {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return n, true
}

func daysIn(m time.Month, year int) int {
	switch m {
	case time.February:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case time.April, time.June, time.September, time.November:
		return 30
	}
	return 31
}

// append2 writes n (0..99) as two digits.
func append2(b []byte, n int) []byte {
	if n < 0 || n > 99 {
		n = 0 // only reached for invalid values, which callers reject
	}
	return append(b, byte('0'+n/10), byte('0'+n%10))
}

// append4 writes n (0..9999) as four digits.
func append4(b []byte, n int) []byte {
	if n < 0 || n > 9999 {
		n = 0 // only reached for invalid values, which callers reject
	}
	return append(b, byte('0'+n/1000), byte('0'+n/100%10), byte('0'+n/10%10), byte('0'+n%10))
}

// appendFraction writes '.' and n as exactly width digits.
func appendFraction(b []byte, n, width int) []byte {
	b = append(b, '.')
	start := len(b)
	for i := 0; i < width; i++ {
		b = append(b, '0')
	}
	for i := len(b) - 1; i >= start; i-- {
		b[i] = byte('0' + n%10)
		n /= 10
	}
	return b
}
