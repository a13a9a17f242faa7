package codec

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseDatetime(t *testing.T) {
	plus2 := time.FixedZone("", 7200)
	tests := []struct {
		in   string
		want time.Time
	}{
		{"2014-09-12T08:33:12", time.Date(2014, 9, 12, 8, 33, 12, 0, Naive)},
		{"2014-09-12T08:33:12+0200", time.Date(2014, 9, 12, 8, 33, 12, 0, plus2)},
		{"2014-09-12T08:33:12+02:00", time.Date(2014, 9, 12, 8, 33, 12, 0, plus2)},
		{"2014-09-12T08:33:12+02", time.Date(2014, 9, 12, 8, 33, 12, 0, plus2)},
		{"2014-09-12T08:33:12-0330", time.Date(2014, 9, 12, 8, 33, 12, 0, time.FixedZone("", -12600))},
		{"2014-09-12T08:33:12Z", time.Date(2014, 9, 12, 8, 33, 12, 0, time.UTC)},
		{"2014-09-12T08:33:12+0000", time.Date(2014, 9, 12, 8, 33, 12, 0, time.UTC)},
		{"2014-09-12T08:33:12.123456+0200", time.Date(2014, 9, 12, 8, 33, 12, 123456000, plus2)},
		{"2014-09-12T08:33:12.5", time.Date(2014, 9, 12, 8, 33, 12, 500000000, Naive)},
		{"2014-09-12T08:33:12.1234567891", time.Date(2014, 9, 12, 8, 33, 12, 123456789, Naive)},
		{"2014-09-12 08:33:12", time.Date(2014, 9, 12, 8, 33, 12, 0, Naive)},
		{"2024-02-29t23:59:59z", time.Date(2024, 2, 29, 23, 59, 59, 0, time.UTC)},
	}
	for _, tt := range tests {
		got, err := ParseDatetime(tt.in)
		require.NoError(t, err, tt.in)
		assert.True(t, tt.want.Equal(got), "%s: %v", tt.in, got)
		_, wantOff := tt.want.Zone()
		_, gotOff := got.Zone()
		assert.Equal(t, wantOff, gotOff, tt.in)
		assert.Equal(t, IsNaive(tt.want), IsNaive(got), "%s: naive without an offset, aware with one", tt.in)
	}
	for _, bad := range []string{
		"", "2014-09-12", "2014-09-12T08:33", "2014-09-12T08:33:1200", "2014-09-12T25:33:12",
		"2014-02-30T08:33:12", "2014-09-12X08:33:12", "2014-09-12T08:33:12+2400", "2014-09-12T08:33:12+02:0",
		"2014-09-12T08:33:12.", "2014-09-12T08:33:12 ", "2014-09-12T08:33:60", "0000-01-01T00:00:00",
		"２０14-09-12T08:33:12",
	} {
		_, err := ParseDatetime(bad)
		assert.Error(t, err, bad)
	}
}

func TestDatetimeText(t *testing.T) {
	tests := []struct {
		in   time.Time
		want string
	}{
		{time.Date(1, 1, 1, 0, 0, 0, 0, time.UTC), "0001-01-01T00:00:00+0000"},
		{time.Date(9999, 12, 31, 23, 59, 59, 999999999, time.UTC), "9999-12-31T23:59:59.999999+0000"},
		{time.Date(2014, 9, 12, 8, 33, 12, 999, time.UTC), "2014-09-12T08:33:12+0000"},
		{time.Date(2014, 9, 12, 8, 33, 12, 10000, time.FixedZone("", 5*3600+45*60)), "2014-09-12T08:33:12.000010+0545"},
		// A naive datetime is written without an offset.
		{time.Date(2014, 9, 12, 8, 33, 12, 0, Naive), "2014-09-12T08:33:12"},
		{time.Date(2014, 9, 12, 8, 33, 12, 1000, Naive), "2014-09-12T08:33:12.000001"},
		{time.Date(2014, 9, 12, 8, 33, 12, 0, time.FixedZone("naive", 0)), "2014-09-12T08:33:12+0000"}, // only Naive itself is naive
		// An offset with seconds cannot be written as ±hhmm: UTC instead.
		{time.Date(1880, 1, 1, 12, 0, 0, 0, time.FixedZone("LMT", 3208)), "1880-01-01T11:06:32+0000"},
	}
	for _, tt := range tests {
		got, err := appendWireDatetime(nil, tt.in)
		require.NoError(t, err)
		assert.Equal(t, tt.want, string(got))
	}
	_, err := appendWireDatetime(nil, time.Date(0, 12, 31, 0, 0, 0, 0, time.UTC))
	assert.Error(t, err)
}

func TestDate(t *testing.T) {
	d, err := ParseDate("2024-02-29")
	require.NoError(t, err)
	assert.Equal(t, Date{2024, time.February, 29}, d)
	assert.Equal(t, "2024-02-29", d.String())
	assert.Equal(t, d, DateOf(time.Date(2024, 2, 29, 23, 0, 0, 0, time.UTC)))
	assert.Equal(t, time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC), d.In(time.UTC))
	assert.True(t, Date{}.IsZero())
	assert.Equal(t, "12345-01-01", Date{12345, 1, 1}.String())

	for _, bad := range []string{"2023-02-29", "1900-02-29", "2024-13-01", "2024-00-10", "2024-01-32", "0000-01-01", "2024-1-01", "2024/01/01", "+024-01-01"} {
		_, err := ParseDate(bad)
		assert.Error(t, err, bad)
	}

	b, err := json.Marshal(d)
	require.NoError(t, err)
	assert.Equal(t, `"2024-02-29"`, string(b))
	var back Date
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, d, back)
	_, err = json.Marshal(Date{})
	assert.Error(t, err)
}

func TestTimeOfDay(t *testing.T) {
	tests := []struct {
		in   string
		want TimeOfDay
	}{
		{"08:33:12Z", TimeOfDay{Hour: 8, Minute: 33, Second: 12}},
		{"08:33:12", TimeOfDay{Hour: 8, Minute: 33, Second: 12}},
		{"23:59:59.25", TimeOfDay{Hour: 23, Minute: 59, Second: 59, Nanosecond: 250000000}},
		{"00:00:00.000001+02:00", TimeOfDay{Nanosecond: 1000}},
		{"12:00:00-0500", TimeOfDay{Hour: 12}},
	}
	for _, tt := range tests {
		got, err := ParseTimeOfDay(tt.in)
		require.NoError(t, err, tt.in)
		assert.Equal(t, tt.want, got, tt.in)
	}
	for _, bad := range []string{"", "24:00:00", "12:60:00", "12:00:60", "12:00", "12:00:00X", "1:00:00"} {
		_, err := ParseTimeOfDay(bad)
		assert.Error(t, err, bad)
	}
	assert.Equal(t, "08:33:12", TimeOfDay{Hour: 8, Minute: 33, Second: 12}.String())
	assert.Equal(t, "08:33:12.250000000", TimeOfDay{Hour: 8, Minute: 33, Second: 12, Nanosecond: 25e7}.String())
	assert.Equal(t, TimeOfDay{Hour: 8, Minute: 1, Second: 2, Nanosecond: 3}, TimeOfDayOf(time.Date(2000, 1, 1, 8, 1, 2, 3, time.UTC)))
	assert.Equal(t, time.Date(2024, 1, 31, 8, 1, 2, 0, time.UTC), TimeOfDay{Hour: 8, Minute: 1, Second: 2}.On(Date{2024, 1, 31}, time.UTC))

	b, err := json.Marshal(TimeOfDay{Hour: 1})
	require.NoError(t, err)
	assert.Equal(t, `"01:00:00"`, string(b))
	var back TimeOfDay
	require.NoError(t, json.Unmarshal(b, &back))
	assert.Equal(t, TimeOfDay{Hour: 1}, back)
}

func TestDecimal(t *testing.T) {
	for _, ok := range []string{
		"0", "-0", "+1", "3.1415", "2.50", ".5", "5.", "1E+3", "1e-7", "-1.5E10", "123456789012345678901234567890",
		"NaN", "nan", "-NaN", "NaN123", "sNaN", "-sNaN7", "Infinity", "-Infinity", "inf", "+Inf",
	} {
		d, err := ParseDecimal(ok)
		assert.NoError(t, err, ok)
		assert.Equal(t, ok, d.String())
	}
	for _, bad := range []string{
		"", "-", "+", ".", "e5", "1e", "1e+", "1.2.3", "12,5", "1_000", " 1", "1 ", "0x10", "Infinit", "NaNa", "--1", "1e5.0", "∞",
	} {
		_, err := ParseDecimal(bad)
		assert.Error(t, err, bad)
		assert.False(t, Decimal(bad).Valid(), bad)
	}
}
