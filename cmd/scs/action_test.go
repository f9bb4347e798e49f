package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fiorix/go-diameter/v4/diam"

	"github.com/mtciwf/mtciwf/diam/tsp"
	"github.com/mtciwf/mtciwf/dictionaries"
)

func TestReadPayload(t *testing.T) {
	f := filepath.Join(t.TempDir(), "p.bin")
	if err := os.WriteFile(f, []byte{1, 2, 3}, 0o600); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   string
		want []byte
		err  bool
	}{
		{"hello", []byte("hello"), false},
		{"hex:0a0b", []byte{0x0a, 0x0b}, false},
		{"hex:zz", nil, true},
		{"@" + f, []byte{1, 2, 3}, false},
		{"@" + f + ".missing", nil, true},
	}
	for _, tc := range cases {
		got, err := readPayload(tc.in)
		if (err != nil) != tc.err || !bytes.Equal(got, tc.want) {
			t.Errorf("readPayload(%q) = %v, %v", tc.in, got, err)
		}
	}
}

// TestBuildDARRoundTrips: what the tool sends is a DAR the MTC-IWF's own
// decoder accepts, for each action.
func TestBuildDARRoundTrips(t *testing.T) {
	d, err := dictionaries.Tsp()
	if err != nil {
		t.Fatal(err)
	}
	f := &connFlags{originHost: "scs1.scs.example", originRealm: "scs.example", destRealm: "operator.example"}
	for _, action := range []tsp.ActionType{tsp.DeviceTriggerRequest, tsp.DeviceTriggerReplace, tsp.DeviceTriggerRecall} {
		a := &actionFlags{externalID: "meter-1@iot.example.com", scsIdentity: "491719900001", payload: "wake",
			port: 9000, validity: time.Hour, oldReference: 5}
		dar, err := buildDAR(f, a, action, 42)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		m, err := dar.Message(d)
		if err != nil {
			t.Fatalf("%s: %v", action, err)
		}
		b, err := m.Serialize()
		if err != nil {
			t.Fatal(err)
		}
		back, err := diam.ReadMessage(bytes.NewReader(b), d)
		if err != nil {
			t.Fatal(err)
		}
		got, perr := tsp.DecodeDAR(back)
		if perr != nil {
			t.Fatalf("%s: the MTC-IWF would refuse it: %v", action, perr)
		}
		if got.DeviceAction.ReferenceNumber != 42 || got.DeviceAction.ActionType != action {
			t.Errorf("%s: decoded %+v", action, got.DeviceAction)
		}
	}
}
