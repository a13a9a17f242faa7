package codec

import (
	"reflect"
	"time"
)

var (
	dateType      = reflect.TypeFor[Date]()
	timeOfDayType = reflect.TypeFor[TimeOfDay]()
	timeType      = reflect.TypeFor[time.Time]()
)

// ValueError reports a value lymph's wire cannot carry, such as a Date with
// month 13, a Decimal that is not a number, or a time.Time outside the
// years 1 to 9999 that Python allows.
type ValueError struct {
	Type reflect.Type
	Msg  string
}

// Error implements error.
func (e *ValueError) Error() string {
	if e.Type == nil {
		return "cannot encode: " + e.Msg
	}
	return "cannot encode " + e.Type.String() + ": " + e.Msg
}
