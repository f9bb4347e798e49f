package iwf

import (
	"fmt"
	"testing"
	"time"

	"github.com/mtciwf/mtciwf/diam/s6m"
	"github.com/mtciwf/mtciwf/diam/tsp"
)

func TestHSSCache(t *testing.T) {
	now := time.Unix(1_800_000_000, 0)
	port := uint32(9000)
	da := &tsp.DeviceAction{ExternalIdentifier: "meter-1@iot.example.com", TriggerData: &tsp.TriggerData{ApplicationPortIdentifier: &port}}
	k := hssKeyFor("scs1", "491719900001", da)
	sia := &s6m.SIA{}

	tests := []struct {
		name string
		key  hssKey
		at   time.Time
		hit  bool
	}{
		{"same UE, SCS and port before expiry", k, now.Add(59 * time.Second), true},
		{"at expiry", k, now.Add(time.Minute), false},
		{"other SCS entry", hssKeyFor("scs2", "491719900001", da), now, false},
		{"other SCS-Identity", hssKeyFor("scs1", "491719900002", da), now, false},
		{"no port", hssKeyFor("scs1", "491719900001", &tsp.DeviceAction{ExternalIdentifier: da.ExternalIdentifier}), now, false},
		{"other UE", hssKeyFor("scs1", "491719900001", &tsp.DeviceAction{ExternalIdentifier: "meter-2@iot.example.com", TriggerData: da.TriggerData}), now, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newHSSCache()
			c.put(k, hssEntry{sia: sia, status: tsp.StatusSuccess, expires: now.Add(time.Minute)}, now)
			e, ok := c.get(tt.key, tt.at)
			if ok != tt.hit || (ok && e.sia != sia) {
				t.Fatalf("get = %+v, %v; want hit %v", e, ok, tt.hit)
			}
		})
	}

	t.Run("purge", func(t *testing.T) {
		c := newHSSCache()
		c.put(k, hssEntry{sia: sia, expires: now.Add(time.Hour)}, now)
		c.purge()
		if _, ok := c.get(k, now); ok || c.len() != 0 {
			t.Fatal("entry survived purge")
		}
	})

	t.Run("bounded: expired entries go first, then arbitrary ones", func(t *testing.T) {
		c := newHSSCache()
		for i := range hssCacheMaxEntries {
			exp := now.Add(time.Hour)
			if i%2 == 0 {
				exp = now.Add(time.Second) // expired by the time the cache is full
			}
			c.put(hssKey{externalID: fmt.Sprint(i)}, hssEntry{expires: exp}, now)
		}
		later := now.Add(time.Minute)
		c.put(hssKey{externalID: "new"}, hssEntry{expires: later.Add(time.Hour)}, later)
		if n := c.len(); n != hssCacheMaxEntries/2+1 {
			t.Fatalf("%d entries after the sweep, want %d", n, hssCacheMaxEntries/2+1)
		}
		for i := 0; c.len() < hssCacheMaxEntries; i++ {
			c.put(hssKey{externalID: fmt.Sprint("fill", i)}, hssEntry{expires: later.Add(time.Hour)}, later)
		}
		c.put(hssKey{externalID: "one more"}, hssEntry{expires: later.Add(time.Hour)}, later)
		if n := c.len(); n != hssCacheMaxEntries {
			t.Fatalf("%d entries, want the bound %d", n, hssCacheMaxEntries)
		}
		if _, ok := c.get(hssKey{externalID: "one more"}, later); !ok {
			t.Fatal("the newest entry was evicted")
		}
	})

	t.Run("full of live answers: a miss does not scan the cache", func(t *testing.T) {
		c := newHSSCache()
		for i := range hssCacheMaxEntries {
			c.put(hssKey{externalID: fmt.Sprint(i)}, hssEntry{expires: now.Add(time.Hour + time.Duration(i))}, now)
		}
		for i := range 100 {
			c.put(hssKey{externalID: fmt.Sprint("new", i)}, hssEntry{expires: now.Add(2 * time.Hour)}, now.Add(time.Minute))
		}
		if c.len() != hssCacheMaxEntries || c.sweeps > 1 {
			t.Fatalf("%d entries after %d full scans, want %d after at most 1", c.len(), c.sweeps, hssCacheMaxEntries)
		}
		// Once the earliest answer has expired, the next miss sweeps again.
		c.put(hssKey{externalID: "late"}, hssEntry{expires: now.Add(3 * time.Hour)}, now.Add(time.Hour+time.Second))
		if c.sweeps != 2 || c.len() >= hssCacheMaxEntries {
			t.Fatalf("%d entries after %d full scans; the expired answers should have gone", c.len(), c.sweeps)
		}
		// A short-lived answer put later lowers the bound: it is swept too.
		d := newHSSCache()
		for i := range hssCacheMaxEntries {
			d.put(hssKey{externalID: fmt.Sprint(i)}, hssEntry{expires: now.Add(time.Hour)}, now)
		}
		d.put(hssKey{externalID: "first miss"}, hssEntry{expires: now.Add(time.Hour)}, now) // scans: nothing expires before now+1h
		d.put(hssKey{externalID: "short"}, hssEntry{expires: now.Add(time.Second)}, now)    // no scan
		d.put(hssKey{externalID: "after"}, hssEntry{expires: now.Add(time.Hour)}, now.Add(time.Minute))
		if _, ok := d.m[hssKey{externalID: "short"}]; ok || d.sweeps != 2 || d.len() != hssCacheMaxEntries {
			t.Fatalf("after %d full scans the expired short-lived answer is still there (%v), %d entries", d.sweeps, ok, d.len())
		}
	})
}
