package main

import (
	"encoding/json"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"go/types"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/spf13/viper"
)

// examplePath is configs/mtciwf.yaml, seen from this package's directory.
const examplePath = "../../configs/mtciwf.yaml"

// devPKIFiles are the files the built-in defaults point at, relative to the working directory.
var devPKIFiles = []string{defaultTLSCertFile, defaultTLSKeyFile, defaultTLSClientCAFile, defaultTLSCRLFile}

// writeTestFile creates dir/name (and its directory) with content and
// returns its path.
func writeTestFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, path, []byte(content))
	return path
}

// examplePolicyPath is configs/policy.yaml, seen from this package's directory.
const examplePolicyPath = "../../configs/policy.yaml"

// goodPolicy is a valid policy file for the peers of goodDoc: scs1 and scs2, both reachable through
// the agent dra1.
const goodPolicy = `scs:
  - id: scs1
    peers: [{origin_host: scs1.scs.example, realm: scs.example}]
    agents: [dra1.scs.example]
    scs_identity: "491719900001"
    rules:
      - {allow: {msisdn_prefix: "49171"}}
  - id: scs2
    peers: [{origin_host: scs2.scs.example, realm: scs.example}]
    agents: [dra1.scs.example]
    scs_identity: "491719900002"
    rules:
      - {allow: {external_id_domain: iot.example.com}, actions: [trigger]}
`

// inDevPKIDir changes into a fresh directory holding stand-ins for the dev PKI files, so the built-in
// defaults' relative paths resolve. Validation only checks that those files are readable; the
// policy file is parsed (check-config), so it is a copy of the example configs/policy.yaml, the
// policy of the dev peers.
func inDevPKIDir(t *testing.T) {
	t.Helper()
	examplePolicy, err := os.ReadFile(examplePolicyPath)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, f := range devPKIFiles {
		writeTestFile(t, dir, f, "stand-in for "+f)
	}
	writeTestFile(t, dir, defaultPolicyFile, string(examplePolicy))
	t.Chdir(dir)
}

// goodDoc returns a complete, valid configuration as a JSON-able document (JSON is YAML), with its
// files in dir.
func goodDoc(t *testing.T, dir string) map[string]any {
	t.Helper()
	file := func(name string) string { return writeTestFile(t, dir, name, "pem") }
	return map[string]any{
		"log":      map[string]any{"format": "json", "level": "info"},
		"identity": map[string]any{"origin_host": "mtciwf.operator.example", "origin_realm": "operator.example"},
		"tsp": map[string]any{
			"listen": "127.0.0.1:0",
			"tls": map[string]any{
				"cert_file":         file("server.pem"),
				"key_file":          file("server-key.pem"),
				"client_ca_files":   []any{file("ca1.pem"), file("ca2.pem")},
				"crl_files":         []any{file("crl.pem")},
				"handshake_timeout": "5s",
			},
			"max_connections":              100,
			"max_connections_per_ip":       10,
			"max_message_size":             65536,
			"max_avp_depth":                8,
			"max_avps":                     1024,
			"max_in_flight_per_connection": 256,
			"watchdog_interval":            "30s",
			"cer_timeout":                  "10s",
			"write_timeout":                "10s",
			"duplicate_window":             "4m",
			"duplicate_cache_size":         1000,
			"peers": []any{
				map[string]any{"origin_host": "scs1.scs.example", "origin_realm": "scs.example", "kind": "scs"},
				map[string]any{"origin_host": "scs2.scs.example", "origin_realm": "scs.example", "kind": "scs"},
				map[string]any{"origin_host": "dra1.scs.example", "origin_realm": "scs.example", "kind": "agent",
					"scs_origin_hosts": []any{"scs1.scs.example", "scs2.scs.example"}},
			},
		},
		"data_dir":    filepath.Join(dir, "data"), // missing: the daemon creates it
		"policy_file": writeTestFile(t, dir, "policy.yaml", goodPolicy),
		"triggers": map[string]any{
			"max_payload_bytes": 160,
			"max_validity":      "12h",
			"default_validity":  "30m",
			"expiry_grace":      "0s",
			"report_retry_min":  "2s",
			"report_retry_max":  "1m",
		},
		"hss": map[string]any{
			"request_timeout":   "3s",
			"destination_realm": "operator.example",
			"peers": []any{
				map[string]any{"origin_host": "hss1.operator.example", "address": "10.0.0.1:3868",
					"tls": map[string]any{
						"cert_file": file("hss-client.pem"),
						"key_file":  file("hss-client-key.pem"),
						"ca_files":  []any{file("core-ca.pem")},
					}},
				map[string]any{"origin_host": "hss2.operator.example", "address": "hss2.operator.example:3868",
					"tls": map[string]any{"ca_files": []any{file("core-ca.pem")}}},
			},
		},
		"smsc": map[string]any{
			"request_timeout":   "4s",
			"destination_realm": "sms.operator.example",
			"recall_replace":    false,
			"peers": []any{
				map[string]any{"origin_host": "smsc1.operator.example", "address": "[::1]:3871"},
			},
		},
		"shutdown": map[string]any{"grace_period": "10s"},
	}
}

// set stores value at a dotted path in doc ("tsp.peers.1.kind" indexes a list).
func set(doc map[string]any, path string, value any) {
	parts := strings.Split(path, ".")
	var cur any = doc
	for i, p := range parts {
		last := i == len(parts)-1
		switch c := cur.(type) {
		case map[string]any:
			if last {
				c[p] = value
				return
			}
			cur = c[p]
		case []any:
			n := 0
			for _, r := range p {
				n = n*10 + int(r-'0')
			}
			if last {
				c[n] = value
				return
			}
			cur = c[n]
		}
	}
}

// del removes a dotted path from doc.
func del(doc map[string]any, path string) {
	parent, name := "", path
	if i := strings.LastIndex(path, "."); i >= 0 {
		parent, name = path[:i], path[i+1:]
	}
	m := doc
	if parent != "" {
		var cur any = doc
		for _, p := range strings.Split(parent, ".") {
			switch c := cur.(type) {
			case map[string]any:
				cur = c[p]
			case []any:
				n := 0
				for _, r := range p {
					n = n*10 + int(r-'0')
				}
				cur = c[n]
			}
		}
		m = cur.(map[string]any)
	}
	delete(m, name)
}

// writeDoc writes doc as a .yaml file and returns its path.
func writeDoc(t *testing.T, dir string, doc map[string]any) string {
	t.Helper()
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return writeTestFile(t, dir, "mtciwf.yaml", string(b))
}

// configErrors unpacks a LoadConfig error into its ConfigErrors.
func configErrors(t *testing.T, err error) []*ConfigError {
	t.Helper()
	if err == nil {
		return nil
	}
	joined, ok := err.(interface{ Unwrap() []error })
	if !ok {
		t.Fatalf("LoadConfig error is not a joined list: %T %v", err, err)
	}
	var out []*ConfigError
	for _, e := range joined.Unwrap() {
		var ce *ConfigError
		if !errors.As(e, &ce) {
			t.Fatalf("problem is not a *ConfigError: %T %v", e, e)
		}
		out = append(out, ce)
	}
	return out
}

func TestLoadConfigGood(t *testing.T) {
	dir := t.TempDir()
	file := writeDoc(t, dir, goodDoc(t, dir))
	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Tsp.Listen != "127.0.0.1:0" || cfg.Tsp.MaxConnections != 100 || cfg.Tsp.DuplicateCacheSize != 1000 {
		t.Errorf("values from the file not applied: %+v", cfg.Tsp)
	}
	if cfg.Tsp.WatchdogInterval != 30*time.Second || cfg.Tsp.DuplicateWindow != 4*time.Minute {
		t.Errorf("durations: watchdog %v, duplicate window %v", cfg.Tsp.WatchdogInterval, cfg.Tsp.DuplicateWindow)
	}
	if len(cfg.Tsp.TLS.ClientCAFiles) != 2 || !strings.HasSuffix(cfg.Tsp.TLS.ClientCAFiles[1], "ca2.pem") {
		t.Errorf("client_ca_files = %v", cfg.Tsp.TLS.ClientCAFiles)
	}
	want := PeerConfig{OriginHost: "dra1.scs.example", OriginRealm: "scs.example", Kind: PeerKindAgent,
		SCSOriginHosts: []string{"scs1.scs.example", "scs2.scs.example"}}
	if len(cfg.Tsp.Peers) != 3 || !reflect.DeepEqual(cfg.Tsp.Peers[2], want) || cfg.Tsp.Peers[1].Kind != PeerKindSCS {
		t.Errorf("peers = %+v", cfg.Tsp.Peers)
	}
	if want := filepath.Join(dir, "data"); cfg.DataDir != want || cfg.StorePath() != filepath.Join(want, "mtciwf.db") {
		t.Errorf("data_dir = %q, store path %q", cfg.DataDir, cfg.StorePath())
	}
	wantTriggers := TriggersConfig{MaxPayloadBytes: 160, MaxValidity: 12 * time.Hour, DefaultValidity: 30 * time.Minute,
		ExpiryGrace: 0, ReportRetryMin: 2 * time.Second, ReportRetryMax: time.Minute}
	if cfg.Triggers != wantTriggers {
		t.Errorf("triggers = %+v, want %+v", cfg.Triggers, wantTriggers)
	}
	wantHSS := CoreConfig{RequestTimeout: 3 * time.Second, DestinationRealm: "operator.example", Peers: []CorePeerConfig{
		{OriginHost: "hss1.operator.example", Address: "10.0.0.1:3868", TLS: &CorePeerTLS{
			CertFile: filepath.Join(dir, "hss-client.pem"), KeyFile: filepath.Join(dir, "hss-client-key.pem"),
			CAFiles: []string{filepath.Join(dir, "core-ca.pem")}}},
		{OriginHost: "hss2.operator.example", Address: "hss2.operator.example:3868", TLS: &CorePeerTLS{
			CAFiles: []string{filepath.Join(dir, "core-ca.pem")}}},
	}}
	if !reflect.DeepEqual(cfg.HSS, wantHSS) {
		t.Errorf("hss = %+v, want %+v", cfg.HSS, wantHSS)
	}
	wantSMSC := SMSCConfig{CoreConfig: CoreConfig{RequestTimeout: 4 * time.Second, DestinationRealm: "sms.operator.example",
		Peers: []CorePeerConfig{{OriginHost: "smsc1.operator.example", Address: "[::1]:3871"}}}, RecallReplace: false}
	if !reflect.DeepEqual(cfg.SMSC, wantSMSC) {
		t.Errorf("smsc = %+v, want %+v", cfg.SMSC, wantSMSC)
	}
}

// TestLoadConfigProblems: each rule yields a problem naming the file and the key.
func TestLoadConfigProblems(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(doc map[string]any, dir string)
		key     string
		problem string // substring of the problem
	}{
		{"log format", func(d map[string]any, _ string) { set(d, "log.format", "xml") }, "log.format", `"xml" is not a log format`},
		{"log level", func(d map[string]any, _ string) { set(d, "log.level", "trace") }, "log.level", `"trace" is not a log level`},
		{"origin_host missing", func(d map[string]any, _ string) { set(d, "identity.origin_host", "") }, "identity.origin_host", "is required"},
		{"origin_host single label", func(d map[string]any, _ string) { set(d, "identity.origin_host", "localhost") }, "identity.origin_host", "not fully qualified"},
		{"origin_host underscore", func(d map[string]any, _ string) { set(d, "identity.origin_host", "mtc_iwf.example") }, "identity.origin_host", "not a DiameterIdentity"},
		{"origin_host IP", func(d map[string]any, _ string) { set(d, "identity.origin_host", "10.0.0.1") }, "identity.origin_host", "IP address"},
		{"origin_host trailing dot", func(d map[string]any, _ string) { set(d, "identity.origin_host", "a.example.") }, "identity.origin_host", "trailing dot"},
		{"origin_host long label", func(d map[string]any, _ string) {
			set(d, "identity.origin_host", strings.Repeat("a", 64)+".example")
		}, "identity.origin_host", "longer than 63"},
		{"origin_host hyphen", func(d map[string]any, _ string) { set(d, "identity.origin_host", "-a.example") }, "identity.origin_host", "hyphen"},
		{"origin_realm empty", func(d map[string]any, _ string) { set(d, "identity.origin_realm", "") }, "identity.origin_realm", "is required"},
		{"listen without port", func(d map[string]any, _ string) { set(d, "tsp.listen", "127.0.0.1") }, "tsp.listen", "not host:port"},
		{"listen port range", func(d map[string]any, _ string) { set(d, "tsp.listen", "127.0.0.1:65536") }, "tsp.listen", "not a number in 0..65535"},
		{"listen named port", func(d map[string]any, _ string) { set(d, "tsp.listen", ":diameter") }, "tsp.listen", "not a number"},
		{"listen bad host", func(d map[string]any, _ string) { set(d, "tsp.listen", "bad_host:3868") }, "tsp.listen", `host "bad_host"`},
		{"admin listen without port", func(d map[string]any, _ string) { d["admin"] = map[string]any{"listen": "127.0.0.1"} }, "admin.listen", "not host:port"},
		{"admin listen bad host", func(d map[string]any, _ string) { d["admin"] = map[string]any{"listen": "bad_host:9868"} }, "admin.listen", `host "bad_host"`},
		{"admin pprof not a bool", func(d map[string]any, _ string) { d["admin"] = map[string]any{"pprof": "sometimes"} }, "admin.pprof", ""},
		{"cert missing", func(d map[string]any, dir string) {
			set(d, "tsp.tls.cert_file", filepath.Join(dir, "nope.pem"))
		}, "tsp.tls.cert_file", "no such file"},
		{"cert empty path", func(d map[string]any, _ string) { set(d, "tsp.tls.cert_file", "") }, "tsp.tls.cert_file", "is required"},
		{"cert is a directory", func(d map[string]any, dir string) { set(d, "tsp.tls.cert_file", dir) }, "tsp.tls.cert_file", "is a directory"},
		{"key missing", func(d map[string]any, dir string) {
			set(d, "tsp.tls.key_file", filepath.Join(dir, "nope.pem"))
		}, "tsp.tls.key_file", "no such file"},
		{"no client CA", func(d map[string]any, _ string) { set(d, "tsp.tls.client_ca_files", []any{}) }, "tsp.tls.client_ca_files", "at least one"},
		{"client CA missing", func(d map[string]any, dir string) {
			set(d, "tsp.tls.client_ca_files.1", filepath.Join(dir, "nope.pem"))
		}, "tsp.tls.client_ca_files[1]", "no such file"},
		{"CRL missing", func(d map[string]any, dir string) {
			set(d, "tsp.tls.crl_files.0", filepath.Join(dir, "nope.pem"))
		}, "tsp.tls.crl_files[0]", "no such file"},
		{"handshake timeout zero", func(d map[string]any, _ string) { set(d, "tsp.tls.handshake_timeout", "0s") }, "tsp.tls.handshake_timeout", "must be above 0"},
		{"duration without unit", func(d map[string]any, _ string) { set(d, "tsp.tls.handshake_timeout", 5) }, "tsp.tls.handshake_timeout", "not a duration"},
		{"duration garbage", func(d map[string]any, _ string) { set(d, "tsp.cer_timeout", "soon") }, "tsp.cer_timeout", `"soon" is not a duration`},
		{"max_connections zero", func(d map[string]any, _ string) { set(d, "tsp.max_connections", 0) }, "tsp.max_connections", "must be above 0"},
		{"max_connections not a number", func(d map[string]any, _ string) { set(d, "tsp.max_connections", "lots") }, "tsp.max_connections", "whole number"},
		{"max_connections fraction", func(d map[string]any, _ string) { set(d, "tsp.max_connections", 1.5) }, "tsp.max_connections", "whole number"},
		{"per-IP zero", func(d map[string]any, _ string) { set(d, "tsp.max_connections_per_ip", 0) }, "tsp.max_connections_per_ip", "must be above 0"},
		{"per-IP above total", func(d map[string]any, _ string) { set(d, "tsp.max_connections_per_ip", 101) }, "tsp.max_connections_per_ip", "above tsp.max_connections"},
		{"message size small", func(d map[string]any, _ string) { set(d, "tsp.max_message_size", 4095) }, "tsp.max_message_size", "outside 4096..16777215"},
		{"message size large", func(d map[string]any, _ string) { set(d, "tsp.max_message_size", 1<<24) }, "tsp.max_message_size", "outside 4096..16777215"},
		{"AVP depth small", func(d map[string]any, _ string) { set(d, "tsp.max_avp_depth", 1) }, "tsp.max_avp_depth", "outside 2..32"},
		{"AVP depth large", func(d map[string]any, _ string) { set(d, "tsp.max_avp_depth", 33) }, "tsp.max_avp_depth", "outside 2..32"},
		{"max_avps zero", func(d map[string]any, _ string) { set(d, "tsp.max_avps", 0) }, "tsp.max_avps", "must be above 0"},
		{"in-flight negative", func(d map[string]any, _ string) { set(d, "tsp.max_in_flight_per_connection", -1) }, "tsp.max_in_flight_per_connection", "must be above 0"},
		{"watchdog below 6s", func(d map[string]any, _ string) { set(d, "tsp.watchdog_interval", "5999ms") }, "tsp.watchdog_interval", "RFC 3539"},
		{"cer timeout zero", func(d map[string]any, _ string) { set(d, "tsp.cer_timeout", "0s") }, "tsp.cer_timeout", "must be above 0"},
		{"write timeout negative", func(d map[string]any, _ string) { set(d, "tsp.write_timeout", "-1s") }, "tsp.write_timeout", "must be above 0"},
		{"duplicate window zero", func(d map[string]any, _ string) { set(d, "tsp.duplicate_window", "0s") }, "tsp.duplicate_window", "must be above 0"},
		{"duplicate window long", func(d map[string]any, _ string) { set(d, "tsp.duplicate_window", "5m") }, "tsp.duplicate_window", "RFC 6733"},
		{"duplicate cache zero", func(d map[string]any, _ string) { set(d, "tsp.duplicate_cache_size", 0) }, "tsp.duplicate_cache_size", "must be above 0"},
		{"grace period zero", func(d map[string]any, _ string) { set(d, "shutdown.grace_period", "0s") }, "shutdown.grace_period", "must be above 0"},
		{"no peers", func(d map[string]any, _ string) { set(d, "tsp.peers", []any{}) }, "tsp.peers", "no peers"},
		{"peers not a list", func(d map[string]any, _ string) { set(d, "tsp.peers", "scs1.scs.example") }, "tsp.peers", "list of sections"},
		{"peer not a section", func(d map[string]any, _ string) { set(d, "tsp.peers.0", "scs1.scs.example") }, "tsp.peers[0]", "must be a section"},
		{"peer origin_host missing", func(d map[string]any, _ string) { del(d, "tsp.peers.0.origin_host") }, "tsp.peers[0].origin_host", "is required"},
		{"peer origin_realm missing", func(d map[string]any, _ string) { del(d, "tsp.peers.1.origin_realm") }, "tsp.peers[1].origin_realm", "is required"},
		{"peer origin_host invalid", func(d map[string]any, _ string) { set(d, "tsp.peers.0.origin_host", "scs 1") }, "tsp.peers[0].origin_host", "not a DiameterIdentity"},
		{"peer kind missing", func(d map[string]any, _ string) { del(d, "tsp.peers.1.kind") }, "tsp.peers[1].kind", "is required"},
		{"peer kind unknown", func(d map[string]any, _ string) { set(d, "tsp.peers.1.kind", "hss") }, "tsp.peers[1].kind", `"hss" is not a peer kind`},
		{"agent without SCSs", func(d map[string]any, _ string) { del(d, "tsp.peers.2.scs_origin_hosts") }, "tsp.peers[2].scs_origin_hosts", "at least one"},
		{"SCS with SCSs", func(d map[string]any, _ string) {
			set(d, "tsp.peers.0.scs_origin_hosts", []any{"scs2.scs.example"})
		}, "tsp.peers[0].scs_origin_hosts", "only an agent"},
		{"agent SCS invalid", func(d map[string]any, _ string) {
			set(d, "tsp.peers.2.scs_origin_hosts.1", "not valid")
		}, "tsp.peers[2].scs_origin_hosts[1]", "not a DiameterIdentity"},
		{"agent SCS twice", func(d map[string]any, _ string) {
			set(d, "tsp.peers.2.scs_origin_hosts.1", "SCS1.scs.example")
		}, "tsp.peers[2].scs_origin_hosts[1]", "listed twice"},
		{"agent relays for itself", func(d map[string]any, _ string) {
			set(d, "tsp.peers.2.scs_origin_hosts.1", "dra1.scs.example")
		}, "tsp.peers[2].scs_origin_hosts[1]", "the agent itself"},
		{"duplicate origin_host", func(d map[string]any, _ string) {
			set(d, "tsp.peers.1.origin_host", "SCS1.scs.example")
		}, "tsp.peers[1].origin_host", "already the origin_host of tsp.peers[0]"},
		{"peer is this daemon", func(d map[string]any, _ string) {
			set(d, "tsp.peers.0.origin_host", "mtciwf.operator.example")
		}, "tsp.peers[0].origin_host", "own identity.origin_host"},
		{"scs_identity moved to the policy", func(d map[string]any, _ string) {
			set(d, "tsp.peers.0.scs_identity", "491719900001")
		}, "tsp.peers[0].scs_identity", "unknown key: the SCS-Identity moved to the policy file"},
		{"origin_realm unquoted number", func(d map[string]any, _ string) { set(d, "tsp.peers.0.origin_realm", 491719900001) }, "tsp.peers[0].origin_realm", `quote it ("491719900001")`},
		{"agent relays for unlisted SCS", func(d map[string]any, _ string) {
			set(d, "tsp.peers.2.scs_origin_hosts.1", "scs3.scs.example")
		}, "tsp.peers[2].scs_origin_hosts[1]", "not in tsp.peers: every SCS an agent relays for must also be listed there, with kind: scs"},
		{"data_dir empty", func(d map[string]any, _ string) { set(d, "data_dir", "") }, "data_dir", "is required"},
		{"data_dir is a file", func(d map[string]any, dir string) {
			set(d, "data_dir", writeTestFile(t, dir, "data-file", "x"))
		}, "data_dir", "is not a directory"},
		{"data_dir below a file", func(d map[string]any, dir string) {
			set(d, "data_dir", filepath.Join(writeTestFile(t, dir, "data-file", "x"), "db"))
		}, "data_dir", "cannot use"},
		{"data_dir a list", func(d map[string]any, _ string) { set(d, "data_dir", []any{"a"}) }, "data_dir", "must be a string"},
		{"payload zero", func(d map[string]any, _ string) { set(d, "triggers.max_payload_bytes", 0) }, "triggers.max_payload_bytes", "outside 1..65535"},
		{"payload large", func(d map[string]any, _ string) { set(d, "triggers.max_payload_bytes", 65536) }, "triggers.max_payload_bytes", "outside 1..65535"},
		{"max validity zero", func(d map[string]any, _ string) { set(d, "triggers.max_validity", "0s") }, "triggers.max_validity", "must be above 0"},
		{"max validity fraction", func(d map[string]any, _ string) { set(d, "triggers.max_validity", "1500ms") }, "triggers.max_validity", "whole number of seconds"},
		{"default validity negative", func(d map[string]any, _ string) { set(d, "triggers.default_validity", "-1h") }, "triggers.default_validity", "must be above 0"},
		{"default validity fraction", func(d map[string]any, _ string) { set(d, "triggers.default_validity", "1.5s") }, "triggers.default_validity", "whole number of seconds"},
		{"default above max validity", func(d map[string]any, _ string) { set(d, "triggers.default_validity", "13h") }, "triggers.default_validity", "above triggers.max_validity (12h0m0s)"},
		{"expiry grace negative", func(d map[string]any, _ string) { set(d, "triggers.expiry_grace", "-1s") }, "triggers.expiry_grace", "must not be negative"},
		{"store commit linger too long", func(d map[string]any, _ string) { set(d, "store_commit_linger", "1s") }, "store_commit_linger", "1s is outside 0..100ms"},
		{"store commit linger negative", func(d map[string]any, _ string) { set(d, "store_commit_linger", "-1ms") }, "store_commit_linger", "is outside 0..100ms"},
		{"retry min zero", func(d map[string]any, _ string) { set(d, "triggers.report_retry_min", "0s") }, "triggers.report_retry_min", "must be above 0"},
		{"retry max zero", func(d map[string]any, _ string) { set(d, "triggers.report_retry_max", "0s") }, "triggers.report_retry_max", "must be above 0"},
		{"retry min above max", func(d map[string]any, _ string) { set(d, "triggers.report_retry_min", "2m") }, "triggers.report_retry_min", "above triggers.report_retry_max"},
		{"unknown triggers key", func(d map[string]any, _ string) { set(d, "triggers.max_payload_byte", 10) }, "triggers.max_payload_byte", "did you mean max_payload_bytes?"},
		{"hss timeout zero", func(d map[string]any, _ string) { set(d, "hss.request_timeout", "0s") }, "hss.request_timeout", "must be above 0"},
		{"smsc timeout bare number", func(d map[string]any, _ string) { set(d, "smsc.request_timeout", 2) }, "smsc.request_timeout", "not a duration"},
		{"hss realm empty", func(d map[string]any, _ string) { set(d, "hss.destination_realm", "") }, "hss.destination_realm", "is required"},
		{"smsc realm invalid", func(d map[string]any, _ string) { set(d, "smsc.destination_realm", "operator_example") }, "smsc.destination_realm", "not a DiameterIdentity"},
		{"hss no peers", func(d map[string]any, _ string) { set(d, "hss.peers", []any{}) }, "hss.peers", "every request to the HSS (S6m) would fail"},
		{"smsc no peers", func(d map[string]any, _ string) { set(d, "smsc.peers", []any{}) }, "smsc.peers", "every request to the SMS-SC (T4) would fail"},
		{"hss peers not a list", func(d map[string]any, _ string) { set(d, "hss.peers", "hss1.operator.example") }, "hss.peers", "list of sections"},
		{"core peer origin_host missing", func(d map[string]any, _ string) { del(d, "hss.peers.1.origin_host") }, "hss.peers[1].origin_host", "is required"},
		{"core peer origin_host invalid", func(d map[string]any, _ string) { set(d, "smsc.peers.0.origin_host", "smsc") }, "smsc.peers[0].origin_host", "not fully qualified"},
		{"core peer origin_host twice", func(d map[string]any, _ string) {
			set(d, "hss.peers.1.origin_host", "HSS1.operator.example")
		}, "hss.peers[1].origin_host", "already the origin_host of hss.peers[0]"},
		{"core peer is this daemon", func(d map[string]any, _ string) {
			set(d, "smsc.peers.0.origin_host", "mtciwf.operator.example")
		}, "smsc.peers[0].origin_host", "own identity.origin_host"},
		{"core peer is an SCS", func(d map[string]any, _ string) { set(d, "hss.peers.0.origin_host", "scs2.scs.example") }, "hss.peers[0].origin_host", "also tsp.peers[1].origin_host"},
		{"core address missing", func(d map[string]any, _ string) { del(d, "smsc.peers.0.address") }, "smsc.peers[0].address", "not host:port"},
		{"core address without port", func(d map[string]any, _ string) { set(d, "hss.peers.0.address", "10.0.0.1") }, "hss.peers[0].address", "not host:port"},
		{"core address without host", func(d map[string]any, _ string) { set(d, "hss.peers.0.address", ":3868") }, "hss.peers[0].address", "not host:port"},
		{"core address port zero", func(d map[string]any, _ string) { set(d, "hss.peers.0.address", "10.0.0.1:0") }, "hss.peers[0].address", "not a number in 1..65535"},
		{"core address port range", func(d map[string]any, _ string) { set(d, "smsc.peers.0.address", "[::1]:70000") }, "smsc.peers[0].address", "not a number in 1..65535"},
		{"core address bad host", func(d map[string]any, _ string) { set(d, "smsc.peers.0.address", "sms_c:3871") }, "smsc.peers[0].address", `host "sms_c"`},
		{"core address twice", func(d map[string]any, _ string) { set(d, "hss.peers.1.address", "10.0.0.1:3868") }, "hss.peers[1].address", "already the address of hss.peers[0]"},
		{"unknown core peer key", func(d map[string]any, _ string) { set(d, "hss.peers.0.adress", "x") }, "hss.peers[0].adress", "did you mean address?"},
		{"core tls not a section", func(d map[string]any, _ string) { set(d, "smsc.peers.0.tls", true) }, "smsc.peers[0].tls", "must be a section"},
		{"core tls without CA", func(d map[string]any, _ string) { del(d, "hss.peers.0.tls.ca_files") }, "hss.peers[0].tls.ca_files", "at least one CA file"},
		{"core tls empty", func(d map[string]any, _ string) { set(d, "smsc.peers.0.tls", map[string]any{}) }, "smsc.peers[0].tls.ca_files", "at least one CA file"},
		{"core tls CA missing", func(d map[string]any, dir string) {
			set(d, "hss.peers.1.tls.ca_files.0", filepath.Join(dir, "nope.pem"))
		}, "hss.peers[1].tls.ca_files[0]", "no such file"},
		{"core tls cert without key", func(d map[string]any, _ string) { del(d, "hss.peers.0.tls.key_file") }, "hss.peers[0].tls.key_file", "is required with tls.cert_file"},
		{"core tls key without cert", func(d map[string]any, _ string) { del(d, "hss.peers.0.tls.cert_file") }, "hss.peers[0].tls.cert_file", "is required with tls.key_file"},
		{"core tls cert missing", func(d map[string]any, dir string) {
			set(d, "hss.peers.0.tls.cert_file", filepath.Join(dir, "nope.pem"))
		}, "hss.peers[0].tls.cert_file", "no such file"},
		{"core tls key is a directory", func(d map[string]any, dir string) { set(d, "hss.peers.0.tls.key_file", dir) }, "hss.peers[0].tls.key_file", "is a directory"},
		{"recall_replace not a boolean", func(d map[string]any, _ string) { set(d, "smsc.recall_replace", "yes") }, "smsc.recall_replace", "must be true or false"},
		{"recall_replace under hss", func(d map[string]any, _ string) { set(d, "hss.recall_replace", true) }, "hss.recall_replace", "unknown key"},
		{"unknown top-level key", func(d map[string]any, _ string) {
			d["loggin"] = map[string]any{"level": "info"}
		}, "loggin", "unknown key (did you mean log?)"},
		{"unknown nested key", func(d map[string]any, _ string) { set(d, "tsp.tls.certfile", "x") }, "tsp.tls.certfile", "did you mean cert_file?"},
		{"unknown peer key", func(d map[string]any, _ string) { set(d, "tsp.peers.0.orign_realm", "x") }, "tsp.peers[0].orign_realm", "did you mean origin_realm?"},
		{"section given a value", func(d map[string]any, _ string) { d["log"] = "json" }, "log", "must be a section"},
		{"value given a section", func(d map[string]any, _ string) {
			set(d, "tsp.listen", map[string]any{"host": "::1"})
		}, "tsp.listen", "must be a string"},
		{"key without value", func(d map[string]any, _ string) { set(d, "tsp.listen", nil) }, "tsp.listen", "has no value"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			doc := goodDoc(t, dir)
			tc.edit(doc, dir)
			file := writeDoc(t, dir, doc)
			cfg, err := LoadConfig(file)
			if err == nil {
				t.Fatalf("LoadConfig accepted it: %+v", cfg)
			}
			if cfg != nil {
				t.Error("LoadConfig returned a Config with an error")
			}
			var found bool
			for _, ce := range configErrors(t, err) {
				if ce.File != file {
					t.Errorf("problem names file %q, want %q", ce.File, file)
				}
				if !strings.HasPrefix(ce.Error(), file+": ") {
					t.Errorf("Error() = %q, want it to start with the file", ce.Error())
				}
				if ce.Key == tc.key && strings.Contains(ce.Problem, tc.problem) {
					found = true
					if want := file + ": " + tc.key + ": " + ce.Problem; ce.Error() != want {
						t.Errorf("Error() = %q, want %q", ce.Error(), want)
					}
				}
			}
			if !found {
				t.Errorf("no problem with key %q containing %q; got:\n%v", tc.key, tc.problem, err)
			}
		})
	}
}

// TestAdminConfig: the admin listener defaults to loopback, "" disables it, pprof is off unless asked.
func TestAdminConfig(t *testing.T) {
	if d := DefaultConfig().Admin; d.Listen != "127.0.0.1:9868" || d.Pprof {
		t.Errorf("default admin = %+v", d)
	}
	dir := t.TempDir()
	doc := goodDoc(t, dir)
	doc["admin"] = map[string]any{"listen": "", "pprof": true}
	cfg, err := LoadConfig(writeDoc(t, dir, doc))
	if err != nil {
		t.Fatalf("LoadConfig: %v", err)
	}
	if cfg.Admin.Listen != "" || !cfg.Admin.Pprof {
		t.Errorf("admin = %+v", cfg.Admin)
	}
}

// TestLoadConfigListsEveryProblem: several faults in one file are all reported, one each.
func TestLoadConfigListsEveryProblem(t *testing.T) {
	dir := t.TempDir()
	doc := goodDoc(t, dir)
	set(doc, "log.level", "loud")
	set(doc, "tsp.max_avp_depth", 64)
	set(doc, "tsp.watchdog_interval", "1s")
	set(doc, "tsp.peers.1.kind", "")
	set(doc, "tsp.tls.crl_files.0", filepath.Join(dir, "missing-crl.pem"))
	set(doc, "tsp.typo", 1)
	file := writeDoc(t, dir, doc)
	_, err := LoadConfig(file)
	var keys []string
	for _, ce := range configErrors(t, err) {
		keys = append(keys, ce.Key)
	}
	slices.Sort(keys)
	want := []string{"log.level", "tsp.max_avp_depth", "tsp.peers[1].kind", "tsp.tls.crl_files[0]", "tsp.typo", "tsp.watchdog_interval"}
	if !slices.Equal(keys, want) {
		t.Errorf("problems for keys %v, want %v; error:\n%v", keys, want, err)
	}
}

func TestLoadConfigUnreadableFile(t *testing.T) {
	dir := t.TempDir()
	for name, file := range map[string]string{
		"missing":  filepath.Join(dir, "missing.yaml"),
		"not YAML": writeTestFile(t, dir, "broken.yaml", "log: [\n"),
		"dup key":  writeTestFile(t, dir, "dup.yaml", "log: {level: info}\nlog: {level: debug}\n"),
	} {
		t.Run(name, func(t *testing.T) {
			_, err := LoadConfig(file)
			ces := configErrors(t, err)
			if len(ces) != 1 || ces[0].Key != "" || ces[0].File != file {
				t.Fatalf("want one whole-file problem, got %v", err)
			}
			if !strings.HasPrefix(err.Error(), file+": cannot read the configuration: ") {
				t.Errorf("error = %q", err)
			}
		})
	}
}

// TestLoadConfigMissingKeysKeepDefaults: a partial file changes only what it sets.
func TestLoadConfigMissingKeysKeepDefaults(t *testing.T) {
	inDevPKIDir(t)
	file := writeTestFile(t, ".", "partial.yaml", "log:\n  level: debug\ntsp:\n  max_avps: 99\n")
	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	want := DefaultConfig()
	want.Log.Level = LogLevelDebug
	want.Tsp.MaxAVPs = 99
	if !reflect.DeepEqual(cfg, want) {
		t.Errorf("got %+v\nwant %+v", cfg, want)
	}
}

func TestLoadConfigEnvironment(t *testing.T) {
	dir := t.TempDir()
	file := writeDoc(t, dir, goodDoc(t, dir))
	ca1, ca2 := writeTestFile(t, dir, "env-ca1.pem", "x"), writeTestFile(t, dir, "env-ca2.pem", "x")
	t.Setenv("MTCIWF_TSP_LISTEN", "[::1]:13868")
	t.Setenv("MTCIWF_LOG_LEVEL", "debug")
	t.Setenv("MTCIWF_LOG_FORMAT", "console")
	t.Setenv("MTCIWF_TSP_WATCHDOG_INTERVAL", "45s")
	t.Setenv("MTCIWF_TSP_MAX_CONNECTIONS_PER_IP", "7")
	t.Setenv("MTCIWF_TSP_TLS_CLIENT_CA_FILES", ca1+", "+ca2)
	t.Setenv("MTCIWF_SHUTDOWN_GRACE_PERIOD", "1m")
	dataDir := filepath.Join(dir, "env-data")
	t.Setenv("MTCIWF_DATA_DIR", dataDir)
	t.Setenv("MTCIWF_TRIGGERS_MAX_PAYLOAD_BYTES", "100")
	t.Setenv("MTCIWF_TRIGGERS_MAX_VALIDITY", "48h")
	t.Setenv("MTCIWF_HSS_REQUEST_TIMEOUT", "750ms")
	t.Setenv("MTCIWF_HSS_DESTINATION_REALM", "hss.operator.example")
	t.Setenv("MTCIWF_SMSC_REQUEST_TIMEOUT", "5s")
	t.Setenv("MTCIWF_SMSC_RECALL_REPLACE", "True") // the file says false
	cfg, err := LoadConfig(file)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.DataDir != dataDir || cfg.Triggers.MaxPayloadBytes != 100 || cfg.Triggers.MaxValidity != 48*time.Hour ||
		cfg.HSS.RequestTimeout != 750*time.Millisecond || cfg.HSS.DestinationRealm != "hss.operator.example" ||
		cfg.SMSC.RequestTimeout != 5*time.Second || !cfg.SMSC.RecallReplace {
		t.Errorf("environment not applied: data_dir %q, triggers %+v, hss %+v, smsc %+v", cfg.DataDir, cfg.Triggers, cfg.HSS, cfg.SMSC)
	}
	if cfg.Triggers.DefaultValidity != 30*time.Minute || len(cfg.HSS.Peers) != 2 {
		t.Errorf("keys without a variable must keep the file's values: triggers %+v, hss peers %+v", cfg.Triggers, cfg.HSS.Peers)
	}
	if cfg.Tsp.Listen != "[::1]:13868" || cfg.Log.Level != LogLevelDebug || cfg.Log.Format != LogFormatConsole ||
		cfg.Tsp.WatchdogInterval != 45*time.Second || cfg.Tsp.MaxConnectionsPerIP != 7 ||
		cfg.Shutdown.GracePeriod != time.Minute || !slices.Equal(cfg.Tsp.TLS.ClientCAFiles, []string{ca1, ca2}) {
		t.Errorf("environment not applied: %+v", cfg)
	}
	if cfg.Tsp.MaxConnections != 100 {
		t.Errorf("max_connections = %d, want the file's 100", cfg.Tsp.MaxConnections)
	}
}

func TestLoadConfigEnvironmentWithoutFile(t *testing.T) {
	inDevPKIDir(t)
	t.Setenv("MTCIWF_TSP_LISTEN", "0.0.0.0:3868")
	cfg, err := LoadConfig("")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Tsp.Listen != "0.0.0.0:3868" {
		t.Errorf("listen = %q", cfg.Tsp.Listen)
	}
}

func TestLoadConfigEnvironmentProblems(t *testing.T) {
	tests := []struct {
		env, value string
		key        string
		problem    string
	}{
		{"MTCIWF_TSP_MAX_AVPS", "many", "tsp.max_avps", "whole number, got \"many\" (set by MTCIWF_TSP_MAX_AVPS)"},
		{"MTCIWF_TSP_CER_TIMEOUT", "10", "tsp.cer_timeout", "not a duration"},
		{"MTCIWF_LOG_LEVEL", "verbose", "log.level", `"verbose" is not a log level; use debug, info, warn or error (set by MTCIWF_LOG_LEVEL)`},
		{"MTCIWF_TSP_LISTN", "x", "MTCIWF_TSP_LISTN", "did you mean MTCIWF_TSP_LISTEN?"},
		{"MTCIWF_TSP", "x", "MTCIWF_TSP", "unknown environment variable"},
		{"MTCIWF_TSP_PEERS", "scs1.scs.example", "tsp.peers", "cannot be set from a string"},
		{"MTCIWF_LOG_FORMAT", "", "MTCIWF_LOG_FORMAT", "set but empty"},
		{"MTCIWF_HSS_PEERS", "hss1.operator.example", "hss.peers", "cannot be set from a string"},
		{"MTCIWF_SMSC_PEERS", "smsc1.operator.example", "smsc.peers", "cannot be set from a string"},
		{"MTCIWF_SMSC_RECALL_REPLACE", "yes", "smsc.recall_replace", `must be true or false, got "yes" (set by MTCIWF_SMSC_RECALL_REPLACE)`},
		{"MTCIWF_HSS_RECALL_REPLACE", "true", "MTCIWF_HSS_RECALL_REPLACE", "unknown environment variable"},
		{"MTCIWF_TRIGGERS_DEFAULT_VALIDITY", "48h", "triggers.default_validity", "48h0m0s is above triggers.max_validity (12h0m0s)"},
		{"MTCIWF_HSS_REQUEST_TIMEOUT", "2", "hss.request_timeout", "not a duration"},
	}
	for _, tc := range tests {
		t.Run(tc.env, func(t *testing.T) {
			dir := t.TempDir()
			file := writeDoc(t, dir, goodDoc(t, dir))
			t.Setenv(tc.env, tc.value)
			_, err := LoadConfig(file)
			for _, ce := range configErrors(t, err) {
				if ce.Key == tc.key && strings.Contains(ce.Problem, tc.problem) {
					return
				}
			}
			t.Errorf("no problem with key %q containing %q; got:\n%v", tc.key, tc.problem, err)
		})
	}
}

// TestExampleConfigEqualsDefaults keeps configs/mtciwf.yaml and DefaultConfig in step: the example
// loads, validates and equals the built-in defaults, and sets every key.
func TestExampleConfigEqualsDefaults(t *testing.T) {
	example, err := filepath.Abs(examplePath)
	if err != nil {
		t.Fatal(err)
	}
	inDevPKIDir(t) // the example's relative dev/pki paths resolve here

	fromFile, err := LoadConfig(example)
	if err != nil {
		t.Fatalf("%s does not load:\n%v", examplePath, err)
	}
	builtin, err := LoadConfig("")
	if err != nil {
		t.Fatalf("the built-in defaults do not load:\n%v", err)
	}
	if !reflect.DeepEqual(builtin, DefaultConfig()) {
		t.Errorf("LoadConfig(\"\") = %+v, want DefaultConfig() %+v", builtin, DefaultConfig())
	}
	if !reflect.DeepEqual(fromFile, DefaultConfig()) {
		t.Errorf("%s differs from DefaultConfig():\nfile:     %+v\ndefaults: %+v", examplePath, fromFile, DefaultConfig())
	}

	v := viper.New()
	v.SetConfigFile(example)
	if err := v.ReadInConfig(); err != nil {
		t.Fatal(err)
	}
	for _, l := range configSchema().leaves {
		if !v.IsSet(l.key) {
			t.Errorf("%s does not show key %s", examplePath, l.key)
		}
	}
}

// TestConfigFieldsDocumented: every configuration field has a doc comment stating its default (or
// that it is required), as style.md §6.4 asks.
func TestConfigFieldsDocumented(t *testing.T) {
	f, err := parser.ParseFile(token.NewFileSet(), "config.go", nil, parser.ParseComments)
	if err != nil {
		t.Fatal(err)
	}
	structs := map[string]bool{}
	var walk func(reflect.Type)
	walk = func(rt reflect.Type) {
		structs[rt.Name()] = true
		for i := range rt.NumField() {
			ft := rt.Field(i).Type
			if ft.Kind() == reflect.Slice || ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct && ft != durationType {
				walk(ft)
			}
		}
	}
	walk(reflect.TypeFor[Config]())

	seen := map[string]bool{}
	ast.Inspect(f, func(n ast.Node) bool {
		ts, ok := n.(*ast.TypeSpec)
		if !ok || !structs[ts.Name.Name] {
			return true
		}
		seen[ts.Name.Name] = true
		for _, field := range ts.Type.(*ast.StructType).Fields.List {
			doc := field.Doc.Text()
			if !strings.Contains(doc, "Default") && !strings.Contains(doc, "Required") {
				name := types.ExprString(field.Type) // an embedded field has no name
				if len(field.Names) > 0 {
					name = field.Names[0].Name
				}
				t.Errorf("%s.%s: doc comment must state the default (\"Default: ...\") or \"Required\"; got %q",
					ts.Name.Name, name, doc)
			}
		}
		return true
	})
	for name := range structs {
		if !seen[name] {
			t.Errorf("struct %s is not declared in config.go", name)
		}
	}
}

func TestEditDistance(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want int
	}{{"", "", 0}, {"abc", "", 3}, {"cert_file", "certfile", 1}, {"kitten", "sitting", 3}} {
		if got := editDistance(tc.a, tc.b); got != tc.want {
			t.Errorf("editDistance(%q, %q) = %d, want %d", tc.a, tc.b, got, tc.want)
		}
	}
}
