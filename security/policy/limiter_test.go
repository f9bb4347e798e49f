package policy

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// clock is a fake time source; tests move it, nothing sleeps.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock(s string) *clock {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return &clock{t: t}
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func limitsPolicy(t testing.TB, limits string) *Policy {
	t.Helper()
	return mustCompile(t, `scs:
  - id: a
    peers: [{origin_host: a.example, realm: example}]
    scs_identity: "1"
    limits: `+limits+`
    rules: [{allow: {msisdn_prefix: "49"}}]
  - id: b
    peers: [{origin_host: b.example, realm: example}]
    scs_identity: "2"
    limits: {rate: {per_second: 1, burst: 1}}
    rules: [{allow: {msisdn_prefix: "49"}}]
`)
}

func codes(t *testing.T, l *Limiter, p *Policy, id string, n int) string {
	t.Helper()
	var out []string
	for range n {
		d, err := l.Allow(context.Background(), p, id)
		if err != nil {
			t.Fatal(err)
		}
		if d.Allowed != (d.Code == OK) || d.Reason == "" || d.Rule == "" {
			t.Fatalf("inconsistent decision %+v", d)
		}
		out = append(out, d.Code.String())
	}
	return strings.Join(out, " ")
}

func TestRate(t *testing.T) {
	c := newClock("2026-11-27T10:00:00Z")
	p := limitsPolicy(t, `{rate: {per_second: 2, burst: 3}}`)
	l := NewLimiter(NewMemoryQuotaStore(), c.Now)
	if got, want := codes(t, l, p, "a", 4), "OK OK OK RateExceeded"; got != want {
		t.Fatalf("burst: %s, want %s", got, want)
	}
	c.Add(500 * time.Millisecond) // one token at 2/s
	if got, want := codes(t, l, p, "a", 2), "OK RateExceeded"; got != want {
		t.Fatalf("after 500ms: %s, want %s", got, want)
	}
	c.Add(10 * time.Second) // refills to the burst, no more
	if got, want := codes(t, l, p, "a", 4), "OK OK OK RateExceeded"; got != want {
		t.Fatalf("after 10s: %s, want %s", got, want)
	}
	// Buckets are per SCS.
	if got, want := codes(t, l, p, "b", 2), "OK RateExceeded"; got != want {
		t.Fatalf("scs b: %s, want %s", got, want)
	}
	d, _ := l.Allow(context.Background(), p, "a")
	if d.Rule != "a/limits.rate" || !strings.Contains(d.Reason, "rate of 2 requests per second (burst 3)") || d.Code.RequestStatus() != 109 {
		t.Errorf("rate refusal %+v", d)
	}
}

func TestQuotaWindows(t *testing.T) {
	c := newClock("2026-11-27T10:59:58Z")
	store := NewMemoryQuotaStore()
	p := limitsPolicy(t, `{quota: [{window: 24h, count: 4}, {window: 1h, count: 2}]}`)
	l := NewLimiter(store, c.Now)
	if got, want := codes(t, l, p, "a", 3), "OK OK QuotaExceeded"; got != want {
		t.Fatalf("hour 10: %s, want %s", got, want)
	}
	d, _ := l.Allow(context.Background(), p, "a")
	if d.Rule != "a/limits.quota 1h0m0s" || !strings.Contains(d.Reason, "quota of 2 requests per 1h0m0s; the window ends at 2026-11-27T11:00:00Z") || d.Code.RequestStatus() != 108 {
		t.Errorf("quota refusal %+v", d)
	}
	c.Add(2 * time.Second) // 11:00:00, a new hour window, the same day
	if got, want := codes(t, l, p, "a", 3), "OK OK QuotaExceeded"; got != want {
		t.Fatalf("hour 11: %s, want %s", got, want)
	}
	c.Add(time.Hour) // 12:00: the hour allows, the day (4) is spent
	if got, want := codes(t, l, p, "a", 1), "QuotaExceeded"; got != want {
		t.Fatalf("hour 12: %s, want %s", got, want)
	}
	d, _ = l.Allow(context.Background(), p, "a")
	if d.Rule != "a/limits.quota 24h0m0s" {
		t.Errorf("day refusal %+v", d)
	}
	day := time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)
	if n := store.Count("a", 24*time.Hour, day); n != 4 {
		t.Errorf("day count %d, want 4", n)
	}
	c.Add(12 * time.Hour) // the next day, 00:00 UTC
	if got, want := codes(t, l, p, "a", 3), "OK OK QuotaExceeded"; got != want {
		t.Fatalf("next day: %s, want %s", got, want)
	}
	if n := store.Count("a", 24*time.Hour, day); n != 0 {
		t.Errorf("ended day window still kept with count %d", n)
	}
}

func TestRateBeforeQuota(t *testing.T) {
	c := newClock("2026-11-27T10:00:00Z")
	store := NewMemoryQuotaStore()
	p := limitsPolicy(t, `{rate: {per_second: 1, burst: 2}, quota: [{window: 1h, count: 100}]}`)
	l := NewLimiter(store, c.Now)
	if got, want := codes(t, l, p, "a", 5), "OK OK RateExceeded RateExceeded RateExceeded"; got != want {
		t.Fatalf("%s, want %s", got, want)
	}
	if n := store.Count("a", time.Hour, c.Now().Truncate(time.Hour)); n != 2 {
		t.Errorf("quota count %d after 2 allowed and 3 rate-refused requests, want 2", n)
	}
}

// TestQuotaSurvivesRestart: a new Limiter (a restarted daemon) on the same
// store sees the counts; the store's durability is the daemon's part.
func TestQuotaSurvivesRestart(t *testing.T) {
	c := newClock("2026-11-27T10:00:00Z")
	store := NewMemoryQuotaStore()
	p := limitsPolicy(t, `{quota: [{window: 1h, count: 2}]}`)
	codes(t, NewLimiter(store, c.Now), p, "a", 2)
	if got := codes(t, NewLimiter(store, c.Now), p, "a", 1); got != "QuotaExceeded" {
		t.Fatalf("after restart: %s", got)
	}
}

type failingStore struct{}

func (failingStore) Increment(context.Context, string, time.Duration, time.Time, int) (bool, int, error) {
	return false, 0, errors.New("disk on fire")
}

func TestQuotaStoreFailureFailsClosed(t *testing.T) {
	p := limitsPolicy(t, `{quota: [{window: 1h, count: 2}]}`)
	for _, l := range []*Limiter{NewLimiter(failingStore{}, nil), NewLimiter(nil, nil)} {
		d, err := l.Allow(context.Background(), p, "a")
		if err == nil || d.Allowed || d.Code != Unavailable || d.Code.RequestStatus() != 201 {
			t.Errorf("Allow = %+v, %v", d, err)
		}
	}
	// No quota: no store needed.
	if d, err := NewLimiter(nil, nil).Allow(context.Background(), p, "b"); err != nil || !d.Allowed {
		t.Errorf("Allow without quota = %+v, %v", d, err)
	}
	if d, _ := NewLimiter(nil, nil).Allow(context.Background(), p, "gone"); d.Allowed || d.Code != NotAuthorized {
		t.Errorf("Allow of an unknown SCS = %+v", d)
	}
}

// TestLimiterAcrossReload: the bucket of an SCS that stays keeps its tokens;
// a changed rate applies from the reload (Sync) on; Sync forgets removed
// SCSs.
func TestLimiterAcrossReload(t *testing.T) {
	c := newClock("2026-11-27T10:00:00Z")
	l := NewLimiter(NewMemoryQuotaStore(), c.Now)
	p1 := limitsPolicy(t, `{rate: {per_second: 1, burst: 2}}`)
	if got := codes(t, l, p1, "a", 3); got != "OK OK RateExceeded" {
		t.Fatal(got)
	}
	p2 := limitsPolicy(t, `{rate: {per_second: 1, burst: 2}, max_payload_bytes: 10}`)
	if got := codes(t, l, p2, "a", 1); got != "RateExceeded" {
		t.Fatalf("the reload refilled the bucket: %s", got)
	}
	p3 := limitsPolicy(t, `{rate: {per_second: 10, burst: 5}}`)
	l.Sync(p3)
	c.Add(200 * time.Millisecond) // 2 tokens at the new 10/s
	if got := codes(t, l, p3, "a", 3); got != "OK OK RateExceeded" {
		t.Fatalf("new rate: %s", got)
	}
	if _, ok := l.Tokens("b"); ok {
		t.Fatal("bucket of b before any request")
	}
	codes(t, l, p3, "b", 1)
	p4 := mustCompile(t, `scs:
  - id: a
    peers: [{origin_host: a.example, realm: example}]
    scs_identity: "1"
`)
	l.Sync(p4)
	if _, ok := l.Tokens("b"); ok {
		t.Error("bucket of removed SCS b kept")
	}
	if _, ok := l.Tokens("a"); ok {
		t.Error("bucket of a kept though p4 has no rate for it")
	}
}

func TestMemoryQuotaStoreConcurrent(t *testing.T) {
	s := NewMemoryQuotaStore()
	start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC)
	var wg sync.WaitGroup
	var mu sync.Mutex
	allowed := 0
	for g := range 8 {
		wg.Go(func() {
			for range 50 {
				ok, n, err := s.Increment(context.Background(), "a", time.Hour, start, 100)
				if err != nil || n > 100 {
					panic(fmt.Sprint(g, n, err))
				}
				if ok {
					mu.Lock()
					allowed++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	if allowed != 100 || s.Count("a", time.Hour, start) != 100 {
		t.Errorf("allowed %d, count %d, want 100", allowed, s.Count("a", time.Hour, start))
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, _, err := s.Increment(ctx, "a", time.Hour, start, 1000); err == nil {
		t.Error("Increment with a done context succeeded")
	}
}

// TestAllowNoAlloc: Allow runs per request; an allowed request costs no
// allocation (the rule names are built at Compile).
func TestAllowNoAlloc(t *testing.T) {
	p := limitsPolicy(t, `{rate: {per_second: 1000000000, burst: 1000000000}, quota: [{window: 1h, count: 1000000000}]}`)
	c := newClock("2026-01-01T00:00:00Z")
	l := NewLimiter(NewMemoryQuotaStore(), c.Now)
	ctx := context.Background()
	if d, err := l.Allow(ctx, p, "a"); err != nil || !d.Allowed || d.Rule != "a/limits" {
		t.Fatalf("Allow = %+v, %v", d, err)
	}
	if n := testing.AllocsPerRun(100, func() { _, _ = l.Allow(ctx, p, "a") }); n != 0 {
		t.Errorf("an allowed Allow allocates %v times", n)
	}
}
