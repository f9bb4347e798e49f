package tsp

import (
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/internal/codectest"
	"github.com/mtciwf/mtciwf/dictionaries"
)

func tspDict(tb testing.TB) *dict.Parser {
	tb.Helper()
	return codectest.Dict(tb, dictionaries.Tsp)
}

// Short names for the shared helpers (diam/internal/codectest).
var (
	testID  = codectest.ID
	wire    = codectest.Wire
	valid   = codectest.Valid
	reread  = codectest.Reread
	drop    = codectest.Drop
	put     = codectest.Put
	u32     = codectest.U32
	enum    = codectest.Enum
	octets  = codectest.Octets
	utf8s   = codectest.UTF8
	checkPE = codectest.CheckPE
)

func routing(sid string) core.Routing {
	return core.Routing{
		SessionID:        sid,
		OriginHost:       "scs1.example.org",
		OriginRealm:      "example.org",
		DestinationRealm: "operator.example",
	}
}

// goodDAR is a device trigger with every field set.
func goodDAR() *DAR {
	return &DAR{
		Routing: routing("scs1.example.org;1;2"),
		DeviceAction: DeviceAction{
			ExternalIdentifier: "meter-17@iot.example.org",
			SCSIdentity:        "491710000001",
			ReferenceNumber:    4711,
			ActionType:         DeviceTriggerRequest,
			TriggerData: &TriggerData{
				Payload:                   []byte("wake up"),
				PriorityIndication:        new(Priority),
				ApplicationPortIdentifier: new(uint32(9200)),
			},
			ValidityTime: new(uint32(3600)),
		},
	}
}

// darMessage builds, sends and receives r.
func darMessage(tb testing.TB, r *DAR, d *dict.Parser) *godiam.Message {
	tb.Helper()
	return codectest.Sent(tb, r, (*DAR).Message, d)
}
