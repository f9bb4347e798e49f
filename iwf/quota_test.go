package iwf

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/mtciwf/mtciwf/security/policy"
)

// quotaStore is security/policy's QuotaStore plus QuotaCount: what both
// stores provide.
type quotaStore interface {
	policy.QuotaStore
	QuotaCount(ctx context.Context, scs string, window time.Duration, windowStart time.Time) (int, error)
}

var (
	_ quotaStore = (*BoltStore)(nil)
	_ quotaStore = (*MemoryStore)(nil)
)

// w0 is a window start: t0 truncated to the minute, as the policy Limiter
// computes it.
var w0 = t0.Truncate(time.Minute)

func mustIncrement(t testing.TB, s quotaStore, scs string, window time.Duration, start time.Time, limit int, wantOK bool, wantCount int) {
	t.Helper()
	ok, n, err := s.Increment(context.Background(), scs, window, start, limit)
	if err != nil || ok != wantOK || n != wantCount {
		t.Fatalf("Increment(%s, %v, %v, %d) = %v, %d, %v; want %v, %d", scs, window, start.Format(time.TimeOnly), limit, ok, n, err, wantOK, wantCount)
	}
}

func checkQuota(t testing.TB, s quotaStore, scs string, window time.Duration, start time.Time, want int) {
	t.Helper()
	n, err := s.QuotaCount(context.Background(), scs, window, start)
	if err != nil || n != want {
		t.Fatalf("QuotaCount(%s, %v, %v) = %d, %v; want %d", scs, window, start.Format(time.TimeOnly), n, err, want)
	}
}

// quotaCases is the quota contract: both stores pass all.
var quotaCases = []struct {
	name string
	run  func(t *testing.T, s quotaStore)
}{
	{"counts up to the limit, refuses without counting", func(t *testing.T, s quotaStore) {
		for i := 1; i <= 3; i++ {
			mustIncrement(t, s, "scs1", time.Minute, w0, 3, true, i)
		}
		for range 3 {
			mustIncrement(t, s, "scs1", time.Minute, w0, 3, false, 3)
		}
		checkQuota(t, s, "scs1", time.Minute, w0, 3)
		// A higher limit (a reloaded policy) counts on from the same count.
		mustIncrement(t, s, "scs1", time.Minute, w0, 4, true, 4)
		// A lower one refuses and leaves the count alone.
		mustIncrement(t, s, "scs1", time.Minute, w0, 2, false, 4)
		checkQuota(t, s, "scs1", time.Minute, w0, 4)
	}},
	{"zero or negative limit refuses", func(t *testing.T, s quotaStore) {
		mustIncrement(t, s, "scs1", time.Minute, w0, 0, false, 0)
		mustIncrement(t, s, "scs1", time.Minute, w0, -1, false, 0)
		checkQuota(t, s, "scs1", time.Minute, w0, 0)
	}},
	{"new window restarts the count", func(t *testing.T, s quotaStore) {
		mustIncrement(t, s, "scs1", time.Minute, w0, 1, true, 1)
		mustIncrement(t, s, "scs1", time.Minute, w0, 1, false, 1)
		w1 := w0.Add(time.Minute)
		mustIncrement(t, s, "scs1", time.Minute, w1, 1, true, 1)
		mustIncrement(t, s, "scs1", time.Minute, w1, 1, false, 1)
		checkQuota(t, s, "scs1", time.Minute, w0, 1) // the previous window is kept
		checkQuota(t, s, "scs1", time.Minute, w1, 1)
	}},
	{"keyed by SCS, window length and start", func(t *testing.T, s quotaStore) {
		mustIncrement(t, s, "scs1", time.Minute, w0, 1, true, 1)
		mustIncrement(t, s, "scs2", time.Minute, w0, 1, true, 1)
		mustIncrement(t, s, "scs1", time.Hour, w0, 1, true, 1)
		mustIncrement(t, s, "scs1", time.Minute, w0.Add(time.Nanosecond), 1, true, 1)
		mustIncrement(t, s, "scs", time.Minute, w0, 1, true, 1)
		mustIncrement(t, s, "scs1", time.Minute, w0, 1, false, 1)
		// The same instant in another zone is the same window.
		mustIncrement(t, s, "scs1", time.Minute, w0.In(time.FixedZone("X", 3600)), 1, false, 1)
		checkQuota(t, s, "scs3", time.Minute, w0, 0)
	}},
	{"old windows are swept", func(t *testing.T, s quotaStore) {
		w := time.Minute
		mustIncrement(t, s, "scs1", w, w0, 5, true, 1)
		mustIncrement(t, s, "scs1", w, w0.Add(w), 5, true, 1)
		// At w0+2w the window of w0 ended exactly one window ago: kept.
		mustIncrement(t, s, "scs1", w, w0.Add(2*w), 5, true, 1)
		checkQuota(t, s, "scs1", w, w0, 1)
		// At w0+2w+1ns it ended more than one window ago: swept, by any
		// SCS's increment with any window length.
		mustIncrement(t, s, "scs2", time.Second, w0.Add(2*w+time.Nanosecond), 5, true, 1)
		checkQuota(t, s, "scs1", w, w0, 0)
		checkQuota(t, s, "scs1", w, w0.Add(w), 1)
		checkQuota(t, s, "scs1", w, w0.Add(2*w), 1)
		// A refused increment sweeps nothing (it writes nothing).
		mustIncrement(t, s, "scs1", w, w0.Add(w), 1, false, 1)
		mustIncrement(t, s, "scs1", w, w0.Add(2*w), 1, false, 1)
	}},
	{"sweep is bounded per call", func(t *testing.T, s quotaStore) {
		const old = 2*quotaSweep + 3
		for i := range old {
			mustIncrement(t, s, fmt.Sprintf("scs%02d", i), time.Second, w0.Add(time.Duration(i)*time.Millisecond), 1, true, 1)
		}
		left := func() int {
			n := 0
			for i := range old {
				c, err := s.QuotaCount(context.Background(), fmt.Sprintf("scs%02d", i), time.Second, w0.Add(time.Duration(i)*time.Millisecond))
				if err != nil {
					t.Fatal(err)
				}
				n += c
			}
			return n
		}
		later := w0.Add(time.Hour)
		for i, want := range []int{old - quotaSweep, old - 2*quotaSweep, 0, 0} {
			mustIncrement(t, s, "other", time.Minute, later, 100, true, i+1)
			if got := left(); got != want {
				t.Fatalf("after %d sweeps %d old counters left, want %d", i+1, got, want)
			}
		}
		// Earliest first: the last ones created were the last swept.
		mustIncrement(t, s, "scs00", time.Second, w0, 1, true, 1)
	}},
	{"bad arguments", func(t *testing.T, s quotaStore) {
		ctx := context.Background()
		for _, c := range []struct {
			name   string
			scs    string
			window time.Duration
			start  time.Time
		}{
			{"no SCS", "", time.Minute, w0},
			{"NUL in SCS", "scs\x001", time.Minute, w0},
			{"long SCS", string(make([]byte, maxFieldLen+1)), time.Minute, w0},
			{"zero window", "scs1", 0, w0},
			{"negative window", "scs1", -time.Minute, w0},
			{"zero start", "scs1", time.Minute, time.Time{}},
			{"start out of range", "scs1", time.Minute, time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)},
			{"window ends out of range", "scs1", 200 * 365 * 24 * time.Hour, w0},
		} {
			if ok, n, err := s.Increment(ctx, c.scs, c.window, c.start, 10); err == nil || ok || n != 0 {
				t.Errorf("%s: Increment = %v, %d, %v; want an error", c.name, ok, n, err)
			}
			if _, err := s.QuotaCount(ctx, c.scs, c.window, c.start); err == nil {
				t.Errorf("%s: QuotaCount: no error", c.name)
			}
		}
	}},
	{"canceled context", func(t *testing.T, s quotaStore) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if ok, _, err := s.Increment(ctx, "scs1", time.Minute, w0, 10); !errors.Is(err, context.Canceled) || ok {
			t.Fatalf("Increment = %v, %v; want context.Canceled", ok, err)
		}
		checkQuota(t, s, "scs1", time.Minute, w0, 0)
	}},
	{"closed store", func(t *testing.T, s quotaStore) {
		mustIncrement(t, s, "scs1", time.Minute, w0, 10, true, 1)
		s.(Store).Close()
		if ok, _, err := s.Increment(context.Background(), "scs1", time.Minute, w0, 10); !errors.Is(err, ErrClosed) || ok {
			t.Fatalf("Increment = %v, %v; want ErrClosed", ok, err)
		}
		if _, err := s.QuotaCount(context.Background(), "scs1", time.Minute, w0); !errors.Is(err, ErrClosed) {
			t.Fatalf("QuotaCount = %v, want ErrClosed", err)
		}
	}},
}

func TestQuotaContract(t *testing.T) {
	for _, impl := range storeImpls {
		t.Run(impl.name, func(t *testing.T) {
			for _, c := range quotaCases {
				t.Run(c.name, func(t *testing.T) { c.run(t, impl.open(t).(quotaStore)) })
			}
		})
	}
}

// TestQuotaConcurrent: many goroutines spend one quota at once (and other
// SCSs theirs, and triggers are written meanwhile): exactly limit are
// allowed, each allowed call sees a distinct count, and refusals never count.
func TestQuotaConcurrent(t *testing.T) {
	const workers, perWorker, limit = 32, 20, 150
	for _, impl := range storeImpls {
		t.Run(impl.name, func(t *testing.T) {
			ctx := context.Background()
			s := impl.open(t)
			q := s.(quotaStore)
			var (
				wg      sync.WaitGroup
				allowed [2]atomic.Int64
				seen    sync.Map
			)
			for w := range workers {
				wg.Go(func() {
					for i := range perWorker {
						scs := []string{"scs1", "scs2"}[i%2]
						ok, n, err := q.Increment(ctx, scs, time.Minute, w0, limit)
						if err != nil {
							t.Error(err)
							return
						}
						if ok {
							allowed[i%2].Add(1)
							if _, dup := seen.LoadOrStore(fmt.Sprint(scs, n), true); dup || n < 1 || n > limit {
								t.Errorf("allowed count %s/%d twice or out of range", scs, n)
							}
						} else if n != limit {
							t.Errorf("refused at count %d, want %d", n, limit)
						}
						if i%5 == 0 {
							tr := newTrigger(fmt.Sprintf("scs%d.example.com", w), uint32(i))
							tr.SMEA = fmt.Sprintf("4917%02d", w)
							if err := s.Create(ctx, tr); err != nil {
								t.Error(err)
								return
							}
						}
					}
				})
			}
			wg.Wait()
			want := min(limit, workers*perWorker/2)
			for i, scs := range []string{"scs1", "scs2"} {
				if got := allowed[i].Load(); got != int64(want) {
					t.Errorf("%s: %d allowed, want %d", scs, got, want)
				}
				checkQuota(t, q, scs, time.Minute, w0, want)
			}
			checkOpen(t, s, workers*perWorker/5)
		})
	}
}

// TestBoltQuotaReopen: counts, the expiry index and so the sweep survive
// closing and reopening the file; a file made before the quota buckets
// existed gets them on open.
func TestBoltQuotaReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "triggers.db")
	s := openBolt(t, path)
	for i := 1; i <= 3; i++ {
		mustIncrement(t, s, "scs1", time.Minute, w0, 3, true, i)
	}
	mustIncrement(t, s, "scs2", time.Hour, w0, 3, true, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = openBolt(t, path)
	checkQuota(t, s, "scs1", time.Minute, w0, 3)
	mustIncrement(t, s, "scs1", time.Minute, w0, 3, false, 3)
	mustIncrement(t, s, "scs2", time.Hour, w0, 3, true, 2)
	mustIncrement(t, s, "scs1", time.Minute, w0.Add(3*time.Minute), 3, true, 1)
	checkQuota(t, s, "scs1", time.Minute, w0, 0) // swept after the reopen
	checkQuota(t, s, "scs2", time.Hour, w0, 2)
	checkIntegrity(t, s)

	// A format-1 file without the quota buckets (made by an older build).
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error {
		if err := tx.DeleteBucket(bucketQuota); err != nil {
			return err
		}
		return tx.DeleteBucket(bucketQuotaExp)
	}); err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	s = openBolt(t, path)
	checkQuota(t, s, "scs2", time.Hour, w0, 0)
	mustIncrement(t, s, "scs2", time.Hour, w0, 3, true, 1)
	checkIntegrity(t, s)
}

// quotaChildEnv makes this test binary the child of TestBoltQuotaSurvivesKill9.
const quotaChildEnv = "MTCIWF_QUOTA_CHILD_PATH"

// TestBoltQuotaChild is the child's side; it does nothing in a normal run.
// It spends scs1's quota from 16 goroutines and prints each allowed count
// once Increment returned, until it is killed.
func TestBoltQuotaChild(t *testing.T) {
	path := os.Getenv(quotaChildEnv)
	if path == "" {
		t.Skip("runs only as the child of TestBoltQuotaSurvivesKill9")
	}
	s, err := OpenBoltStore(path, BoltOptions{})
	if err != nil {
		fmt.Println("ERROR", err)
		os.Exit(1)
	}
	var out sync.Mutex
	var wg sync.WaitGroup
	for range 16 {
		wg.Go(func() {
			for range 5000 {
				ok, n, err := s.Increment(context.Background(), "scs1", time.Minute, w0, 1_000_000)
				out.Lock()
				switch {
				case err != nil:
					fmt.Println("ERROR", err)
				case ok:
					fmt.Println("allowed", n)
				}
				out.Unlock()
				if err != nil {
					return
				}
			}
		})
	}
	wg.Wait()
	time.Sleep(time.Minute) // wait for the kill, but not forever
	os.Exit(3)
}

// TestBoltQuotaSurvivesKill9: a child spends a quota and is SIGKILLed
// mid-stream, three times on one file. Every count a child saw allowed is
// in the file afterwards, so a restart never hands out spent quota.
func TestBoltQuotaSurvivesKill9(t *testing.T) {
	const killAfter = 400
	path := filepath.Join(t.TempDir(), "triggers.db")
	maxAcked := 0
	for round := range 3 {
		cmd, lines := runChildTest(t, "TestBoltQuotaChild", quotaChildEnv+"="+path)
		n, base := 0, maxAcked // base: the count stored when the child started
		for n < killAfter && lines.Scan() {
			if strings.HasPrefix(lines.Text(), "ERROR") {
				t.Fatalf("round %d: child: %s", round, lines.Text())
			}
			var c int
			if _, err := fmt.Sscanf(lines.Text(), "allowed %d", &c); err != nil {
				continue // test framework chatter
			}
			if c <= base {
				t.Errorf("round %d: count %d allowed again after the restart (stored %d)", round, c, base)
			}
			maxAcked = max(maxAcked, c)
			n++
		}
		cmd.Process.Kill() // SIGKILL
		cmd.Wait()
		if n < killAfter {
			t.Fatalf("round %d: child acknowledged only %d increments", round, n)
		}
		s := openBolt(t, path)
		got, err := s.QuotaCount(context.Background(), "scs1", time.Minute, w0)
		if err != nil || got < maxAcked {
			t.Fatalf("round %d: after SIGKILL the count is %d, %v; the child was allowed count %d", round, got, err, maxAcked)
		}
		checkIntegrity(t, s)
		s.Close()
		t.Logf("round %d: highest acknowledged count %d, stored %d", round, maxAcked, got)
		maxAcked = got
	}
}

// TestBoltQuotaBatches: quota increments and trigger writes that queue
// while a commit is in progress share one transaction, so one fsync.
func TestBoltQuotaBatches(t *testing.T) {
	ctx := context.Background()
	s := openBolt(t, filepath.Join(t.TempDir(), "triggers.db"))
	var first atomic.Int64
	s.onBatch = func(n int) { first.CompareAndSwap(0, int64(n)) }

	const n = 100 // of each
	before := lastTxID(t, s)
	hold, err := s.db.Begin(true)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	var allowed atomic.Int64
	for i := range n {
		wg.Go(func() {
			tr := newTrigger(fmt.Sprintf("scs%d.example.com", i), 1)
			tr.SMEA = fmt.Sprint(i)
			if err := s.Create(ctx, tr); err != nil {
				t.Error(err)
			}
		})
		wg.Go(func() {
			ok, _, err := s.Increment(ctx, "scs1", time.Minute, w0, n/2)
			if err != nil {
				t.Error(err)
			}
			if ok {
				allowed.Add(1)
			}
		})
	}
	for first.Load() == 0 || int(first.Load())+len(s.queue) < 2*n {
		time.Sleep(time.Millisecond)
	}
	if err := hold.Rollback(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	if txs := lastTxID(t, s) - before; txs != 2 {
		t.Fatalf("%d writes took %d transactions, want 2", 2*n, txs)
	}
	if allowed.Load() != n/2 {
		t.Fatalf("%d allowed, want %d", allowed.Load(), n/2)
	}
	checkQuota(t, s, "scs1", time.Minute, w0, n/2)
}

// BenchmarkBoltIncrementQuotaParallel: many callers spending quotas at once
// (GOMAXPROCS × benchParallelism goroutines, 64 SCSs, a limit never
// reached): every call is a durable write, group-committed.
func BenchmarkBoltIncrementQuotaParallel(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	before := lastTxID(b, s)
	var next atomic.Uint64
	b.SetParallelism(benchParallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			scs := fmt.Sprintf("scs%d.example.com", next.Add(1)%64)
			if ok, _, err := s.Increment(ctx, scs, time.Minute, w0, 1<<30); err != nil || !ok {
				b.Error(ok, err)
				return
			}
		}
	})
	reportWrites(b, s, before, 1, "increments/s")
}

// BenchmarkBoltIncrementQuotaRefused: an SCS past its quota. The refusal
// is read from the committed count: no write, no fsync.
func BenchmarkBoltIncrementQuotaRefused(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	mustIncrement(b, s, "scs1.example.com", time.Minute, w0, 1, true, 1)
	before := lastTxID(b, s)
	b.SetParallelism(benchParallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if ok, _, err := s.Increment(ctx, "scs1.example.com", time.Minute, w0, 1); err != nil || ok {
				b.Error(ok, err)
				return
			}
		}
	})
	if txs := lastTxID(b, s) - before; txs != 0 {
		b.Fatalf("refusals took %d write transactions", txs)
	}
}
