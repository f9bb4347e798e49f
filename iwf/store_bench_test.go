package iwf

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// The write benchmarks run on the real disk under b.TempDir() with fsync on,
// as the daemon does. Besides ns/op they report:
//
//	creates/s      the throughput the run implies (triggers/s for a whole life)
//	writes/fsync   writes per committed transaction (each commit is one
//	               fsync of the data and one of the meta page)
//
// Run: go test -run '^$' -bench 'Bolt|Record' -benchtime 3s ./iwf/

// benchParallelism is how many goroutines per CPU the parallel benchmarks
// run: enough concurrent callers to stand for many DARs in flight.
const benchParallelism = 32

func benchStore(b *testing.B) *BoltStore {
	b.Helper()
	return openBolt(b, filepath.Join(b.TempDir(), "triggers.db"))
}

// uniqueTrigger is trigger number i: unique key and SMEA.
func uniqueTrigger(i uint64) *Trigger {
	tr := newTrigger("scs"+strconv.FormatUint(i%64, 10)+".example.com", uint32(i))
	tr.SMEA = strconv.FormatUint(4917000000000+i%64, 10)
	tr.ExpiresAt = t0.Add(time.Duration(i%86400) * time.Second)
	return tr
}

func reportWrites(b *testing.B, s *BoltStore, before, writesPerOp int, unit string) {
	txs := lastTxID(b, s) - before
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), unit)
	if txs > 0 {
		b.ReportMetric(float64(b.N*writesPerOp)/float64(txs), "writes/fsync")
	}
}

// BenchmarkBoltCreate: one caller, one Create after the other. Each waits
// for its own fsync: this is the fsync latency of the disk.
func BenchmarkBoltCreate(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	before := lastTxID(b, s)
	var i uint64
	for b.Loop() {
		if err := s.Create(ctx, uniqueTrigger(i)); err != nil {
			b.Fatal(err)
		}
		i++
	}
	reportWrites(b, s, before, 1, "creates/s")
}

// BenchmarkBoltCreateParallel: many callers at once (GOMAXPROCS ×
// benchParallelism goroutines). Group commit shares each fsync.
func BenchmarkBoltCreateParallel(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	before := lastTxID(b, s)
	var next atomic.Uint64
	b.SetParallelism(benchParallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := s.Create(ctx, uniqueTrigger(next.Add(1))); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportWrites(b, s, before, 1, "creates/s")
}

// BenchmarkBoltLifecycleParallel: a trigger's whole life in the store,
// Create, Update to Reported (the DRR), CloseTrigger (the DNA): three
// durable writes per op, reported as whole triggers per second. The tree
// stays small here (every trigger is closed), so a commit dirties fewer
// pages than in BenchmarkBoltCreateParallel.
func BenchmarkBoltLifecycleParallel(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	before := lastTxID(b, s)
	var next atomic.Uint64
	b.SetParallelism(benchParallelism)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tr := uniqueTrigger(next.Add(1))
			if err := s.Create(ctx, tr); err != nil {
				b.Error(err)
				return
			}
			if err := s.Update(ctx, reported(tr, t0)); err != nil {
				b.Error(err)
				return
			}
			if err := s.CloseTrigger(ctx, tr.SCS, tr.Reference); err != nil {
				b.Error(err)
				return
			}
		}
	})
	reportWrites(b, s, before, 3, "triggers/s")
}

// fillBolt writes n Accepted triggers (every tenth Reported) in one
// transaction, bypassing group commit: a fixture for the read benchmarks.
func fillBolt(b *testing.B, s *BoltStore, n int) {
	b.Helper()
	const chunk = 50_000
	for start := 0; start < n; start += chunk {
		if err := s.db.Update(func(tx *bolt.Tx) error {
			for i := start; i < min(start+chunk, n); i++ {
				tr := uniqueTrigger(uint64(i))
				tr.SMEA = strconv.Itoa(i)
				if i%10 == 0 {
					reported(tr, t0.Add(time.Duration(i)*time.Millisecond))
				}
				tr.Revision = 1
				tk := triggerKey(tr.SCS, tr.Reference)
				if err := tx.Bucket(bucketTriggers).Put(tk, encodeTrigger(tr)); err != nil {
					return err
				}
				if err := putIndexes(tx, tr, tk); err != nil {
					return err
				}
				if err := addOpen(tx, 1); err != nil {
					return err
				}
			}
			return nil
		}); err != nil {
			b.Fatal(err)
		}
	}
}

const benchOpen = 100_000 // open triggers behind the read benchmarks

// BenchmarkBoltReads: the lookups the procedures make, on a store holding
// benchOpen open triggers. Pending and Expired walk their time index and
// stop at limit; ScanExpired is what Expired would cost without its index.
func BenchmarkBoltReads(b *testing.B) {
	ctx := context.Background()
	s := benchStore(b)
	fillBolt(b, s, benchOpen)
	b.Run("Get", func(b *testing.B) {
		i := 0
		for b.Loop() {
			tr := uniqueTrigger(uint64(i % benchOpen))
			if _, err := s.Get(ctx, tr.SCS, tr.Reference); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	})
	b.Run("BySMEA", func(b *testing.B) {
		i := 0
		for b.Loop() {
			n := i % benchOpen
			if _, err := s.BySMEA(ctx, strconv.Itoa(n), uint32(n)); err != nil {
				b.Fatal(err)
			}
			i += 7919
		}
	})
	b.Run("Pending100", func(b *testing.B) {
		for b.Loop() {
			if ts, err := s.Pending(ctx, t0.Add(time.Hour), 100); err != nil || len(ts) != 100 {
				b.Fatal(len(ts), err)
			}
		}
	})
	b.Run("Expired100", func(b *testing.B) {
		for b.Loop() {
			if ts, err := s.Expired(ctx, t0.Add(24*time.Hour), 100); err != nil || len(ts) != 100 {
				b.Fatal(len(ts), err)
			}
		}
	})
	b.Run("ScanExpired100", func(b *testing.B) {
		for b.Loop() {
			if n := scanExpired(b, s, t0.Add(24*time.Hour), 100); n != 100 {
				b.Fatal(n)
			}
		}
	})
	b.Run("Open", func(b *testing.B) {
		for b.Loop() {
			if n, err := s.Open(ctx); err != nil || n != benchOpen {
				b.Fatal(n, err)
			}
		}
	})
}

// scanExpired is Expired without the expiry index: decode every record and
// keep the earliest limit. Only here to measure what the index saves.
func scanExpired(b testing.TB, s *BoltStore, before time.Time, limit int) int {
	var hits []*Trigger
	if err := s.db.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketTriggers).ForEach(func(k, v []byte) error {
			t, err := decodeTrigger(k, v)
			if err != nil {
				return err
			}
			if t.State == TriggerAccepted && !t.ExpiresAt.IsZero() && t.ExpiresAt.Before(before) {
				hits = append(hits, t)
			}
			return nil
		})
	}); err != nil {
		b.Fatal(err)
	}
	return min(limit, len(hits))
}

// BenchmarkRecord compares the record encoding (versioned binary) with
// encoding/json of the same Trigger: time per op and bytes per record.
func BenchmarkRecord(b *testing.B) {
	tr := reported(newTrigger("scs1.example.com", 123456), t0.Add(time.Minute))
	tr.Revision = 3
	tk := triggerKey(tr.SCS, tr.Reference)
	bin := encodeTrigger(tr)
	js, err := json.Marshal(tr)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range []struct {
		name string
		size int
		run  func() error
	}{
		{"EncodeBinary", len(bin), func() error { encodeTrigger(tr); return nil }},
		{"EncodeJSON", len(js), func() error { _, err := json.Marshal(tr); return err }},
		{"DecodeBinary", len(bin), func() error { _, err := decodeTrigger(tk, bin); return err }},
		{"DecodeJSON", len(js), func() error { var t Trigger; return json.Unmarshal(js, &t) }},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				if err := c.run(); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(c.size), "bytes/record")
		})
	}
}
