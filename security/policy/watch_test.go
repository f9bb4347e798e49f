package policy

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
	"go.uber.org/zap/zaptest/observer"
)

const watchV1 = `scs:
  - id: a
    peers: [{origin_host: a.example, realm: example}]
    scs_identity: "1"
    limits: {rate: {per_second: 1, burst: 2}}
    rules: [{allow: {msisdn: "491710000001"}}]
  - id: b
    peers: [{origin_host: b.example, realm: example}]
    scs_identity: "2"
    rules: [{allow: {msisdn: "491710000001"}}]
`

// watchV2 drops b and allows a second UE for a.
const watchV2 = `scs:
  - id: a
    peers: [{origin_host: a.example, realm: example}]
    scs_identity: "1"
    limits: {rate: {per_second: 1, burst: 2}}
    rules: [{allow: {msisdn: "491710000001"}}, {allow: {msisdn: "491710000002"}}]
`

func writeFile(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

// replaceFile writes s the way deployment tools do: a temporary file renamed
// over the old one.
func replaceFile(t *testing.T, path, s string) {
	t.Helper()
	tmp := path + ".tmp"
	writeFile(t, tmp, s)
	if err := os.Rename(tmp, path); err != nil {
		t.Fatal(err)
	}
}

var second = Query{SCS: "a.example", Action: Trigger, MSISDN: "491710000002"}

func TestReload(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	writeFile(t, path, watchV1)
	core, logs := observer.New(zapcore.DebugLevel)
	w, err := NewWatcher(path, zap.New(core))
	if err != nil {
		t.Fatal(err)
	}
	var changes []string
	w.OnChange = func(old, new *Policy) {
		changes = append(changes, strings.Join(RemovedPeers(old, new), ","))
	}
	old := w.Current()
	if old.Decide(second).Allowed {
		t.Fatal("v1 allows the second UE")
	}

	// An invalid file: the old policy stays, the error names file:line.
	writeFile(t, path, watchV2+"    colour: red\n")
	err = w.Reload()
	if err == nil || !strings.Contains(err.Error(), path+":7: scs[0].colour: unknown key") {
		t.Fatalf("Reload of a bad file = %v", err)
	}
	if w.Current() != old || len(changes) != 0 {
		t.Fatal("a bad file replaced the policy")
	}
	if e := logs.FilterMessage("policy reload failed; the previous policy stays in force").All(); len(e) != 1 ||
		!strings.Contains(fmt.Sprint(e[0].ContextMap()["problems"]), ":7: scs[0].colour") {
		t.Fatalf("failure log %+v", e)
	}
	// A missing file too.
	os.Remove(path)
	if err := w.Reload(); err == nil || w.Current() != old {
		t.Fatal("a missing file replaced the policy")
	}

	// A good file: in force, OnChange told which peers went away.
	writeFile(t, path, watchV2)
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if !w.Current().Decide(second).Allowed {
		t.Fatal("the reloaded policy does not allow the second UE")
	}
	if old.Decide(second).Allowed {
		t.Fatal("the old policy changed under its readers")
	}
	if strings.Join(changes, ";") != "b.example" {
		t.Fatalf("OnChange calls %q", changes)
	}
	// The same content again: nothing changes.
	p := w.Current()
	if err := w.Reload(); err != nil || w.Current() != p || len(changes) != 1 {
		t.Fatal("reloading an unchanged file replaced the policy")
	}
	if p.Digest() == "" || p.Digest() == old.Digest() {
		t.Fatalf("digests %q %q", p.Digest(), old.Digest())
	}
}

func TestNewWatcherInvalid(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, "scs: [{id: a}]\n")
	if _, err := NewWatcher(path, nil); err == nil || !strings.Contains(err.Error(), path+":1: scs[0].peers: is required") {
		t.Fatalf("NewWatcher = %v", err)
	}
}

// TestLimiterKeptAcrossReload: a reload through the Watcher keeps the token
// bucket of an SCS that stays.
func TestLimiterKeptAcrossReload(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, watchV1)
	w, err := NewWatcher(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	c := newClock("2026-11-27T10:00:00Z")
	l := NewLimiter(NewMemoryQuotaStore(), c.Now)
	w.OnChange = func(_, new *Policy) { l.Sync(new) }
	if got := codes(t, l, w.Current(), "a", 3); got != "OK OK RateExceeded" {
		t.Fatal(got)
	}
	writeFile(t, path, watchV2)
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if got := codes(t, l, w.Current(), "a", 1); got != "RateExceeded" {
		t.Fatalf("after reload: %s", got)
	}
}

func TestWatch(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "policy.yaml")
	writeFile(t, path, watchV1)
	w, err := NewWatcher(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	w.Debounce = 10 * time.Millisecond
	var mu sync.Mutex
	changed := make(chan *Policy, 10)
	w.OnChange = func(_, new *Policy) {
		mu.Lock()
		defer mu.Unlock()
		changed <- new
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := w.Watch(ctx, nil); err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if err := w.Watch(ctx, nil); err == nil {
		t.Error("a second Watch started")
	}
	wait := func(what string) *Policy {
		t.Helper()
		select {
		case p := <-changed:
			return p
		case <-time.After(10 * time.Second): // a bound on a hang, not a timing assertion
			t.Fatalf("no reload after %s", what)
			return nil
		}
	}
	// Rename-replace.
	replaceFile(t, path, watchV2)
	if p := wait("rename"); !p.Decide(second).Allowed || w.Current() != p {
		t.Fatal("the renamed-in policy is not in force")
	}
	// An invalid edit in place: no change; then a valid one.
	writeFile(t, path, "scs: [\n")
	writeFile(t, path, watchV1)
	if p := wait("write"); p.Decide(second).Allowed {
		t.Fatal("v1 not back in force")
	}
	// A change to another file in the directory does nothing.
	writeFile(t, filepath.Join(dir, "other.yaml"), "x")
	w.Close()
	select {
	case p := <-changed:
		t.Fatalf("unexpected reload %v", p)
	default:
	}
	// Watch can start again after Close.
	if err := w.Watch(ctx, nil); err != nil {
		t.Fatal(err)
	}
	w.Close()
}

func TestAudit(t *testing.T) {
	core, logs := observer.New(zapcore.InfoLevel)
	log := zap.New(core).Named("audit")
	p := mustCompile(t, testPolicy)
	q := Query{SCS: "scs1.scs.example", Via: "dra1.scs.example", Action: Trigger, ExternalID: "bad-1@iot.example.com", MSISDN: "491710000666", Port: 9000, HasPort: true}
	d := p.Decide(q)
	Audit(log, q, d)
	Audit(log, Query{SCS: "scs1.scs.example", Action: Trigger, MSISDN: "491710000001"}, Decision{Allowed: true, Code: OK})
	Audit(nil, q, d)
	entries := logs.All()
	if len(entries) != 1 {
		t.Fatalf("%d audit entries, want 1 (refusals only)", len(entries))
	}
	e := entries[0]
	m := e.ContextMap()
	want := map[string]any{
		"scs": "acme", "origin_host": "scs1.scs.example", "via": "dra1.scs.example", "action": "trigger",
		"rule": "acme/rules[5] deny external_id b***@iot.example.com", "code": "NotAuthorized",
		"request_status": uint32(105), "external_id": "b***@iot.example.com", "msisdn": "491*******66", "port": uint32(9000),
		"rule_at": fmt.Sprintf("test.yaml:%d", ruleLine(t, testPolicy, 0, 5)),
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %v, want %v", k, m[k], v)
		}
	}
	if e.LoggerName != "audit" || e.Level != zapcore.WarnLevel || m["reason"] == "" {
		t.Errorf("entry %+v", e)
	}
	for k, v := range m {
		if s, ok := v.(string); ok && (strings.Contains(s, "bad-1") || strings.Contains(s, "491710000666")) {
			t.Errorf("field %s carries the identity in the clear: %q", k, s)
		}
	}
}

// ruleLine is the line of rules[rule] of scs[scs] in src, as Parse saw it.
func ruleLine(t *testing.T, src string, scs, rule int) int {
	t.Helper()
	f, err := Parse("test.yaml", []byte(src))
	if err != nil {
		t.Fatal(err)
	}
	if l := f.SCS[scs].Rules[rule].Line; l > 0 {
		return l
	}
	t.Fatalf("scs[%d].rules[%d] has no line", scs, rule)
	return 0
}
