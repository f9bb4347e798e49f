package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.uber.org/zap"
)

// cli runs the command line with a fake serve and returns the exit code, stdout and stderr.
func cli(t *testing.T, ctx context.Context, fake func(context.Context, *Config, *zap.Logger) error, args ...string) (int, string, string) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	if fake == nil {
		fake = func(context.Context, *Config, *zap.Logger) error {
			t.Error("serve was called")
			return nil
		}
	}
	a := &app{stdout: &stdout, stderr: &stderr, serve: fake}
	code := a.run(ctx, args)
	return code, stdout.String(), stderr.String()
}

// lines splits output into its non-empty lines.
func lines(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == '\n' })
}

func TestCheckConfigGood(t *testing.T) {
	dir := t.TempDir()
	file := writeDoc(t, dir, goodDoc(t, dir))
	want := file + ": OK\n" + filepath.Join(dir, "policy.yaml") + ": OK\n"
	code, stdout, stderr := cli(t, context.Background(), nil, "check-config", "--config", file)
	if code != exitOK || stdout != want || stderr != "" {
		t.Errorf("exit %d, stdout %q, stderr %q; want 0, %q, nothing", code, stdout, stderr, want)
	}
	// "validate" is the name style.md uses; it is an alias.
	if code, _, _ := cli(t, context.Background(), nil, "validate", "-c", file); code != exitOK {
		t.Errorf("validate: exit %d", code)
	}
}

func TestCheckConfigBuiltinDefaults(t *testing.T) {
	inDevPKIDir(t)
	code, stdout, stderr := cli(t, context.Background(), nil, "check-config")
	if code != exitOK || stdout != "built-in defaults: OK\n"+defaultPolicyFile+": OK\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, stdout, stderr)
	}
}

func TestCheckConfigBad(t *testing.T) {
	dir := t.TempDir()
	doc := goodDoc(t, dir)
	set(doc, "tsp.max_avp_depth", 0)
	set(doc, "tsp.peers.2.kind", "relay")
	set(doc, "tsp.tls.key_file", filepath.Join(dir, "missing-key.pem"))
	file := writeDoc(t, dir, doc)

	code, stdout, stderr := cli(t, context.Background(), nil, "check-config", "--config", file)
	if code != exitFailure || stdout != "" {
		t.Fatalf("exit %d, stdout %q; want 1 and nothing", code, stdout)
	}
	got := lines(stderr)
	want := []string{
		file + ": tsp.tls.key_file: ",
		file + ": tsp.max_avp_depth: ",
		file + ": tsp.peers[2].kind: ",
	}
	if len(got) != len(want) {
		t.Fatalf("stderr has %d lines, want %d:\n%s", len(got), len(want), stderr)
	}
	for i := range want {
		if !strings.HasPrefix(got[i], want[i]) {
			t.Errorf("line %d = %q, want prefix %q", i, got[i], want[i])
		}
	}
}

// TestCheckConfigPolicy: check-config also loads the policy file named by policy_file and lists
// each of its problems, as file:line: key: problem, after the configuration's own.
func TestCheckConfigPolicy(t *testing.T) {
	// Two problems, on lines 4 and 6.
	const twoProblems = `scs:
  - id: scs1
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    scs_identity: "49-171"
    rules:
      - {allow: {msisdn: "491710000001"}, ports: []}
`
	for _, tc := range []struct {
		name   string
		policy string               // content of policy_file; "example": configs/policy.yaml; "": missing
		edit   func(map[string]any) // more changes to the configuration
		code   int                  // want exit code
		lines  []string             // want stderr lines, by prefix; CONFIG and POLICY stand for the files
	}{
		{name: "good policy", policy: goodPolicy, code: exitOK},
		{name: "the example policy", policy: "example", code: exitOK},
		{name: "policy with two problems", policy: twoProblems, code: exitFailure, lines: []string{
			"POLICY:4: scs[0].scs_identity: \"49-171\" is not an E.164 number",
			"POLICY:6: scs[0].rules[0].ports: is empty",
		}},
		{name: "not a policy", policy: "scs: 3\n", code: exitFailure, lines: []string{
			"POLICY:1: scs: must be a list",
		}},
		{name: "configuration and policy problems", policy: twoProblems, code: exitFailure,
			edit: func(d map[string]any) { set(d, "tsp.max_avp_depth", 0) },
			lines: []string{
				"CONFIG: tsp.max_avp_depth: ",
				"POLICY:4: scs[0].scs_identity: ",
				"POLICY:6: scs[0].rules[0].ports: ",
			}},
		{name: "peer missing from the policy, another of the wrong kind", code: exitFailure,
			policy: strings.Replace(strings.Replace(goodPolicy, "agents: [dra1.scs.example]", "", -1),
				"peers: [{origin_host: scs2.scs.example, realm: scs.example}]",
				"peers: [{origin_host: scs2.scs.example, realm: other.example}, {origin_host: dra1.scs.example, realm: scs.example}]", 1),
			lines: []string{
				`CONFIG: tsp.peers[1]: origin_realm "scs.example" differs from the realm "other.example"`,
				`CONFIG: tsp.peers[2]: "dra1.scs.example" is kind agent here but an SCS peer in`,
			}},
		{name: "policy file missing", code: exitFailure, lines: []string{
			"CONFIG: policy_file: cannot read POLICY: ",
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			doc := goodDoc(t, dir)
			policyFile := filepath.Join(dir, "policy.yaml")
			switch tc.policy {
			case "":
				if err := os.Remove(policyFile); err != nil {
					t.Fatal(err)
				}
			case "example":
				data, err := os.ReadFile(examplePolicyPath)
				if err != nil {
					t.Fatal(err)
				}
				writeTestFile(t, dir, "policy.yaml", string(data))
			default:
				writeTestFile(t, dir, "policy.yaml", tc.policy)
			}
			if tc.edit != nil {
				tc.edit(doc)
			}
			file := writeDoc(t, dir, doc)

			code, stdout, stderr := cli(t, context.Background(), nil, "check-config", "--config", file)
			if code != tc.code {
				t.Errorf("exit %d, want %d; stderr:\n%s", code, tc.code, stderr)
			}
			if tc.code == exitOK {
				if want := file + ": OK\n" + policyFile + ": OK\n"; stdout != want || stderr != "" {
					t.Errorf("stdout %q, stderr %q; want %q, nothing", stdout, stderr, want)
				}
				return
			}
			if stdout != "" {
				t.Errorf("stdout %q, want nothing", stdout)
			}
			got := lines(stderr)
			if len(got) != len(tc.lines) {
				t.Fatalf("stderr has %d lines, want %d:\n%s", len(got), len(tc.lines), stderr)
			}
			for i, w := range tc.lines {
				w = strings.NewReplacer("CONFIG", file, "POLICY", policyFile).Replace(w)
				if !strings.HasPrefix(got[i], w) {
					t.Errorf("line %d = %q, want prefix %q", i, got[i], w)
				}
			}
		})
	}
}

func TestCheckConfigMissingFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "nope.yaml")
	code, _, stderr := cli(t, context.Background(), nil, "check-config", "--config", file)
	if code != exitFailure || len(lines(stderr)) != 1 || !strings.HasPrefix(stderr, file+": ") {
		t.Errorf("exit %d, stderr %q", code, stderr)
	}
}

func TestCommandLineErrors(t *testing.T) {
	for _, args := range [][]string{
		{},                               // no command: help on stderr
		{"frobnicate"},                   // unknown command
		{"check-config", "x.yaml"},       // file without --config
		{"check-config", "--confg", "x"}, // unknown flag
		{"serve", "--config"},            // flag without value
		{"version", "extra"},
	} {
		code, stdout, stderr := cli(t, context.Background(), nil, args...)
		if code != exitUsage || stdout != "" || stderr == "" {
			t.Errorf("%q: exit %d, stdout %q, stderr %q; want 2, nothing, a message", args, code, stdout, stderr)
		}
	}
	_, _, stderr := cli(t, context.Background(), nil, "check-config", "x.yaml")
	if !strings.Contains(stderr, "--config FILE") {
		t.Errorf("a positional file should point at --config; stderr %q", stderr)
	}
}

func TestVersion(t *testing.T) {
	code, stdout, _ := cli(t, context.Background(), nil, "version")
	if code != exitOK || !strings.HasPrefix(stdout, "mtciwf "+version+" (commit ") ||
		!strings.Contains(stdout, runtime.Version()) {
		t.Errorf("exit %d, stdout %q", code, stdout)
	}
}

func TestServeBadConfig(t *testing.T) {
	dir := t.TempDir()
	doc := goodDoc(t, dir)
	set(doc, "log.level", "chatty")
	set(doc, "tsp.listen", "nowhere")
	file := writeDoc(t, dir, doc)
	code, _, stderr := cli(t, context.Background(), nil, "serve", "--config", file)
	got := lines(stderr)
	if code != exitUsage || len(got) != 2 || !strings.HasPrefix(got[0], file+": log.level: ") ||
		!strings.HasPrefix(got[1], file+": tsp.listen: ") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

func TestServeRunsUntilCancelled(t *testing.T) {
	dir := t.TempDir()
	file := writeDoc(t, dir, goodDoc(t, dir))
	ctx, cancel := context.WithCancel(context.Background())
	var got *Config
	fake := func(ctx context.Context, cfg *Config, log *zap.Logger) error {
		got = cfg
		log.Info("fake serving")
		cancel() // as a signal would
		<-ctx.Done()
		return nil
	}
	code, _, stderr := cli(t, ctx, fake, "serve", "--config", file)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if got == nil || got.Tsp.Listen != "127.0.0.1:0" {
		t.Errorf("serve got config %+v", got)
	}
	for _, msg := range []string{`"msg":"starting mtciwf"`, `"msg":"fake serving"`, `"msg":"stop requested"`} {
		if !strings.Contains(stderr, msg) {
			t.Errorf("log lacks %s:\n%s", msg, stderr)
		}
	}
}

func TestServeError(t *testing.T) {
	dir := t.TempDir()
	file := writeDoc(t, dir, goodDoc(t, dir))
	fake := func(context.Context, *Config, *zap.Logger) error { return errors.New("tsp.listen: address in use") }
	code, _, stderr := cli(t, context.Background(), fake, "serve", "--config", file)
	if code != exitFailure || !strings.Contains(stderr, "address in use") {
		t.Errorf("exit %d, stderr:\n%s", code, stderr)
	}
}

// TestServeSignals sends real signals to the test process: SIGHUP must not kill it, SIGTERM must
// cancel serve's context and give a clean exit.
func TestServeSignals(t *testing.T) {
	dir := t.TempDir()
	file := writeDoc(t, dir, goodDoc(t, dir))
	var cause error
	fake := func(ctx context.Context, _ *Config, _ *zap.Logger) error {
		// The handlers are installed before serve is called.
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			return err
		}
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		<-ctx.Done()
		cause = context.Cause(ctx)
		return nil
	}
	code, _, stderr := cli(t, context.Background(), fake, "serve", "--config", file)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if cause == nil || !strings.Contains(cause.Error(), "terminated") {
		t.Errorf("serve's context cause = %v, want the SIGTERM", cause)
	}
}

// TestServeStopDeadline: a serve that ignores the stop request does not keep the process alive
// beyond shutdown.grace_period plus the margin.
func TestServeStopDeadline(t *testing.T) {
	dir := t.TempDir()
	doc := goodDoc(t, dir)
	set(doc, "shutdown.grace_period", "1ms")
	file := writeDoc(t, dir, doc)
	release := make(chan struct{})
	defer close(release)
	ctx, cancel := context.WithCancel(context.Background())
	fake := func(context.Context, *Config, *zap.Logger) error {
		cancel()
		<-release // stuck: ignores its context
		return nil
	}
	var stdout, stderr bytes.Buffer
	a := &app{stdout: &stdout, stderr: &stderr, serve: fake, shutdownMargin: 0}
	if code := a.run(ctx, []string{"serve", "--config", file}); code != exitFailure {
		t.Errorf("exit %d, want %d", code, exitFailure)
	}
	if !strings.Contains(stderr.String(), "shutdown did not finish in time") {
		t.Errorf("stderr:\n%s", stderr.String())
	}
}

func TestNewLogger(t *testing.T) {
	var buf bytes.Buffer
	log, err := newLogger(LogConfig{Format: LogFormatJSON, Level: LogLevelInfo}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("hidden")
	log.Info("shown", zap.Duration("wait", 10*time.Second))
	got := lines(buf.String())
	if len(got) != 1 {
		t.Fatalf("want one line (debug is below info), got:\n%s", buf.String())
	}
	var entry map[string]any
	if err := json.Unmarshal([]byte(got[0]), &entry); err != nil {
		t.Fatalf("not JSON: %v: %s", err, got[0])
	}
	if entry["level"] != "info" || entry["msg"] != "shown" || entry["wait"] != "10s" {
		t.Errorf("entry = %v", entry)
	}
	ts, _ := entry["time"].(string)
	if _, err := time.Parse("2006-01-02T15:04:05.000Z0700", ts); err != nil {
		t.Errorf("time %q is not ISO 8601: %v", ts, err)
	}

	buf.Reset()
	log, err = newLogger(LogConfig{Format: LogFormatConsole, Level: LogLevelDebug}, &buf)
	if err != nil {
		t.Fatal(err)
	}
	log.Debug("visible")
	if !strings.Contains(buf.String(), "DEBUG") || !strings.Contains(buf.String(), "visible") {
		t.Errorf("console output %q", buf.String())
	}

	if _, err := newLogger(LogConfig{Format: "xml", Level: LogLevelInfo}, &buf); err == nil {
		t.Error("format xml accepted")
	}
	if _, err := newLogger(LogConfig{Format: LogFormatJSON, Level: "loud"}, &buf); err == nil {
		t.Error("level loud accepted")
	}
}

// TestSIGHUPNamesKeysNeedingRestart: after an edit of the configuration file,
// SIGHUP logs the keys whose new values need a restart.
func TestSIGHUPNamesKeysNeedingRestart(t *testing.T) {
	dir := t.TempDir()
	doc := goodDoc(t, dir)
	file := writeDoc(t, dir, doc)
	fake := func(ctx context.Context, _ *Config, _ *zap.Logger) error {
		set(doc, "tsp.max_connections", 20)
		set(doc, "hss.request_timeout", "7s")
		writeDoc(t, dir, doc)
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGHUP); err != nil {
			return err
		}
		time.Sleep(200 * time.Millisecond) // let the handler read and log (bounded, not asserted on)
		if err := syscall.Kill(syscall.Getpid(), syscall.SIGTERM); err != nil {
			return err
		}
		<-ctx.Done()
		return nil
	}
	code, _, stderr := cli(t, context.Background(), fake, "serve", "--config", file)
	if code != exitOK {
		t.Fatalf("exit %d, stderr:\n%s", code, stderr)
	}
	if !strings.Contains(stderr, "need a restart") || !strings.Contains(stderr, "tsp.max_connections") ||
		!strings.Contains(stderr, "hss.request_timeout") {
		t.Errorf("no log line naming the changed keys:\n%s", stderr)
	}
}

func TestChangedKeys(t *testing.T) {
	a, b := DefaultConfig(), DefaultConfig()
	if k := changedKeys(a, b); len(k) != 0 {
		t.Fatalf("equal configs differ in %v", k)
	}
	b.Tsp.Listen = "127.0.0.1:1"
	b.Tsp.Peers = append(b.Tsp.Peers, PeerConfig{OriginHost: "x.scs.example"})
	b.SMSC.RecallReplace = !a.SMSC.RecallReplace
	want := []string{"smsc.recall_replace", "tsp.listen", "tsp.peers"}
	if k := changedKeys(a, b); !reflect.DeepEqual(k, want) {
		t.Fatalf("changed keys %v, want %v", k, want)
	}
}
