package lymph

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestProxySubjectCache: subjects come out right whether cached or not,
// from many goroutines at once, and the cache stops growing at its bound.
func TestProxySubjectCache(t *testing.T) {
	p := &Proxy{iface: "svc"}
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Go(func() {
			for i := range 2 * maxCachedSubjects {
				method := fmt.Sprintf("m%d", (i+g*7)%(2*maxCachedSubjects))
				assert.Equal(t, "svc."+method, p.subject(method))
			}
		})
	}
	wg.Wait()
	for i := range 2 * maxCachedSubjects { // fill up what lost races left out
		p.subject(fmt.Sprintf("m%d", i))
	}
	assert.Len(t, *p.subjects.Load(), maxCachedSubjects)
	assert.Equal(t, "svc.m0", p.subject("m0"))
	assert.Equal(t, "svc.unseen", p.subject("unseen"), "beyond the bound, subjects are still built")

	q := p.Interface("other")
	assert.Equal(t, "other.m0", q.subject("m0"), "a derived proxy has its own subjects")
}
