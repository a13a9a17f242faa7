package lymph

import "github.com/lymphgo/lymph/internal/codec"

// Go types for lymph's extension values, the ones Python's datetime, date,
// time, Decimal and set travel as. time.Time travels as a datetime and
// github.com/google/uuid's UUID as a UUID; decoded into `any`, those values
// come back as these types.
type (
	// Date is a calendar date, Python's datetime.date.
	Date = codec.Date
	// TimeOfDay is a wall-clock time without a date, Python's
	// datetime.time.
	TimeOfDay = codec.TimeOfDay
	// Decimal is a decimal number kept as its exact text, Python's
	// decimal.Decimal. Convert it with your decimal library of choice.
	Decimal = codec.Decimal
	// Set is a set of values, Python's set; its members travel as an
	// array.
	Set = codec.Set
)
