// Package iwf holds the MTC-IWF procedures: device trigger, replace,
// recall and delivery report (TS 23.682 5.2, TS 29.368). Each procedure reads
// top to bottom like the numbered request path in DESIGN.md.
package iwf

import (
	"context"

	godiam "github.com/fiorix/go-diameter/v4/diam"

	"github.com/mtciwf/mtciwf/diam"
)

// NotEnabled answers every Tsp request that passed the transport's checks
// with DIAMETER_UNABLE_TO_COMPLY (RFC 6733 7.1.5) and says why: the
// device-trigger procedure is not part of this build yet. It is an honest
// answer, not a stub that pretends to accept.
func NotEnabled() diam.Handler {
	return diam.HandlerFunc(func(ctx context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
		return c.NewErrorAnswer(req, diam.ResultUnableToComply, "device triggering is not enabled on this MTC-IWF"), nil
	})
}
