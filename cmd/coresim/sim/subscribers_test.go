package sim

import (
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"
)

// repoFile is a path relative to the repository root.
func repoFile(t *testing.T, rel string) string {
	t.Helper()
	_, here, _, ok := runtime.Caller(0)
	if !ok {
		t.Fatal("no caller")
	}
	return filepath.Join(filepath.Dir(here), "..", "..", "..", rel)
}

func TestExampleSubscriberFileLoads(t *testing.T) {
	f, err := LoadFile(repoFile(t, "configs/subscribers.yaml"))
	if err != nil {
		t.Fatalf("configs/subscribers.yaml: %v", err)
	}
	if len(f.Subscribers) < 5 {
		t.Errorf("example has %d subscribers; it should show every case", len(f.Subscribers))
	}
	d, err := newDirectory(f.Subscribers)
	if err != nil {
		t.Fatal(err)
	}
	s, ok := d.byExternalID("4711@IOT.example.com")
	if !ok || s.IMSI != "001010000000001" {
		t.Errorf("lookup by second external identifier, domain in another case: %v %v", s, ok)
	}
	if s, ok := d.byMSISDN("+491710000003"); !ok || s.Name != "sensor-3" || s.DeliveryOutcome != OutcomeMemory {
		t.Errorf("lookup by MSISDN: %+v %v", s, ok)
	}
	if s, ok := d.byIMSIValue("001010000000004"); !ok || !s.Absent || s.AbsentDiagnostic != "ue_detached" {
		t.Errorf("absent subscriber: %+v %v", s, ok)
	}
	if s, _ := d.byExternalID("legacy-5@iot.example.com"); s.TriggerAllowed() {
		t.Error("trigger_service: false not honoured")
	}
	if s, _ := d.byExternalID("meter-1@iot.example.com"); !s.TriggerAllowed() || !s.allows("+491719900002") || s.allows("491719900003") {
		t.Errorf("meter-1 rights wrong: %+v", s)
	}
}

func TestParseFileRefuses(t *testing.T) {
	const good = `
  - external_identifiers: [a@x.example]
    imsi: "001010000000001"
    serving_node: {msc_number: "4930"}
`
	tests := []struct {
		name, yaml, want string
	}{
		{"unknown key", "subscribers:\n  - imsi: \"001010000000001\"\n    colour: red\n", "field colour not found"},
		{"no imsi", "subscribers:\n  - external_identifiers: [a@x.example]\n    serving_node: {msc_number: \"49\"}\n", "imsi"},
		{"imsi letters", "subscribers:\n  - external_identifiers: [a@x.example]\n    imsi: \"00101abc\"\n    serving_node: {msc_number: \"49\"}\n", "imsi"},
		{"no identity", "subscribers:\n  - imsi: \"001010000000001\"\n    serving_node: {msc_number: \"49\"}\n", "external identifier or an msisdn"},
		{"bad external id", "subscribers:\n  - external_identifiers: [nodomain]\n    imsi: \"001010000000001\"\n    serving_node: {msc_number: \"49\"}\n", "<local-id>@<domain-id>"},
		{"absent with node", "subscribers:\n  - msisdn: \"49\"\n    imsi: \"001010000000001\"\n    absent: true\n    serving_node: {msc_number: \"49\"}\n", "absent subscriber has no serving node"},
		{"no node", "subscribers:\n  - msisdn: \"49\"\n    imsi: \"001010000000001\"\n", "no serving_node"},
		{"mme without number", "subscribers:\n  - msisdn: \"49\"\n    imsi: \"001010000000001\"\n    serving_node: {mme: {name: m, realm: r}}\n", "number"},
		{"sgsn and msc", "subscribers:\n  - msisdn: \"49\"\n    imsi: \"001010000000001\"\n    serving_node: {msc_number: \"49\", sgsn_number: \"48\"}\n", "cannot be combined"},
		{"bad outcome", "subscribers:\n  - msisdn: \"49\"\n    imsi: \"001010000000001\"\n    serving_node: {msc_number: \"49\"}\n    delivery_outcome: lost\n", "not one of"},
		{"bad scs", "subscribers:\n  - msisdn: \"49\"\n    imsi: \"001010000000001\"\n    serving_node: {msc_number: \"49\"}\n    allowed_scs: [scs1]\n", "allowed_scs"},
		{"duplicate imsi", "subscribers:" + good + good, "imsi listed twice"},
		{"duplicate external id", "subscribers:" + good + strings.Replace(good, "001010000000001", "001010000000002", 1), "listed twice"},
		{"bad injection", "subscribers: []\ninject:\n  - {target: hss, result: 5535}\n", "cannot be injected on hss"},
		{"diagnostic without absent", "subscribers:\n  - msisdn: \"49\"\n    imsi: \"001010000000001\"\n    serving_node: {msc_number: \"49\"}\n    absent_diagnostic: ue_purged\n", "only sent with the absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseFile([]byte(tt.yaml))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestParseFileInjections(t *testing.T) {
	f, err := ParseFile([]byte(`
subscribers: []
inject:
  - {target: smsc, result: 5531, count: 1}
  - {target: hss, result: drop}
  - {target: delivery, outcome: expired, delay: 50ms, count: 2}
`))
	if err != nil {
		t.Fatal(err)
	}
	want := []Injection{
		{Target: TargetSMSC, Result: 5531, Count: 1},
		{Target: TargetHSS, Drop: true},
		{Target: TargetDelivery, Outcome: OutcomeExpired, Delay: 50 * time.Millisecond, Count: 2},
	}
	if len(f.Inject) != len(want) {
		t.Fatalf("got %+v", f.Inject)
	}
	for i := range want {
		if f.Inject[i] != want[i] {
			t.Errorf("inject[%d] = %+v, want %+v", i, f.Inject[i], want[i])
		}
	}
}

func TestLoadFileMissing(t *testing.T) {
	_, err := LoadFile(filepath.Join(t.TempDir(), "nope.yaml"))
	if !os.IsNotExist(err) {
		t.Errorf("got %v, want not-exist", err)
	}
}

func TestDirectoryDoesNotChangeCallerSlice(t *testing.T) {
	subs := []Subscriber{{MSISDN: "+49", IMSI: "001010000000001", AllowedSCS: []string{"+4930"}, ServingNode: ServingNode{MSCNumber: "49"}}}
	d, err := newDirectory(subs)
	if err != nil {
		t.Fatal(err)
	}
	if subs[0].MSISDN != "+49" || subs[0].AllowedSCS[0] != "+4930" {
		t.Errorf("caller's subscribers changed: %+v", subs[0])
	}
	if s, ok := d.byMSISDN("49"); !ok || !s.allows("4930") {
		t.Errorf("normalized copy not indexed: %+v %v", s, ok)
	}
}
