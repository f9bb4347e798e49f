package sim_test

import (
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam/dict"

	"github.com/mtciwf/mtciwf/cmd/coresim/sim"
	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/s6m"
	"github.com/mtciwf/mtciwf/dictionaries"
)

func s6mDict(t *testing.T) *dict.Parser {
	t.Helper()
	d, err := dictionaries.S6m()
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sir builds the SIR an MTC-IWF sends for a device trigger.
func sir(user core.UserIdentifier, scs string) *s6m.SIR {
	return &s6m.SIR{
		Routing:        core.Routing{OriginHost: iwfHost, OriginRealm: iwfRealm, DestinationRealm: "operator.example"},
		UserIdentifier: user,
		ServiceID:      new(s6m.DeviceTrigger),
		SCSIdentity:    scs,
		Flags:          s6m.S6mIndicator,
	}
}

// ask sends req on c and decodes the SIA.
func ask(t *testing.T, c *diam.Conn, d *dict.Parser, req *s6m.SIR) *s6m.SIA {
	t.Helper()
	m, err := req.Message(d)
	if err != nil {
		t.Fatalf("SIR: %v", err)
	}
	ans, err := c.Request(ctxT(t), m)
	if err != nil {
		t.Fatalf("SIR: no SIA: %v", err)
	}
	sia, pe := s6m.DecodeSIA(ans)
	if pe != nil {
		t.Fatalf("SIA undecodable: %v", pe)
	}
	return sia
}

func TestHSS(t *testing.T) {
	r := newRig(t, nil)
	c := r.dialHSS()
	d := s6mDict(t)
	ok := core.ResultCode(2001)
	mme := &core.ServingNode{MMEName: "mme1.operator.example", MMERealm: "operator.example", MMENumberForMTSMS: "491720000001"}
	tests := []struct {
		name      string
		req       *s6m.SIR
		want      core.Result
		wantUser  core.UserIdentifier
		wantNode  *core.ServingNode
		wantCause *s6m.HSSCause
	}{
		{name: "by external identifier", req: sir(core.UserIdentifier{ExternalIdentifier: "meter-1@iot.example.com"}, scsA), want: ok,
			wantUser: core.UserIdentifier{IMSI: "001010000000001", MSISDN: "491710000001", ExternalIdentifier: "meter-1@iot.example.com"},
			wantNode: mme},
		{name: "by second external identifier, other allowed SCS", req: sir(core.UserIdentifier{ExternalIdentifier: "4711@iot.example.com"}, scsB), want: ok,
			wantUser: core.UserIdentifier{IMSI: "001010000000001", MSISDN: "491710000001", ExternalIdentifier: "4711@iot.example.com"},
			wantNode: mme},
		{name: "by MSISDN", req: sir(core.UserIdentifier{MSISDN: "491710000001"}, scsA), want: ok,
			wantUser: core.UserIdentifier{IMSI: "001010000000001", MSISDN: "491710000001", ExternalIdentifier: "meter-1@iot.example.com"},
			wantNode: mme},
		{name: "MSISDN-only subscriber on an SGSN", req: sir(core.UserIdentifier{MSISDN: "491710000003"}, scsA), want: ok,
			wantUser: core.UserIdentifier{IMSI: "001010000000003", MSISDN: "491710000003"},
			wantNode: &core.ServingNode{SGSNNumber: "491740000001"}},
		{name: "SGs: MSC number with MME name and realm", req: sir(core.UserIdentifier{ExternalIdentifier: "sgs@iot.example.com"}, scsA), want: ok,
			wantUser: core.UserIdentifier{IMSI: "001010000000002", ExternalIdentifier: "sgs@iot.example.com"},
			wantNode: &core.ServingNode{MSCNumber: "491730000001", MMEName: "mme1.operator.example", MMERealm: "operator.example"}},
		{name: "absent subscriber: HSS-Cause, no serving node", req: sir(core.UserIdentifier{ExternalIdentifier: "sleeper@iot.example.com"}, scsA), want: ok,
			wantUser:  core.UserIdentifier{IMSI: "001010000000004", MSISDN: "491710000004", ExternalIdentifier: "sleeper@iot.example.com"},
			wantCause: new(s6m.AbsentSubscriber)},
		{name: "unknown external identifier", req: sir(core.UserIdentifier{ExternalIdentifier: "nobody@iot.example.com"}, scsA),
			want: core.Experimental3GPP(s6m.ErrorUserUnknown)},
		{name: "unknown MSISDN", req: sir(core.UserIdentifier{MSISDN: "491799999999"}, scsA),
			want: core.Experimental3GPP(s6m.ErrorUserUnknown)},
		{name: "SCS not allowed for this UE", req: sir(core.UserIdentifier{ExternalIdentifier: "sgs@iot.example.com"}, scsB),
			want: core.Experimental3GPP(s6m.ErrorUnauthorizedRequestingEntity)},
		{name: "UE no SCS may trigger", req: sir(core.UserIdentifier{ExternalIdentifier: "private@iot.example.com"}, scsA),
			want: core.Experimental3GPP(s6m.ErrorUnauthorizedRequestingEntity)},
		{name: "no SCS-Identity", req: sir(core.UserIdentifier{ExternalIdentifier: "meter-1@iot.example.com"}, ""),
			want: core.Experimental3GPP(s6m.ErrorUnauthorizedRequestingEntity)},
		{name: "trigger service not allowed", req: sir(core.UserIdentifier{ExternalIdentifier: "legacy@iot.example.com"}, scsA),
			want: core.Experimental3GPP(s6m.ErrorUnauthorizedService)},
		{name: "SMS_MO service not simulated", req: func() *s6m.SIR {
			q := sir(core.UserIdentifier{ExternalIdentifier: "meter-1@iot.example.com"}, scsA)
			q.ServiceID = new(s6m.SMSMO)
			return q
		}(), want: core.Experimental3GPP(s6m.ErrorUnauthorizedService)},
	}
	want := map[string]uint64{}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sia := ask(t, c, d, tt.req)
			want[resultString(tt.want)]++
			if sia.Result != tt.want {
				t.Fatalf("SIA %v, want %v", sia.Result, tt.want)
			}
			if !tt.want.IsSuccess() {
				if len(sia.UserIdentifiers) != 0 || sia.ServiceData != nil {
					t.Errorf("a refusal carries subscriber data: %+v", sia)
				}
				return
			}
			if len(sia.UserIdentifiers) != 1 || sia.UserIdentifiers[0] != tt.wantUser {
				t.Errorf("User-Identifier %+v, want %+v", sia.UserIdentifiers, tt.wantUser)
			}
			t4 := sia.T4()
			if t4 == nil {
				t.Fatal("no T4-Data")
			}
			if (t4.ServingNode == nil) != (tt.wantNode == nil) || t4.ServingNode != nil && *t4.ServingNode != *tt.wantNode {
				t.Errorf("Serving-Node %+v, want %+v", t4.ServingNode, tt.wantNode)
			}
			if (t4.HSSCause == nil) != (tt.wantCause == nil) || t4.HSSCause != nil && *t4.HSSCause != *tt.wantCause {
				t.Errorf("HSS-Cause %v, want %v", t4.HSSCause, tt.wantCause)
			}
		})
	}
	got := r.sim.Counters()
	if got.SIRReceived != uint64(len(tests)) {
		t.Errorf("sir_received %d, want %d", got.SIRReceived, len(tests))
	}
	for k, n := range want {
		if got.SIAResults[k] != n {
			t.Errorf("sia_results[%s] = %d, want %d (all: %v)", k, got.SIAResults[k], n, got.SIAResults)
		}
	}
	if got.DTRReceived != 0 {
		t.Errorf("dtr_received %d on the HSS", got.DTRReceived)
	}
}

func resultString(r core.Result) string {
	return map[uint32]string{2001: "2001", 5001: "5001", 5510: "5510", 5511: "5511", 3004: "3004", 5012: "5012"}[r.Code]
}

func TestHSSInjection(t *testing.T) {
	user := core.UserIdentifier{ExternalIdentifier: "meter-1@iot.example.com"}
	tests := []struct {
		name   string
		inject []string // flag syntax
		want   []core.Result
	}{
		{"5001 twice, then the subscriber", []string{"target=hss,result=5001,count=2"},
			[]core.Result{core.Experimental3GPP(5001), core.Experimental3GPP(5001), core.ResultCode(2001)}},
		{"5510 then 5511 in order", []string{"target=hss,result=5510,count=1", "target=hss,result=5511,count=1"},
			[]core.Result{core.Experimental3GPP(5510), core.Experimental3GPP(5511), core.ResultCode(2001)}},
		{"until cleared", []string{"target=hss,result=5511"},
			[]core.Result{core.Experimental3GPP(5511), core.Experimental3GPP(5511), core.Experimental3GPP(5511)}},
		{"too busy (E bit)", []string{"target=hss,result=3004,count=1"},
			[]core.Result{core.ResultCode(3004), core.ResultCode(2001)}},
		{"unable to comply", []string{"target=hss,result=5012,count=1"},
			[]core.Result{core.ResultCode(5012), core.ResultCode(2001)}},
		{"late answer", []string{"target=hss,delay=30ms,count=1"},
			[]core.Result{core.ResultCode(2001)}},
		{"late refusal", []string{"target=hss,result=5001,delay=30ms,count=1"},
			[]core.Result{core.Experimental3GPP(5001), core.ResultCode(2001)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := newRig(t, nil)
			for _, f := range tt.inject {
				in, err := sim.ParseInjectionFlag(f)
				if err != nil {
					t.Fatal(err)
				}
				if err := r.sim.Inject(in); err != nil {
					t.Fatal(err)
				}
			}
			c := r.dialHSS()
			d := s6mDict(t)
			for i, want := range tt.want {
				if got := ask(t, c, d, sir(user, scsA)).Result; got != want {
					t.Errorf("SIA %d: %v, want %v", i+1, got, want)
				}
			}
			if n := r.sim.Counters().SIRReceived; n != uint64(len(tt.want)) {
				t.Errorf("sir_received %d, want %d", n, len(tt.want))
			}
		})
	}
}

// TestHSSDrop: a dropped SIR gets no answer at all; the connection stays
// usable for the next one.
func TestHSSDrop(t *testing.T) {
	r := newRig(t, func(c *sim.Config) { c.Inject = []sim.Injection{{Target: sim.TargetHSS, Drop: true, Count: 1}} })
	c := r.dialHSS()
	d := s6mDict(t)
	m, err := sir(core.UserIdentifier{ExternalIdentifier: "meter-1@iot.example.com"}, scsA).Message(d)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := contextWithTimeout(300 * time.Millisecond)
	defer cancel()
	if ans, err := c.Request(ctx, m); err == nil {
		t.Fatalf("dropped SIR answered: %v", ans)
	}
	if got := ask(t, c, d, sir(core.UserIdentifier{ExternalIdentifier: "meter-1@iot.example.com"}, scsA)).Result; got != core.ResultCode(2001) {
		t.Errorf("SIR after the dropped one: %v", got)
	}
	k := r.sim.Counters()
	if k.SIRReceived != 2 || k.SIAResults["drop"] != 1 || k.SIAResults["2001"] != 1 {
		t.Errorf("counters %+v", k)
	}
}
