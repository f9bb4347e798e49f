package sim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestParseInjectionFlag(t *testing.T) {
	tests := []struct {
		in   string
		want Injection
		err  string
	}{
		{in: "target=hss,result=5001,count=3", want: Injection{Target: TargetHSS, Result: 5001, Count: 3}},
		{in: "target=HSS,result=5510", want: Injection{Target: TargetHSS, Result: 5510}},
		{in: "target=hss,result=drop", want: Injection{Target: TargetHSS, Drop: true}},
		{in: "target=smsc,result=5531,delay=1s,count=1", want: Injection{Target: TargetSMSC, Result: 5531, Delay: time.Second, Count: 1}},
		{in: "target=smsc,result=3004", want: Injection{Target: TargetSMSC, Result: 3004}},
		{in: "target=delivery,outcome=absent", want: Injection{Target: TargetDelivery, Outcome: OutcomeAbsent}},
		{in: "target=delivery,outcome=VALIDITY_TIME_EXPIRED,count=2", want: Injection{Target: TargetDelivery, Outcome: OutcomeExpired, Count: 2}},
		{in: "target=delivery,result=drop", want: Injection{Target: TargetDelivery, Drop: true}},
		{in: "target=hss,delay=250ms", want: Injection{Target: TargetHSS, Delay: 250 * time.Millisecond}},
		{in: "result=5001", err: "target is required"},
		{in: "target=mme,result=5001", err: "not hss, smsc or delivery"},
		{in: "target=hss,result=5531", err: "cannot be injected on hss"},
		{in: "target=smsc,result=5510", err: "cannot be injected on smsc"},
		{in: "target=delivery,result=5001", err: "not a result code"},
		{in: "target=hss,outcome=absent", err: "outcome is for target=delivery"},
		{in: "target=hss", err: "nothing to inject"},
		{in: "target=hss,result=drop,outcome=absent", err: "outcome is for"},
		{in: "target=delivery,result=drop,outcome=absent", err: "cannot be combined"},
		{in: "target=hss,result=5001,count=-1", err: "count"},
		{in: "target=hss,result=abc", err: "want a result code or drop"},
		{in: "target=hss,delay=soon", err: "duration"},
		{in: "target=hss,colour=red", err: "unknown key"},
		{in: "target=hss,result", err: "key=value"},
		{in: "target=hss,target=smsc,result=5001", err: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseInjectionFlag(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("got %v, want an error containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Fatalf("got %+v, want %+v", got, tt.want)
			}
			// String writes the flag syntax back.
			again, err := ParseInjectionFlag(got.String())
			if err != nil || again != got {
				t.Errorf("round trip through %q: %+v, %v", got.String(), again, err)
			}
		})
	}
}

func TestInjectorCountsAndOrder(t *testing.T) {
	j := newInjector()
	must := func(in Injection) {
		t.Helper()
		if err := j.add(in); err != nil {
			t.Fatal(err)
		}
	}
	must(Injection{Target: TargetHSS, Result: 5001, Count: 2})
	must(Injection{Target: TargetHSS, Result: 5510, Count: 1})
	must(Injection{Target: TargetSMSC, Drop: true})
	var got []uint32
	for range 4 {
		in, ok := j.take(TargetHSS)
		if !ok {
			got = append(got, 0)
			continue
		}
		got = append(got, in.Result)
	}
	if want := []uint32{5001, 5001, 5510, 0}; !equal(got, want) {
		t.Errorf("HSS results %v, want %v", got, want)
	}
	for range 3 { // count 0 stays until cleared
		if in, ok := j.take(TargetSMSC); !ok || !in.Drop {
			t.Fatalf("smsc drop rule used up: %+v %v", in, ok)
		}
	}
	if _, ok := j.take(TargetDelivery); ok {
		t.Error("delivery rule from nowhere")
	}
	j.clear(TargetSMSC)
	if _, ok := j.take(TargetSMSC); ok {
		t.Error("clear(smsc) left a rule")
	}
	if len(j.list()) != 0 {
		t.Errorf("list after use: %+v", j.list())
	}
}

func equal(a, b []uint32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestControlEndpoint(t *testing.T) {
	s, err := New(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	ts := httptest.NewServer(s.ControlHandler())
	defer ts.Close()

	do := func(method, path string, wantCode int) []byte {
		t.Helper()
		req, _ := http.NewRequest(method, ts.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		if resp.StatusCode != wantCode {
			t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, b, wantCode)
		}
		return b
	}

	var rules []map[string]any
	if err := json.Unmarshal(do("POST", "/inject?target=hss&result=5001&count=3", 200), &rules); err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0]["target"] != "hss" || rules[0]["result"] != "5001" || rules[0]["count"] != float64(3) {
		t.Errorf("POST /inject answered %v", rules)
	}
	do("POST", "/inject?target=delivery&outcome=absent&delay=1s", 200)
	do("POST", "/inject?target=smsc&result=drop&count=1", 200)
	body := do("GET", "/inject", 200)
	if err := json.Unmarshal(body, &rules); err != nil || len(rules) != 3 {
		t.Fatalf("GET /inject: %s", body)
	}
	if rules[2]["delay"] != "1s" || rules[2]["outcome"] != "absent" || rules[1]["result"] != "drop" {
		t.Errorf("GET /inject: %s", body)
	}
	if in, ok := s.inj.take(TargetHSS); !ok || in.Result != 5001 {
		t.Errorf("injected rule not applied: %+v", in)
	}
	if got := s.Injections()[0].Count; got != 2 {
		t.Errorf("count left %d, want 2", got)
	}

	for _, bad := range []string{
		"/inject?target=hss&result=5535",
		"/inject?target=hss&result=5001&result=5510",
		"/inject?target=nowhere&result=5001",
		"/inject?result=5001",
	} {
		var e map[string]string
		if err := json.Unmarshal(do("POST", bad, 400), &e); err != nil || e["error"] == "" {
			t.Errorf("POST %s: error body %v", bad, e)
		}
	}
	do("DELETE", "/inject?target=nowhere", 400)
	do("DELETE", "/inject?target=hss", 200)
	if err := json.Unmarshal(do("GET", "/inject", 200), &rules); err != nil || len(rules) != 2 {
		t.Errorf("after DELETE hss: %v", rules)
	}
	do("DELETE", "/inject", 200)
	if len(s.Injections()) != 0 {
		t.Errorf("DELETE /inject left %v", s.Injections())
	}

	s.ctr.update(func(c *Counters) { c.SIRReceived = 4; c.SIAResults["5001"] = 4 })
	var c Counters
	if err := json.Unmarshal(do("GET", "/counters", 200), &c); err != nil || c.SIRReceived != 4 || c.SIAResults["5001"] != 4 {
		t.Errorf("GET /counters: %+v %v", c, err)
	}
	c = Counters{}
	if err := json.Unmarshal(do("POST", "/counters/reset", 200), &c); err != nil || c.SIRReceived != 0 || len(c.SIAResults) != 0 {
		t.Errorf("POST /counters/reset: %+v %v", c, err)
	}
	do("GET", "/", 200)
	do("PUT", "/counters", 405)
}

func TestControlMustBeLoopback(t *testing.T) {
	for addr, ok := range map[string]bool{
		"127.0.0.1:3872": true, "[::1]:0": true, "localhost:3872": true,
		"0.0.0.0:3872": false, ":3872": false, "192.0.2.1:3872": false,
	} {
		_, err := New(Config{ControlListen: addr})
		if (err == nil) != ok {
			t.Errorf("control %q: %v", addr, err)
		}
	}
}
