package iwf

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// t0 is the tests' "now". Tests never read the wall clock for decisions.
var t0 = time.Date(2026, 3, 14, 15, 9, 26, 535897932, time.UTC)

// storeImpls are the implementations every contract test runs against.
var storeImpls = []struct {
	name string
	open func(t testing.TB) Store
}{
	{"memory", func(t testing.TB) Store {
		s := NewMemoryStore()
		t.Cleanup(func() { s.Close() })
		return s
	}},
	{"bolt", func(t testing.TB) Store { return openBolt(t, filepath.Join(t.TempDir(), "state", "triggers.db")) }},
}

func openBolt(t testing.TB, path string) *BoltStore {
	t.Helper()
	s, err := OpenBoltStore(path, BoltOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// newTrigger is an accepted trigger with every field set.
func newTrigger(scs string, ref uint32) *Trigger {
	return &Trigger{
		SCS:         scs,
		SCSRealm:    "scs.example.com",
		Reference:   ref,
		ExternalID:  fmt.Sprintf("dev%d@iot.example.com", ref),
		SCSIdentity: "491700000001",
		IMSI:        "001010000000123",
		SMEA:        "491700000001",
		SMSC:        "smsc1.core.example.net",
		AppPort:     0xC000 + ref%16,
		Priority:    1,
		AcceptedAt:  t0,
		ExpiresAt:   t0.Add(time.Hour),
		State:       TriggerAccepted,
	}
}

// reported turns tr into a Reported trigger due at next.
func reported(tr *Trigger, next time.Time) *Trigger {
	tr.State = TriggerReported
	tr.NextAttemptAt = next
	return tr
}

func mustCreate(t testing.TB, s Store, tr *Trigger) {
	t.Helper()
	if err := s.Create(context.Background(), tr); err != nil {
		t.Fatalf("Create %s/%d: %v", tr.SCS, tr.Reference, err)
	}
}

// checkSame fails unless got is want as it comes back from a store.
func checkSame(t testing.TB, want, got *Trigger) {
	t.Helper()
	if got == nil {
		t.Fatalf("got nil, want %s/%d", want.SCS, want.Reference)
	}
	if w, g := stored(want), stored(got); w != g {
		t.Fatalf("trigger differs:\n got  %+v\n want %+v", g, w)
	}
}

// refs lists the references of ts, in order.
func refs(ts []*Trigger) []uint32 {
	out := make([]uint32, len(ts))
	for i, tr := range ts {
		out[i] = tr.Reference
	}
	return out
}

func checkRefs(t testing.TB, what string, ts []*Trigger, err error, want ...uint32) {
	t.Helper()
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	if got := refs(ts); fmt.Sprint(got) != fmt.Sprint(want) && !(len(got) == 0 && len(want) == 0) {
		t.Fatalf("%s = %v, want %v", what, got, want)
	}
}

func checkOpen(t testing.TB, s Store, want int) {
	t.Helper()
	n, err := s.Open(context.Background())
	if err != nil || n != want {
		t.Fatalf("Open = %d, %v; want %d", n, err, want)
	}
}

// contractCases is the Store contract: every implementation passes all.
var contractCases = []struct {
	name string
	run  func(t *testing.T, s Store)
}{
	{"create and get", func(t *testing.T, s Store) {
		ctx := context.Background()
		tr := newTrigger("scs1.example.com", 42)
		tr.Revision = 7 // ignored: the store numbers revisions
		mustCreate(t, s, tr)
		if tr.Revision != 1 {
			t.Fatalf("Revision after Create = %d, want 1", tr.Revision)
		}
		got, err := s.Get(ctx, "scs1.example.com", 42)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, tr, got)
		checkOpen(t, s, 1)
	}},
	{"get what is not there", func(t *testing.T, s Store) {
		ctx := context.Background()
		mustCreate(t, s, newTrigger("scs1.example.com", 42))
		for _, k := range []struct {
			scs string
			ref uint32
		}{{"scs1.example.com", 43}, {"scs2.example.com", 42}, {"scs1.example.co", 42}, {"", 42}} {
			if _, err := s.Get(ctx, k.scs, k.ref); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get(%q, %d) = %v, want ErrNotFound", k.scs, k.ref, err)
			}
		}
	}},
	{"duplicates", func(t *testing.T, s Store) {
		mustCreate(t, s, newTrigger("scs1.example.com", 42))
		for _, c := range []struct {
			name string
			tr   *Trigger
			want error
		}{
			{"same SCS and reference", newTrigger("scs1.example.com", 42), ErrDuplicate},
			{"same SMEA and reference, other SCS", newTrigger("scs2.example.com", 42), ErrDuplicate},
			{"other SCS, other SMEA", func() *Trigger { tr := newTrigger("scs2.example.com", 42); tr.SMEA = "491700000002"; return tr }(), nil},
			{"same SCS, other reference", newTrigger("scs1.example.com", 43), nil},
			{"no SMEA is never a duplicate SMEA", func() *Trigger { tr := newTrigger("scs3.example.com", 42); tr.SMEA = ""; return tr }(), nil},
		} {
			if err := s.Create(context.Background(), c.tr); !errors.Is(err, c.want) || (c.want == nil && err != nil) {
				t.Errorf("%s: Create = %v, want %v", c.name, err, c.want)
			}
		}
		checkOpen(t, s, 4)
	}},
	{"BySMEA", func(t *testing.T, s Store) {
		ctx := context.Background()
		a := newTrigger("scs1.example.com", 42)
		b := newTrigger("scs1.example.com", 43)
		b.SMEA = "491700000002"
		c := newTrigger("scs1.example.com", 44)
		c.SMEA = ""
		for _, tr := range []*Trigger{a, b, c} {
			mustCreate(t, s, tr)
		}
		got, err := s.BySMEA(ctx, "491700000001", 42)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, a, got)
		got, err = s.BySMEA(ctx, "491700000002", 43)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, b, got)
		for _, k := range []struct {
			smea string
			ref  uint32
		}{{"491700000001", 43}, {"491700000002", 42}, {"", 44}, {"49170000000", 42}} {
			if _, err := s.BySMEA(ctx, k.smea, k.ref); !errors.Is(err, ErrNotFound) {
				t.Errorf("BySMEA(%q, %d) = %v, want ErrNotFound", k.smea, k.ref, err)
			}
		}
	}},
	{"update", func(t *testing.T, s Store) {
		ctx := context.Background()
		tr := newTrigger("scs1.example.com", 42)
		mustCreate(t, s, tr)
		reported(tr, t0.Add(time.Minute))
		tr.Outcome = 2
		tr.ReportAttempts = 1
		tr.SMSC = "smsc2.core.example.net"
		if err := s.Update(ctx, tr); err != nil {
			t.Fatal(err)
		}
		if tr.Revision != 2 {
			t.Fatalf("Revision after Update = %d, want 2", tr.Revision)
		}
		got, err := s.Get(ctx, tr.SCS, tr.Reference)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, tr, got)
		got, err = s.BySMEA(ctx, tr.SMEA, tr.Reference)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, tr, got)
		checkOpen(t, s, 1)

		missing := newTrigger("scs1.example.com", 99)
		missing.Revision = 1
		if err := s.Update(ctx, missing); !errors.Is(err, ErrNotFound) {
			t.Errorf("Update of an unknown trigger = %v, want ErrNotFound", err)
		}
	}},
	{"update with a stale revision conflicts", func(t *testing.T, s Store) {
		// The expiry sweep and a DRR read the same Accepted trigger; the DRR
		// writes first. The sweep's EXPIRED must not overwrite the outcome.
		ctx := context.Background()
		mustCreate(t, s, newTrigger("scs1.example.com", 42))
		sweep, err := s.Get(ctx, "scs1.example.com", 42)
		if err != nil {
			t.Fatal(err)
		}
		drr, err := s.BySMEA(ctx, "491700000001", 42)
		if err != nil {
			t.Fatal(err)
		}
		drr.Outcome = 0
		if err := s.Update(ctx, reported(drr, t0)); err != nil {
			t.Fatal(err)
		}
		sweep.Outcome = 1
		if err := s.Update(ctx, reported(sweep, t0)); !errors.Is(err, ErrConflict) {
			t.Fatalf("stale Update = %v, want ErrConflict", err)
		}
		if sweep.Revision != 1 {
			t.Fatalf("refused Update changed Revision to %d", sweep.Revision)
		}
		got, err := s.Get(ctx, "scs1.example.com", 42)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, drr, got)
	}},
	{"update moves the SMEA index", func(t *testing.T, s Store) {
		ctx := context.Background()
		a := newTrigger("scs1.example.com", 42)
		b := newTrigger("scs2.example.com", 42)
		b.SMEA = "491700000002"
		mustCreate(t, s, a)
		mustCreate(t, s, b)
		a.SMEA = "491700000003"
		if err := s.Update(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BySMEA(ctx, "491700000001", 42); !errors.Is(err, ErrNotFound) {
			t.Errorf("old SMEA still finds the trigger: %v", err)
		}
		if got, err := s.BySMEA(ctx, "491700000003", 42); err != nil {
			t.Error(err)
		} else {
			checkSame(t, a, got)
		}
		a.SMEA = "491700000002" // b's
		if err := s.Update(ctx, a); !errors.Is(err, ErrDuplicate) {
			t.Errorf("Update onto another trigger's SMEA = %v, want ErrDuplicate", err)
		}
		a.SMEA = ""
		if err := s.Update(ctx, a); err != nil {
			t.Fatal(err)
		}
		if _, err := s.BySMEA(ctx, "491700000003", 42); !errors.Is(err, ErrNotFound) {
			t.Errorf("dropped SMEA still finds the trigger: %v", err)
		}
		if got, err := s.BySMEA(ctx, "491700000002", 42); err != nil {
			t.Error(err)
		} else {
			checkSame(t, b, got)
		}
	}},
	{"close trigger", func(t *testing.T, s Store) {
		ctx := context.Background()
		a := newTrigger("scs1.example.com", 42)
		b := reported(newTrigger("scs1.example.com", 43), time.Time{})
		b.SMEA = "491700000002"
		mustCreate(t, s, a)
		mustCreate(t, s, b)
		for _, tr := range []*Trigger{a, b} {
			if err := s.CloseTrigger(ctx, tr.SCS, tr.Reference); err != nil {
				t.Fatal(err)
			}
			if _, err := s.Get(ctx, tr.SCS, tr.Reference); !errors.Is(err, ErrNotFound) {
				t.Errorf("Get after close = %v, want ErrNotFound", err)
			}
			if _, err := s.BySMEA(ctx, tr.SMEA, tr.Reference); !errors.Is(err, ErrNotFound) {
				t.Errorf("BySMEA after close = %v, want ErrNotFound", err)
			}
			if err := s.CloseTrigger(ctx, tr.SCS, tr.Reference); !errors.Is(err, ErrNotFound) {
				t.Errorf("second close = %v, want ErrNotFound", err)
			}
			if err := s.Update(ctx, tr); !errors.Is(err, ErrNotFound) {
				t.Errorf("Update after close = %v, want ErrNotFound", err)
			}
		}
		checkOpen(t, s, 0)
		ts, err := s.Pending(ctx, t0.Add(24*time.Hour), 10)
		checkRefs(t, "Pending after close", ts, err)
		ts, err = s.Expired(ctx, t0.Add(24*time.Hour), 10)
		checkRefs(t, "Expired after close", ts, err)

		// The SCS may use the reference again once it is closed.
		again := newTrigger("scs1.example.com", 42)
		mustCreate(t, s, again)
		checkOpen(t, s, 1)
	}},
	{"pending: order, boundary, limit and backoff", func(t *testing.T, s Store) {
		ctx := context.Background()
		// ref: due at (minutes after t0); Accepted ones are never pending.
		for _, c := range []struct {
			scs  string
			ref  uint32
			due  int // minutes after t0; -1 = zero time ("due now")
			acc  bool
			smea string
		}{
			{"scs1.example.com", 1, 5, false, "1"},
			{"scs1.example.com", 2, 0, false, "2"},
			{"scs2.example.com", 3, 0, false, "3"}, // tie with 2: trigger key breaks it
			{"scs1.example.com", 4, -1, false, "4"},
			{"scs1.example.com", 5, 10, false, "5"},
			{"scs1.example.com", 6, 0, true, "6"},
			{"scs0.example.com", 7, 0, false, "7"}, // tie with 2 and 3, sorts first by SCS
		} {
			tr := newTrigger(c.scs, c.ref)
			tr.SMEA = c.smea
			if !c.acc {
				next := time.Time{}
				if c.due >= 0 {
					next = t0.Add(time.Duration(c.due) * time.Minute)
				}
				reported(tr, next)
			}
			mustCreate(t, s, tr)
		}
		ts, err := s.Pending(ctx, t0.Add(-time.Minute), 10)
		checkRefs(t, "Pending(t0-1m)", ts, err, 4)
		ts, err = s.Pending(ctx, t0, 10)
		checkRefs(t, "Pending(t0)", ts, err, 4, 7, 2, 3)
		ts, err = s.Pending(ctx, t0, 2)
		checkRefs(t, "Pending(t0, limit 2)", ts, err, 4, 7)
		ts, err = s.Pending(ctx, t0.Add(5*time.Minute), 10)
		checkRefs(t, "Pending(t0+5m)", ts, err, 4, 7, 2, 3, 1)
		ts, err = s.Pending(ctx, t0.Add(5*time.Minute-1), 10)
		checkRefs(t, "Pending(t0+5m-1ns)", ts, err, 4, 7, 2, 3)

		// The outbox could not reach scs0: back it off by two minutes.
		p := ts[1]
		p.ReportAttempts++
		p.NextAttemptAt = t0.Add(2 * time.Minute)
		if err := s.Update(ctx, p); err != nil {
			t.Fatal(err)
		}
		ts, err = s.Pending(ctx, t0, 10)
		checkRefs(t, "Pending(t0) after backoff", ts, err, 4, 2, 3)
		ts, err = s.Pending(ctx, t0.Add(2*time.Minute), 10)
		checkRefs(t, "Pending(t0+2m) after backoff", ts, err, 4, 2, 3, 7)
		if ts[3].ReportAttempts != 1 {
			t.Errorf("ReportAttempts = %d, want 1", ts[3].ReportAttempts)
		}
		if _, err := s.Pending(ctx, t0, 0); err == nil {
			t.Error("Pending with limit 0: no error")
		}
	}},
	{"expired", func(t *testing.T, s Store) {
		ctx := context.Background()
		for _, c := range []struct {
			ref uint32
			exp int // minutes after t0; -1 = no expiry
			rep bool
		}{
			{1, 30, false},
			{2, 10, false},
			{3, 10, true}, // reported: its report is owed, it cannot expire
			{4, -1, false},
			{5, 20, false},
		} {
			tr := newTrigger("scs1.example.com", c.ref)
			tr.SMEA = strconv.Itoa(int(c.ref))
			tr.ExpiresAt = time.Time{}
			if c.exp >= 0 {
				tr.ExpiresAt = t0.Add(time.Duration(c.exp) * time.Minute)
			}
			if c.rep {
				reported(tr, t0)
			}
			mustCreate(t, s, tr)
		}
		ts, err := s.Expired(ctx, t0.Add(10*time.Minute), 10)
		checkRefs(t, "Expired(t0+10m)", ts, err) // strictly before
		ts, err = s.Expired(ctx, t0.Add(10*time.Minute+1), 10)
		checkRefs(t, "Expired(t0+10m+1ns)", ts, err, 2)
		ts, err = s.Expired(ctx, t0.Add(24*time.Hour), 10)
		checkRefs(t, "Expired(t0+24h)", ts, err, 2, 5, 1)
		ts, err = s.Expired(ctx, t0.Add(24*time.Hour), 1)
		checkRefs(t, "Expired(t0+24h, limit 1)", ts, err, 2)
		e := ts[0]
		ts, err = s.Expired(ctx, time.Time{}, 10)
		checkRefs(t, "Expired(zero time)", ts, err)

		// The sweep turns 2 into an EXPIRED report: it leaves Expired and
		// joins Pending.
		e.Outcome = 1
		if err := s.Update(ctx, reported(e, time.Time{})); err != nil {
			t.Fatal(err)
		}
		ts, err = s.Expired(ctx, t0.Add(24*time.Hour), 10)
		checkRefs(t, "Expired after the sweep", ts, err, 5, 1)
		ts, err = s.Pending(ctx, t0, 10)
		checkRefs(t, "Pending after the sweep", ts, err, 2, 3)
		if _, err := s.Expired(ctx, t0, -1); err == nil {
			t.Error("Expired with limit -1: no error")
		}
	}},
	{"returned triggers are copies", func(t *testing.T, s Store) {
		ctx := context.Background()
		tr := newTrigger("scs1.example.com", 42)
		mustCreate(t, s, tr)
		tr.IMSI = "changed after Create"
		got, err := s.Get(ctx, "scs1.example.com", 42)
		if err != nil {
			t.Fatal(err)
		}
		if got.IMSI != "001010000000123" {
			t.Fatalf("store shares memory with the Create argument: IMSI %q", got.IMSI)
		}
		got.State = TriggerReported
		again, err := s.Get(ctx, "scs1.example.com", 42)
		if err != nil {
			t.Fatal(err)
		}
		if again.State != TriggerAccepted {
			t.Fatal("store shares memory with a returned trigger")
		}
	}},
	{"times keep nanoseconds, lose the monotonic reading", func(t *testing.T, s Store) {
		ctx := context.Background()
		tr := newTrigger("scs1.example.com", 42)
		tr.AcceptedAt = time.Now() // has a monotonic reading
		tr.ExpiresAt = tr.AcceptedAt.Add(time.Nanosecond)
		mustCreate(t, s, tr)
		got, err := s.Get(ctx, "scs1.example.com", 42)
		if err != nil {
			t.Fatal(err)
		}
		if !got.AcceptedAt.Equal(tr.AcceptedAt) || got.ExpiresAt.Sub(got.AcceptedAt) != time.Nanosecond || !got.NextAttemptAt.IsZero() {
			t.Fatalf("times: got %v %v %v, want %v %v zero", got.AcceptedAt, got.ExpiresAt, got.NextAttemptAt, tr.AcceptedAt, tr.ExpiresAt)
		}
	}},
	{"invalid triggers are refused", func(t *testing.T, s Store) {
		ctx := context.Background()
		long := strings.Repeat("9", maxFieldLen+1)
		for _, c := range []struct {
			name string
			edit func(*Trigger)
		}{
			{"no SCS", func(tr *Trigger) { tr.SCS = "" }},
			{"no state", func(tr *Trigger) { tr.State = 0 }},
			{"closed", func(tr *Trigger) { tr.State = TriggerClosed }},
			{"unknown state", func(tr *Trigger) { tr.State = 9 }},
			{"negative attempts", func(tr *Trigger) { tr.ReportAttempts = -1 }},
			{"NUL in SCS", func(tr *Trigger) { tr.SCS = "scs\x00x" }},
			{"NUL in SMEA", func(tr *Trigger) { tr.SMEA = "49\x00" }},
			{"long IMSI", func(tr *Trigger) { tr.IMSI = long }},
			{"long SCS", func(tr *Trigger) { tr.SCS = long }},
		} {
			tr := newTrigger("scs1.example.com", 42)
			c.edit(tr)
			if err := s.Create(ctx, tr); err == nil {
				t.Errorf("%s: Create accepted it", c.name)
			}
		}
		if err := s.Create(ctx, nil); err == nil {
			t.Error("Create(nil) accepted it")
		}
		checkOpen(t, s, 0)
		tr := newTrigger("scs1.example.com", 42)
		mustCreate(t, s, tr)
		tr.State = TriggerClosed
		if err := s.Update(ctx, tr); err == nil {
			t.Error("Update to Closed accepted")
		}
	}},
	{"a done context stops before anything happens", func(t *testing.T, s Store) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		tr := newTrigger("scs1.example.com", 42)
		if err := s.Create(ctx, tr); !errors.Is(err, context.Canceled) {
			t.Errorf("Create = %v", err)
		}
		if _, err := s.Get(ctx, "scs1.example.com", 42); !errors.Is(err, context.Canceled) {
			t.Errorf("Get = %v", err)
		}
		if _, err := s.Pending(ctx, t0, 1); !errors.Is(err, context.Canceled) {
			t.Errorf("Pending = %v", err)
		}
		if err := s.CloseTrigger(ctx, "scs1.example.com", 42); !errors.Is(err, context.Canceled) {
			t.Errorf("CloseTrigger = %v", err)
		}
		checkOpen(t, s, 0)
	}},
	{"a closed store says so", func(t *testing.T, s Store) {
		ctx := context.Background()
		tr := newTrigger("scs1.example.com", 42)
		mustCreate(t, s, tr)
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Fatalf("second Close = %v", err)
		}
		if err := s.Create(ctx, newTrigger("scs1.example.com", 43)); !errors.Is(err, ErrClosed) {
			t.Errorf("Create = %v, want ErrClosed", err)
		}
		if err := s.Update(ctx, tr); !errors.Is(err, ErrClosed) {
			t.Errorf("Update = %v, want ErrClosed", err)
		}
		if _, err := s.Get(ctx, "scs1.example.com", 42); !errors.Is(err, ErrClosed) {
			t.Errorf("Get = %v, want ErrClosed", err)
		}
		if _, err := s.Expired(ctx, t0, 1); !errors.Is(err, ErrClosed) {
			t.Errorf("Expired = %v, want ErrClosed", err)
		}
		if _, err := s.Open(ctx); !errors.Is(err, ErrClosed) {
			t.Errorf("Open = %v, want ErrClosed", err)
		}
	}},
}

func TestStoreContract(t *testing.T) {
	for _, impl := range storeImpls {
		t.Run(impl.name, func(t *testing.T) {
			for _, c := range contractCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, impl.open(t)) })
			}
		})
	}
}

// TestStoreConcurrent runs the procedures' kinds of writes at once, under
// -race: many triggers created, reported and closed in parallel, and races
// that only one side may win.
func TestStoreConcurrent(t *testing.T) {
	const workers, perWorker = 8, 60
	for _, impl := range storeImpls {
		t.Run(impl.name, func(t *testing.T) {
			ctx := context.Background()
			s := impl.open(t)
			var wg sync.WaitGroup
			errs := make(chan error, workers)
			for w := range workers {
				wg.Go(func() {
					scs := fmt.Sprintf("scs%d.example.com", w)
					for i := range perWorker {
						tr := newTrigger(scs, uint32(i))
						tr.SMEA = fmt.Sprintf("4917%02d", w)
						if err := s.Create(ctx, tr); err != nil {
							errs <- err
							return
						}
						if i%2 == 0 {
							if err := s.Update(ctx, reported(tr, t0)); err != nil {
								errs <- err
								return
							}
						}
						if i%3 == 0 {
							if err := s.CloseTrigger(ctx, scs, uint32(i)); err != nil {
								errs <- err
								return
							}
						}
						if _, err := s.Pending(ctx, t0, 5); err != nil {
							errs <- err
							return
						}
					}
				})
			}
			wg.Wait()
			close(errs)
			for err := range errs {
				t.Fatal(err)
			}
			open := 0
			for i := range perWorker {
				if i%3 != 0 {
					open++
				}
			}
			checkOpen(t, s, workers*open)
			ts, err := s.Pending(ctx, t0, workers*perWorker)
			if err != nil {
				t.Fatal(err)
			}
			wantPending := 0
			for i := range perWorker {
				if i%2 == 0 && i%3 != 0 {
					wantPending++
				}
			}
			if len(ts) != workers*wantPending {
				t.Fatalf("Pending lists %d, want %d", len(ts), workers*wantPending)
			}

			// Ten creates of one trigger: one wins.
			var won atomic.Int32
			for range 10 {
				wg.Go(func() {
					switch err := s.Create(ctx, newTrigger("race.example.com", 1)); {
					case err == nil:
						won.Add(1)
					case !errors.Is(err, ErrDuplicate):
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 {
				t.Fatalf("%d concurrent Creates of one trigger succeeded, want 1", won.Load())
			}
			// Ten updates from the same read: one wins, the rest conflict.
			won.Store(0)
			base, err := s.Get(ctx, "race.example.com", 1)
			if err != nil {
				t.Fatal(err)
			}
			for i := range 10 {
				wg.Go(func() {
					tr := *base
					tr.Outcome = uint8(i)
					switch err := s.Update(ctx, reported(&tr, t0)); {
					case err == nil:
						won.Add(1)
					case !errors.Is(err, ErrConflict):
						t.Error(err)
					}
				})
			}
			wg.Wait()
			if won.Load() != 1 {
				t.Fatalf("%d concurrent Updates from one read succeeded, want 1", won.Load())
			}
		})
	}
}

func TestTriggerRecordRoundTrip(t *testing.T) {
	full := reported(newTrigger("scs1.example.com", 0xDEADBEEF), t0.Add(-time.Second))
	full.MSISDN = "491710000001"
	full.Outcome = 3
	full.ReportAttempts = 300
	full.AppPort = 0xFFFFFFFF
	full.Revision = 1 << 40
	for _, tr := range []*Trigger{full, {SCS: "s", State: TriggerAccepted}} {
		tk := triggerKey(tr.SCS, tr.Reference)
		got, err := decodeTrigger(tk, encodeTrigger(tr))
		if err != nil {
			t.Fatal(err)
		}
		if got.Revision != tr.Revision {
			t.Fatalf("Revision %d, want %d", got.Revision, tr.Revision)
		}
		checkSame(t, tr, got)
	}
}

// TestTriggerRecordDamage decodes every truncation and many corruptions of
// a valid record: an error or a trigger, never a panic.
func TestTriggerRecordDamage(t *testing.T) {
	tr := newTrigger("scs1.example.com", 42)
	tk := triggerKey(tr.SCS, tr.Reference)
	rec := encodeTrigger(tr)
	for n := range len(rec) {
		if _, err := decodeTrigger(tk, rec[:n]); err == nil {
			t.Errorf("record cut to %d of %d bytes decoded", n, len(rec))
		}
	}
	if _, err := decodeTrigger(tk, append(rec[:len(rec):len(rec)], 0)); err == nil {
		t.Error("record with a trailing byte decoded")
	}
	bad := append([]byte(nil), rec...)
	bad[0] = 2
	if _, err := decodeTrigger(tk, bad); err == nil || !strings.Contains(err.Error(), "version 2") {
		t.Errorf("unknown version: %v", err)
	}
	if _, err := decodeTrigger([]byte("short"), rec); err == nil {
		t.Error("malformed key decoded")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for range 20000 {
		b := append([]byte(nil), rec...)
		for range 1 + r.IntN(4) {
			b[r.IntN(len(b))] = byte(r.Uint32())
		}
		decodeTrigger(tk, b)
	}
}

func FuzzDecodeTrigger(f *testing.F) {
	tk := triggerKey("scs1.example.com", 42)
	f.Add(encodeTrigger(newTrigger("scs1.example.com", 42)))
	f.Add(encodeTrigger(reported(newTrigger("scs1.example.com", 42), t0)))
	f.Add([]byte{recordV1})
	f.Fuzz(func(t *testing.T, rec []byte) {
		tr, err := decodeTrigger(tk, rec)
		if err != nil {
			return
		}
		// Whatever decodes must survive its own round trip.
		again, err := decodeTrigger(tk, encodeTrigger(tr))
		if err != nil {
			t.Fatalf("re-encoded record does not decode: %v", err)
		}
		if stored(again) != stored(tr) {
			t.Fatalf("round trip changed the trigger:\n%+v\n%+v", tr, again)
		}
	})
}

// TestBoltReopen: everything written before Close is there after the next
// open, indexes included.
func TestBoltReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "triggers.db")
	s := openBolt(t, path)
	var want []*Trigger
	for i := range 50 {
		tr := newTrigger(fmt.Sprintf("scs%d.example.com", i%3), uint32(i))
		tr.SMEA = fmt.Sprint(i % 5)
		tr.ExpiresAt = t0.Add(time.Duration(i) * time.Minute)
		mustCreate(t, s, tr)
		switch i % 4 {
		case 0:
			if err := s.CloseTrigger(ctx, tr.SCS, tr.Reference); err != nil {
				t.Fatal(err)
			}
			continue
		case 1:
			tr.ReportAttempts = i
			if err := s.Update(ctx, reported(tr, t0.Add(time.Duration(-i)*time.Second))); err != nil {
				t.Fatal(err)
			}
		}
		want = append(want, tr)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = openBolt(t, path)
	checkOpen(t, s, len(want))
	var pending, expiring int
	for _, tr := range want {
		got, err := s.Get(ctx, tr.SCS, tr.Reference)
		if err != nil {
			t.Fatal(err)
		}
		checkSame(t, tr, got)
		if got, err = s.BySMEA(ctx, tr.SMEA, tr.Reference); err != nil {
			t.Fatal(err)
		}
		checkSame(t, tr, got)
		if tr.State == TriggerReported {
			pending++
		} else {
			expiring++
		}
	}
	ts, err := s.Pending(ctx, t0, 100)
	if err != nil || len(ts) != pending {
		t.Fatalf("Pending after reopen: %d, %v; want %d", len(ts), err, pending)
	}
	ts, err = s.Expired(ctx, t0.Add(24*time.Hour), 100)
	if err != nil || len(ts) != expiring {
		t.Fatalf("Expired after reopen: %d, %v; want %d", len(ts), err, expiring)
	}
	checkIntegrity(t, s)
}

// checkIntegrity runs bbolt's own consistency check over the file.
func checkIntegrity(t testing.TB, s *BoltStore) {
	t.Helper()
	if err := s.db.View(func(tx *bolt.Tx) error {
		for err := range tx.Check() {
			return err
		}
		return nil
	}); err != nil {
		t.Fatalf("bbolt check: %v", err)
	}
}

func TestBoltFileModes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "var", "mtciwf")
	path := filepath.Join(dir, "triggers.db")
	openBolt(t, path).Close()
	for _, c := range []struct {
		path string
		want os.FileMode
	}{{dir, 0o700}, {path, 0o600}} {
		fi, err := os.Stat(c.path)
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != c.want {
			t.Errorf("%s: mode %v, want %v", c.path, fi.Mode().Perm(), c.want)
		}
	}
	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if s, err := OpenBoltStore(path, BoltOptions{}); err == nil || !strings.Contains(err.Error(), "0600") {
		if s != nil {
			s.Close()
		}
		t.Fatalf("world-readable file opened: %v", err)
	}
	if _, err := OpenBoltStore(dir, BoltOptions{}); err == nil {
		t.Fatal("a directory opened as a store")
	}
	junk := filepath.Join(t.TempDir(), "junk.db")
	if err := os.WriteFile(junk, []byte("this is not a bbolt file, it is a text file of some length"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := OpenBoltStore(junk, BoltOptions{}); err == nil || !strings.Contains(err.Error(), junk) {
		t.Fatalf("junk file: %v", err)
	}
}

func TestBoltFormatVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "triggers.db")
	s := openBolt(t, path)
	if err := s.db.Update(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketMeta).Put(metaFormat, []byte{boltFormat + 1})
	}); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err := OpenBoltStore(path, BoltOptions{})
	if err == nil || !strings.Contains(err.Error(), "file format") {
		t.Fatalf("future format opened: %v", err)
	}
}

// TestBoltCorruptRecord: a record that does not decode is an error naming
// its key, never a panic, and does not hide the good records around it.
func TestBoltCorruptRecord(t *testing.T) {
	ctx := context.Background()
	s := openBolt(t, filepath.Join(t.TempDir(), "triggers.db"))
	for ref := range uint32(3) {
		tr := reported(newTrigger("scs1.example.com", ref), t0)
		tr.SMEA = fmt.Sprint(ref)
		mustCreate(t, s, tr)
	}
	for _, damage := range []struct {
		name string
		rec  []byte
		want string
	}{
		{"cut", encodeTrigger(newTrigger("scs1.example.com", 1))[:20], "truncated"},
		{"future version", []byte{9, 1, 2, 3}, "version 9"},
		{"empty", []byte{}, "empty"},
	} {
		t.Run(damage.name, func(t *testing.T) {
			if err := s.db.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketTriggers).Put(triggerKey("scs1.example.com", 1), damage.rec)
			}); err != nil {
				t.Fatal(err)
			}
			_, err := s.Get(ctx, "scs1.example.com", 1)
			var ce *CorruptError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), `triggers/"scs1.example.com"/1`) || !strings.Contains(err.Error(), damage.want) {
				t.Fatalf("Get = %v, want a CorruptError naming the key and %q", err, damage.want)
			}
			if _, err := s.BySMEA(ctx, "1", 1); !errors.As(err, &ce) {
				t.Fatalf("BySMEA = %v, want a CorruptError", err)
			}
			ts, err := s.Pending(ctx, t0, 10)
			if !errors.As(err, &ce) {
				t.Fatalf("Pending error = %v, want a CorruptError", err)
			}
			if fmt.Sprint(refs(ts)) != "[0 2]" {
				t.Fatalf("Pending lists %v beside the bad record, want [0 2]", refs(ts))
			}
			tr := newTrigger("scs1.example.com", 1)
			tr.Revision = 1
			if err := s.Update(ctx, tr); !errors.As(err, &ce) {
				t.Fatalf("Update = %v, want a CorruptError", err)
			}
		})
	}
	// Closing the bad record removes it; its index entries are skipped.
	if err := s.CloseTrigger(ctx, "scs1.example.com", 1); err != nil {
		t.Fatal(err)
	}
	ts, err := s.Pending(ctx, t0, 10)
	checkRefs(t, "Pending after closing the bad record", ts, err, 0, 2)
	if _, err := s.BySMEA(ctx, "1", 1); !errors.Is(err, ErrNotFound) {
		t.Fatalf("BySMEA after closing = %v, want ErrNotFound", err)
	}
	checkOpen(t, s, 2)
}

// The kill -9 and lock tests re-run this test binary as a child process;
// storeChildEnv tells it which part to play.
const (
	storeChildEnv      = "MTCIWF_STORE_CHILD"
	storeChildPathEnv  = "MTCIWF_STORE_PATH"
	storeChildRoundEnv = "MTCIWF_STORE_ROUND" // the writer's references start at round × 1,000,000
)

// TestBoltStoreChild is the child's side; it does nothing in a normal run.
func TestBoltStoreChild(t *testing.T) {
	path := os.Getenv(storeChildPathEnv)
	switch os.Getenv(storeChildEnv) {
	case "":
		t.Skip("runs only as the child of TestBoltSurvivesKill9 or TestBoltSecondProcess")
	case "writer":
		killChildWriter(path)
	case "opener":
		s, err := OpenBoltStore(path, BoltOptions{LockTimeout: 50 * time.Millisecond})
		if err == nil {
			s.Close()
			fmt.Println("RESULT opened")
			return
		}
		fmt.Printf("RESULT locked=%v %v\n", errors.Is(err, ErrLocked), err)
	}
}

// killChildWriter creates, reports and closes triggers from several
// goroutines and prints one line after each write returned, until it is
// killed. It stops by itself after a bounded number of writes.
func killChildWriter(path string) {
	s, err := OpenBoltStore(path, BoltOptions{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	ctx := context.Background()
	round, _ := strconv.Atoi(os.Getenv(storeChildRoundEnv))
	base := uint32(round) * 1_000_000
	var (
		next atomic.Uint32
		out  sync.Mutex
		wg   sync.WaitGroup
	)
	say := func(what string, ref uint32) {
		out.Lock()
		defer out.Unlock()
		fmt.Printf("%s %d\n", what, ref)
	}
	for range 16 {
		wg.Go(func() {
			for {
				ref := base + next.Add(1)
				if ref > base+20000 {
					return
				}
				tr := newTrigger("scs1.example.com", ref)
				tr.SMEA = strconv.Itoa(int(ref))
				if err := s.Create(ctx, tr); err != nil {
					say("ERROR "+err.Error(), ref)
					return
				}
				say("created", ref)
				switch ref % 3 {
				case 0:
					if err := s.CloseTrigger(ctx, tr.SCS, ref); err != nil {
						say("ERROR "+err.Error(), ref)
						return
					}
					say("closed", ref)
				case 1:
					tr.Outcome = 2
					if err := s.Update(ctx, reported(tr, t0)); err != nil {
						say("ERROR "+err.Error(), ref)
						return
					}
					say("reported", ref)
				}
			}
		})
	}
	wg.Wait()
	say("done", 0)
	time.Sleep(time.Minute) // wait for the kill, but not forever
	os.Exit(3)
}

// startChild runs this test binary as a child playing role.
func startChild(t *testing.T, role, path string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	return runChildTest(t, "TestBoltStoreChild", append([]string{storeChildEnv + "=" + role, storeChildPathEnv + "=" + path}, env...)...)
}

// runChildTest runs only the test named test of this binary in a child
// process with env added, and returns it with a scanner of its stdout. The
// child is killed and waited for at cleanup.
func runChildTest(t *testing.T, test string, env ...string) (*exec.Cmd, *bufio.Scanner) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute) // a safety net, not an assertion
	t.Cleanup(cancel)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^"+test+"$", "-test.count=1")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return cmd, bufio.NewScanner(stdout)
}

// TestBoltSurvivesKill9: a child process writes triggers and is SIGKILLed
// mid-stream, three times over on the same file. Every write a child saw
// return is in the file afterwards, and the file is consistent.
func TestBoltSurvivesKill9(t *testing.T) {
	const killAfter = 600 // acknowledged writes before each kill
	path := filepath.Join(t.TempDir(), "triggers.db")
	acked := map[uint32]string{} // ref → last acknowledged step
	for round := range 3 {
		n := killChild(t, path, round, killAfter, acked)
		checkAcked(t, path, acked)
		t.Logf("round %d: child acknowledged %d writes before SIGKILL; all %d acknowledged triggers as they were", round, n, len(acked))
	}
}

// killChild runs one writer child on path, SIGKILLs it after killAfter
// acknowledged writes and records what it acknowledged in acked.
func killChild(t *testing.T, path string, round, killAfter int, acked map[uint32]string) int {
	t.Helper()
	cmd, lines := startChild(t, "writer", path, storeChildRoundEnv+"="+strconv.Itoa(round))
	n := 0
	for lines.Scan() {
		f := strings.Fields(lines.Text())
		if len(f) == 0 {
			continue
		}
		switch f[0] {
		case "created", "closed", "reported":
			ref, err := strconv.ParseUint(f[1], 10, 32)
			if err != nil {
				t.Fatalf("child said %q", lines.Text())
			}
			acked[uint32(ref)] = f[0]
			if n++; n == killAfter {
				if err := cmd.Process.Signal(os.Kill); err != nil {
					t.Fatal(err)
				}
			}
		case "ERROR":
			t.Fatalf("child: %s", lines.Text())
		case "done":
			t.Fatal("child finished every write before it was killed")
		}
	}
	err := cmd.Wait()
	if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != -1 {
		t.Fatalf("child did not die by the signal: %v", err)
	}
	if n < killAfter {
		t.Fatalf("child acknowledged only %d writes", n)
	}
	return n
}

// checkAcked opens the file a child was killed on and checks every write
// the child acknowledged.
func checkAcked(t *testing.T, path string, acked map[uint32]string) {
	t.Helper()
	ctx := context.Background()
	s := openBolt(t, path)
	defer s.Close()
	checkIntegrity(t, s)
	open := 0
	for ref, step := range acked {
		got, err := s.Get(ctx, "scs1.example.com", ref)
		switch {
		case step == "closed":
			if !errors.Is(err, ErrNotFound) {
				t.Errorf("ref %d: closed before the kill, Get = %v", ref, err)
			}
		case step == "reported":
			if err != nil || got.State != TriggerReported || got.Outcome != 2 {
				t.Errorf("ref %d: reported before the kill, Get = %+v, %v", ref, got, err)
			}
		case errors.Is(err, ErrNotFound) && ref%3 == 0:
			// Its close was in flight at the kill and made it to disk.
		case err != nil:
			t.Errorf("ref %d: created before the kill, Get = %v", ref, err)
		default:
			want := newTrigger("scs1.example.com", ref)
			want.SMEA = strconv.Itoa(int(ref))
			if got.State == TriggerReported { // its update was in flight
				want.Outcome = 2
				reported(want, t0)
			}
			want.Revision = got.Revision
			checkSame(t, want, got)
		}
		if err == nil {
			open++
		}
	}
	// Writes in flight at the kill may have landed too, never fewer.
	if n, err := s.Open(ctx); err != nil || n < open {
		t.Fatalf("Open = %d, %v; at least %d acknowledged triggers are open", n, err, open)
	}
}

// TestBoltSecondProcess: a second process opening a file in use fails fast
// with ErrLocked instead of hanging; once the first lets go, it opens.
func TestBoltSecondProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "triggers.db")
	s := openBolt(t, path)

	result := func() string {
		cmd, lines := startChild(t, "opener", path)
		var res string
		for lines.Scan() {
			if r, ok := strings.CutPrefix(lines.Text(), "RESULT "); ok {
				res = r
			}
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("child: %v", err)
		}
		return res
	}
	if r := result(); !strings.HasPrefix(r, "locked=true") || !strings.Contains(r, path) {
		t.Fatalf("second process: %q, want ErrLocked naming the file", r)
	}
	// In this process too (flock is per open file, not per process).
	if _, err := OpenBoltStore(path, BoltOptions{LockTimeout: time.Millisecond}); !errors.Is(err, ErrLocked) {
		t.Fatalf("second open in-process: %v, want ErrLocked", err)
	}
	s.Close()
	if r := result(); r != "opened" {
		t.Fatalf("after Close, second process: %q", r)
	}
}

// TestBoltBatches: writes that queue while a commit is in progress share
// the next transaction, so one fsync. The test holds bbolt's writer lock so
// that the first batch cannot commit until every write is queued.
func TestBoltBatches(t *testing.T) {
	ctx := context.Background()
	s := openBolt(t, filepath.Join(t.TempDir(), "triggers.db"))
	var sizes []int
	var first atomic.Int64
	// Set before any write: the queue orders it before the committer reads it.
	s.onBatch = func(n int) {
		sizes = append(sizes, n) // only the committer goroutine calls it
		first.CompareAndSwap(0, int64(n))
	}

	const n = 200
	before := lastTxID(t, s)
	hold, err := s.db.Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			tr := newTrigger(fmt.Sprintf("scs%d.example.com", i), 1)
			tr.SMEA = strconv.Itoa(i)
			if err := s.Create(ctx, tr); err != nil {
				t.Error(err)
			}
		})
	}
	// The committer holds the first batch, blocked on the lock; wait until
	// every other write is queued behind it.
	for first.Load() == 0 || int(first.Load())+len(s.queue) < n {
		time.Sleep(time.Millisecond)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	checkOpen(t, s, n)
	if txs := lastTxID(t, s) - before; txs != 2 || len(sizes) != 2 {
		t.Fatalf("%d writes took %d transactions in batches %v, want 2", n, txs, sizes)
	}
	t.Logf("%d writes in batches of %v", n, sizes)
}

// lastTxID is the id of the last committed write transaction: the
// difference between two readings counts commits (and fsyncs).
func lastTxID(t testing.TB, s *BoltStore) int {
	var id int
	if err := s.db.View(func(tx *bolt.Tx) error { id = tx.ID(); return nil }); err != nil {
		t.Fatal(err)
	}
	return id
}

// TestBoltLinger: with Linger, writes that arrive one after another while
// the store is busy share a transaction instead of each taking its own
// commit (and two fdatasyncs); the first write after an idle period is not
// held back (it commits alone).
func TestBoltLinger(t *testing.T) {
	ctx := context.Background()
	s, err := OpenBoltStore(filepath.Join(t.TempDir(), "triggers.db"), BoltOptions{Linger: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	var sizes []int
	s.onBatch = func(n int) { sizes = append(sizes, n) } // only the committer goroutine calls it

	if err := s.Create(ctx, newTrigger("first.example.com", 1)); err != nil {
		t.Fatal(err)
	}
	// Sequential writes right after a commit: without Linger each would be
	// its own transaction; with it, they join the lingering batch until it
	// is full or the second has passed.
	before := lastTxID(t, s)
	const n = 20
	var wg sync.WaitGroup
	for i := range n {
		time.Sleep(time.Millisecond)
		wg.Go(func() {
			tr := newTrigger(fmt.Sprintf("scs%d.example.com", i), 1)
			tr.SMEA = strconv.Itoa(i)
			if err := s.Create(ctx, tr); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	checkOpen(t, s, n+1)
	if txs := lastTxID(t, s) - before; txs > 2 {
		t.Fatalf("%d sequential writes took %d transactions (batches %v), want at most 2 with Linger", n, txs, sizes)
	}
	if sizes[0] != 1 {
		t.Fatalf("the first write after idle waited for company: batches %v", sizes)
	}
}
