package transport

import (
	"encoding/hex"
	"math/rand/v2"
)

// NewID returns a random UUID4 as 32 lowercase hex characters, the form
// lymph uses for message ids and trace ids.
//
// It draws from math/rand/v2's runtime generator (ChaCha8, seeded from the
// operating system, per thread) rather than crypto/rand: ids must be unique
// and unguessable enough to not collide, not secret, and this is called for
// every message, so it must not cost a system call.
func NewID() string {
	var u [16]byte
	a, b := rand.Uint64(), rand.Uint64()
	for i := range 8 {
		u[i] = byte(a >> (8 * i))
		u[8+i] = byte(b >> (8 * i))
	}
	u[6] = u[6]&0x0f | 0x40 // version 4
	u[8] = u[8]&0x3f | 0x80 // RFC 4122 variant
	var out [32]byte
	hex.Encode(out[:], u[:])
	return string(out[:])
}
