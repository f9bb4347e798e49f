package codectest

import (
	"reflect"
	"testing"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/dict"
	"github.com/mtciwf/mtciwf/diam"
)

// Egress is a check every message we send passes before it leaves
// (tsp.CheckEgress); nil where an interface has none.
type Egress func(*godiam.Message, *dict.Parser) error

// FuzzRequest decodes m, a request read from fuzz input. A refusal must be
// well formed (FuzzPE); it is returned so the caller can check what it
// answers with. An accepted request must encode again (encode is the type's
// Message method), pass egress (when not nil), the frame guard and the
// dictionary validation, and decode to the same struct.
func FuzzRequest[T any](t *testing.T, m *godiam.Message, d *dict.Parser, decode Decode[*T],
	encode func(*T, *dict.Parser) (*godiam.Message, error), egress Egress) *diam.ProtocolError {
	t.Helper()
	r, pe := decode(m)
	if pe != nil {
		FuzzPE(t, pe)
		return pe
	}
	out, err := encode(r, d)
	if err != nil {
		t.Fatalf("decoded %T does not encode: %v\n%+v", r, err, r)
	}
	again := resend(t, out, d, egress)
	Valid(t, again, d)
	r2, pe := decode(again)
	Same(t, r, r2, pe)
	return nil
}

// FuzzAnswer decodes m, an answer read from fuzz input. A refusal must be
// well formed (FuzzPE). An accepted answer must encode again (answer is the
// type's Answer method, given RequestFor(m) and ID), pass egress (when not
// nil) and the frame guard, and decode to the same struct.
func FuzzAnswer[T any](t *testing.T, m *godiam.Message, d *dict.Parser, decode Decode[*T],
	answer func(*T, *godiam.Message, *diam.Identity) (*godiam.Message, error), egress Egress) {
	t.Helper()
	a, pe := decode(m)
	if pe != nil {
		FuzzPE(t, pe)
		return
	}
	out, err := answer(a, RequestFor(m, d), ID)
	if err != nil {
		t.Fatalf("decoded %T does not encode: %v\n%+v", a, err, a)
	}
	a2, pe := decode(resend(t, out, d, egress))
	Same(t, a, a2, pe)
}

// resend checks what we would send with egress (when not nil) and passes it
// through the frame guard and back (Wire).
func resend(t *testing.T, m *godiam.Message, d *dict.Parser, egress Egress) *godiam.Message {
	t.Helper()
	if egress != nil {
		if err := egress(m, d); err != nil {
			t.Fatalf("our own message is refused on egress: %v", err)
		}
	}
	return Wire(t, m, d)
}

// Same checks the second decode of a decode -> encode -> decode round trip:
// no refusal (pe nil) and a struct equal to the first.
func Same(t *testing.T, first, second any, pe *diam.ProtocolError) {
	t.Helper()
	if pe != nil {
		t.Fatalf("re-encoded message refused: %v\nfirst %+v", pe, first)
	}
	if !reflect.DeepEqual(first, second) {
		t.Fatalf("decode -> encode -> decode changed the message:\nfirst  %+v\nsecond %+v", first, second)
	}
}
