package sim

import (
	"context"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"

	"github.com/mtciwf/mtciwf/diam"
)

// Placeholders until the typed T4 messages land: every request is
// answered DIAMETER_UNABLE_TO_COMPLY with a reason.
type triggerKey struct{}
type trigger struct{ timer *time.Timer }

func (s *Sim) serveT4(_ context.Context, c *diam.Conn, m *godiam.Message) (*godiam.Message, error) {
	return c.NewErrorAnswer(m, resultUnableToComply, "coresim: DTR handling is not built yet"), nil
}
