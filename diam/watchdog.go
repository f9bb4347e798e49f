package diam

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/fiorix/go-diameter/v4/diam/avp"
	"github.com/fiorix/go-diameter/v4/diam/datatype"
	"go.uber.org/zap"
)

// Watchdog states of RFC 3539 3.4 (Appendix A). A connection enters OKAY
// when the capabilities exchange succeeds. INITIAL and REOPEN belong to the
// reconnecting side (core peers, next issue) and are not modelled here.
type wdState int

const (
	wdOkay wdState = iota
	wdSuspect
	wdDown
)

// jitteredTw returns Tw with the ±2 s jitter RFC 3539 3.4.1 requires, so
// that peers do not synchronise their watchdogs.
func jitteredTw(tw time.Duration) time.Duration {
	span := 2 * time.Second
	if tw < 8*time.Second {
		span = tw / 4 // short test intervals keep the same proportion
	}
	if span <= 0 {
		return tw
	}
	return tw - span + time.Duration(rand.Int64N(int64(2*span)))
}

func (c *Conn) pokeWatchdog() {
	select {
	case c.wdWake <- struct{}{}:
	default:
	}
}

// watchdog runs the RFC 3539 Appendix A rows that apply to an open
// connection:
//
//	OKAY     Receive non-DWA / any message -> SetWatchdog()         OKAY
//	OKAY     Timer expires               -> SendWatchdog(), SetWatchdog(), Pending=TRUE  SUSPECT
//	SUSPECT  Receive DWA or any message  -> Pending=FALSE, SetWatchdog()  OKAY
//	SUSPECT  Timer expires               -> CloseConnection()       DOWN
//
// "Timer expires" means Tw passed without any message received, so traffic
// itself keeps a busy peer alive and DWR is only sent on silence.
func (c *Conn) watchdog() {
	tw := c.cfg.WatchdogInterval
	state := wdOkay
	timer := time.NewTimer(jitteredTw(tw))
	defer timer.Stop()
	for {
		select {
		case <-c.closed:
			return
		case <-c.wdWake:
			state = wdOkay
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
			timer.Reset(jitteredTw(tw))
		case <-timer.C:
			silent := c.cfg.Now().Sub(time.Unix(0, c.lastRx.Load()))
			if silent < tw/2 {
				// A message arrived since the timer was set: the wake
				// signal is on its way; rearm.
				timer.Reset(jitteredTw(tw))
				continue
			}
			switch state {
			case wdOkay:
				state = wdSuspect
				c.logger().Debug("peer silent: sending DWR", zap.Duration("silent_for", silent))
				go c.sendDWR(tw)
				timer.Reset(jitteredTw(tw))
			case wdSuspect:
				state = wdDown
				c.stats.WatchdogFailures.Add(1)
				c.logger().Warn("peer did not answer DWR: closing (RFC 3539 SUSPECT -> DOWN)", zap.Duration("silent_for", silent))
				c.closeWith(fmt.Errorf("watchdog: no answer to DWR, nothing received for %v (Tw %v, RFC 3539 3.4.1)", silent.Round(time.Millisecond), tw))
				return
			}
		}
	}
}

// newDWR builds a DWR (RFC 6733 5.5.1): our Origin-Host, Origin-Realm and
// Origin-State-Id.
func (c *Conn) newDWR() *godiam.Message {
	id := &c.cfg.Identity
	dwr := godiam.NewRequest(CmdDeviceWatchdog, 0, c.cfg.App.Dict)
	dwr.AddAVP(id.OriginHostAVP())
	dwr.AddAVP(id.OriginRealmAVP())
	dwr.AddAVP(godiam.NewAVP(avp.OriginStateID, avp.Mbit, 0, datatype.Unsigned32(id.OriginStateID)))
	return dwr
}

func (c *Conn) sendDWR(tw time.Duration) {
	dwr := c.newDWR()
	ctx, cancel := context.WithTimeout(context.Background(), tw)
	defer cancel()
	if _, err := c.Request(ctx, dwr); err != nil {
		c.logger().Debug("DWR got no answer", zap.Error(err))
	}
}

// Watchdog sends one DWR now and waits for the DWA (used by the SCS tool to
// show a DWR/DWA exchange, and by tests).
func (c *Conn) Watchdog(ctx context.Context) (*godiam.Message, error) {
	return c.Request(ctx, c.newDWR())
}
