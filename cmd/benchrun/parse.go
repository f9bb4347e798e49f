package main

import (
	"bufio"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// loadSummary is what `scs load` prints at its end.
type loadSummary struct {
	Sent       int
	SendTime   time.Duration
	SentRate   float64 // DARs per second as scs load measured it
	Errors     int     // transport errors
	Status     map[string]int
	Reports    int // delivery reports received
	Accepted   int // DAAs with Request-Status SUCCESS
	P50, P90   time.Duration
	P99, P999  time.Duration
	HaveLatent bool
}

var (
	reSent    = regexp.MustCompile(`^sent (\d+) DARs in (\S+) \(([\d.]+)/s\); transport errors (\d+)`)
	reStatus  = regexp.MustCompile(`^answers by Request-Status: map\[(.*)\]`)
	reReports = regexp.MustCompile(`^delivery reports by Delivery-Outcome: map\[.*\] \((\d+) of (\d+) accepted\)`)
	reLatency = regexp.MustCompile(`^DAR->DAA latency p50 (\S+)\s+p90 (\S+)\s+p99 (\S+)\s+p99\.9 (\S+)`)
)

// parseLoadSummary reads scs load's summary lines (progress lines on stderr
// are not expected here). It fails when the "sent" line is missing.
func parseLoadSummary(out string) (loadSummary, error) {
	s := loadSummary{Status: map[string]int{}}
	var haveSent bool
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if i := strings.LastIndexByte(line, '\r'); i >= 0 {
			line = line[i+1:]
		}
		switch {
		case reSent.MatchString(line):
			m := reSent.FindStringSubmatch(line)
			s.Sent, _ = strconv.Atoi(m[1])
			s.SendTime, _ = time.ParseDuration(m[2])
			s.SentRate, _ = strconv.ParseFloat(m[3], 64)
			s.Errors, _ = strconv.Atoi(m[4])
			haveSent = true
		case reStatus.MatchString(line):
			m := reStatus.FindStringSubmatch(line)
			for _, kv := range strings.Fields(m[1]) {
				k, v, ok := strings.Cut(kv, ":")
				if !ok {
					continue
				}
				n, err := strconv.Atoi(v)
				if err != nil {
					return s, fmt.Errorf("Request-Status count %q: %w", kv, err)
				}
				s.Status[k] = n
			}
		case reReports.MatchString(line):
			m := reReports.FindStringSubmatch(line)
			s.Reports, _ = strconv.Atoi(m[1])
			s.Accepted, _ = strconv.Atoi(m[2])
		case reLatency.MatchString(line):
			m := reLatency.FindStringSubmatch(line)
			var err error
			for i, d := range []*time.Duration{&s.P50, &s.P90, &s.P99, &s.P999} {
				if *d, err = time.ParseDuration(m[i+1]); err != nil {
					return s, fmt.Errorf("latency %q: %w", m[i+1], err)
				}
			}
			s.HaveLatent = true
		}
	}
	if !haveSent {
		return s, fmt.Errorf("no summary in scs load output")
	}
	return s, nil
}

// procCPU is a process's user+system CPU time in clock ticks, from
// /proc/<pid>/stat fields 14 and 15 (utime, stime).
func parseProcStat(stat string) (utime, stime uint64, err error) {
	// The command name (field 2) is in parentheses and may hold spaces or
	// parentheses itself: the fields start after the last ')'.
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, 0, fmt.Errorf("malformed stat: no ')'")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime is field 14 -> f[11], stime f[12].
	if len(f) < 13 {
		return 0, 0, fmt.Errorf("malformed stat: %d fields after the name", len(f))
	}
	if utime, err = strconv.ParseUint(f[11], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("utime: %w", err)
	}
	if stime, err = strconv.ParseUint(f[12], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("stime: %w", err)
	}
	return utime, stime, nil
}

// parseStatusKB returns the value in kB of a "Key:   1234 kB" line of
// /proc/<pid>/status (VmHWM, VmRSS).
func parseStatusKB(status, key string) (int64, error) {
	sc := bufio.NewScanner(strings.NewReader(status))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok || k != key {
			continue
		}
		f := strings.Fields(v)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("%s: unexpected %q", key, v)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("%s not found", key)
}

// searcher finds the highest passing rate: it doubles from start while
// steps pass (up to ceiling), then bisects between the highest pass and the
// lowest failure for a fixed number of steps.
type searcher struct {
	start, ceiling float64
	bisectSteps    int

	pass, fail float64 // highest passing and lowest failing rate so far (0: none)
	bisected   int
	doubling   bool
	next       float64
}

func newSearcher(start, ceiling float64, bisectSteps int) *searcher {
	return &searcher{start: start, ceiling: ceiling, bisectSteps: bisectSteps, doubling: true, next: start}
}

// Next is the rate to try, or 0 when the search is over.
func (s *searcher) Next() float64 { return s.next }

// Result records the outcome of trying Next().
func (s *searcher) Result(ok bool) {
	r := s.next
	if ok {
		s.pass = max(s.pass, r)
	} else if s.fail == 0 || r < s.fail {
		s.fail = r
	}
	if s.doubling {
		if ok && r*2 <= s.ceiling {
			s.next = r * 2
			return
		}
		s.doubling = false
		if ok { // ceiling reached
			s.next = 0
			return
		}
	} else {
		s.bisected++
	}
	if s.bisected >= s.bisectSteps || s.fail == 0 {
		s.next = 0
		return
	}
	lo := s.pass
	if lo == 0 { // even the start failed: look below it
		lo = s.fail / 4
		if s.fail < 50 {
			s.next = 0
			return
		}
	}
	s.next = roundRate((lo + s.fail) / 2)
	if s.next <= lo || s.next >= s.fail {
		s.next = 0
	}
}

// roundRate rounds a rate to two significant-ish steps (to 50/s above
// 1000/s, to 10/s below) so table values stay readable.
func roundRate(r float64) float64 {
	q := 10.0
	if r >= 1000 {
		q = 50
	}
	return float64(int(r/q+0.5)) * q
}
