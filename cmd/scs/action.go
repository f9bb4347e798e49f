package main

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	godiam "github.com/fiorix/go-diameter/v4/diam"
	"github.com/spf13/cobra"

	"github.com/mtciwf/mtciwf/diam"
	"github.com/mtciwf/mtciwf/diam/core"
	"github.com/mtciwf/mtciwf/diam/tsp"
	"github.com/mtciwf/mtciwf/dictionaries"
)

// actionFlags describe one Device-Action.
type actionFlags struct {
	externalID, msisdn, scsIdentity string
	payload                         string
	port                            uint32
	validity                        time.Duration
	priority                        bool
	reference, oldReference         uint32
	noWait                          bool
	reportTimeout                   time.Duration
}

// errRefused makes the exit code say the MTC-IWF refused the action.
var errRefused = errors.New("refused")

func actionCommands(out io.Writer, f *connFlags) []*cobra.Command {
	mk := func(use, short string, action tsp.ActionType) *cobra.Command {
		var a actionFlags
		cmd := &cobra.Command{
			Use:   use,
			Short: short,
			RunE: func(cmd *cobra.Command, _ []string) error {
				ctx, stop := signalContext(cmd)
				defer stop()
				return runAction(ctx, out, f, &a, action)
			},
		}
		fl := cmd.Flags()
		fl.StringVar(&a.externalID, "external-id", "", "device External-Identifier <local>@<domain> (or --msisdn)")
		fl.StringVar(&a.msisdn, "msisdn", "", "device MSISDN, E.164 digits (or --external-id)")
		fl.StringVar(&a.scsIdentity, "scs-identity", "491719900001", "our SCS-Identity (E.164 digits) as configured on the MTC-IWF")
		fl.Uint32Var(&a.reference, "reference", 0, "Reference-Number (default: random)")
		fl.BoolVar(&a.noWait, "no-wait", false, "do not wait for the delivery report")
		fl.DurationVar(&a.reportTimeout, "report-timeout", 30*time.Second, "how long to wait for the delivery report")
		if action != tsp.DeviceTriggerRecall {
			fl.StringVar(&a.payload, "payload", "hello", "payload: text, hex:0a0b..., or @file")
			fl.Uint32Var(&a.port, "port", 9000, "Application-Port-Identifier on the device")
			fl.DurationVar(&a.validity, "validity", time.Hour, "Validity-Time (whole seconds)")
			fl.BoolVar(&a.priority, "priority", false, "Priority-Indication PRIORITY")
		}
		if action != tsp.DeviceTriggerRequest {
			fl.Uint32Var(&a.oldReference, "old-reference", 0, "Reference-Number of the trigger to "+use+" (required)")
			_ = cmd.MarkFlagRequired("old-reference")
			a.noWait = action == tsp.DeviceTriggerRecall
		}
		return cmd
	}
	return []*cobra.Command{
		mk("trigger", "Send a device trigger (Action-Type 1), print the DAA and wait for the DNR", tsp.DeviceTriggerRequest),
		mk("replace", "Replace a pending trigger (Action-Type 4)", tsp.DeviceTriggerReplace),
		mk("recall", "Recall a pending trigger (Action-Type 3)", tsp.DeviceTriggerRecall),
	}
}

func readPayload(s string) ([]byte, error) {
	switch {
	case strings.HasPrefix(s, "@"):
		return os.ReadFile(s[1:])
	case strings.HasPrefix(s, "hex:"):
		return hex.DecodeString(s[4:])
	}
	return []byte(s), nil
}

// reports receives the DNRs the MTC-IWF sends and answers each with DNA 2001.
type reports struct {
	ch chan *tsp.DNR
}

func newReports() *reports { return &reports{ch: make(chan *tsp.DNR, 4096)} }

func (r *reports) ServeDiameter(ctx context.Context, c *diam.Conn, req *godiam.Message) (*godiam.Message, error) {
	dnr, perr := tsp.DecodeDNR(req)
	if perr != nil {
		return c.NewErrorAnswer(req, perr.Code, perr.Reason), nil
	}
	select {
	case r.ch <- dnr:
	default:
	}
	dna := tsp.DNA{Result: core.ResultCode(diam.ResultSuccess)}
	return dna.Answer(req, c.Identity())
}

func buildDAR(f *connFlags, a *actionFlags, action tsp.ActionType, ref uint32) (*tsp.DAR, error) {
	da := tsp.DeviceAction{
		ExternalIdentifier: a.externalID, MSISDN: a.msisdn, SCSIdentity: a.scsIdentity,
		ReferenceNumber: ref, ActionType: action,
	}
	if action != tsp.DeviceTriggerRequest {
		old := a.oldReference
		da.OldReferenceNumber = &old
	}
	if action != tsp.DeviceTriggerRecall {
		p, err := readPayload(a.payload)
		if err != nil {
			return nil, fmt.Errorf("--payload: %w", err)
		}
		port := a.port
		prio := core.PriorityIndication(0)
		if a.priority {
			prio = 1
		}
		da.TriggerData = &tsp.TriggerData{Payload: p, ApplicationPortIdentifier: &port, PriorityIndication: &prio}
		vt := uint32(a.validity / time.Second)
		da.ValidityTime = &vt
	}
	return &tsp.DAR{
		Routing:      core.Routing{OriginHost: f.originHost, OriginRealm: f.originRealm, DestinationRealm: f.destRealm},
		DeviceAction: da,
	}, nil
}

func runAction(ctx context.Context, out io.Writer, f *connFlags, a *actionFlags, action tsp.ActionType) error {
	if (a.externalID == "") == (a.msisdn == "") {
		return errors.New("give exactly one of --external-id and --msisdn")
	}
	ref := a.reference
	if ref == 0 {
		ref = rand.Uint32N(1<<31) + 1
	}
	dar, err := buildDAR(f, a, action, ref)
	if err != nil {
		return err
	}
	rep := newReports()
	c, err := dial(ctx, f, rep)
	if err != nil {
		return err
	}
	defer func() {
		dctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		_ = c.Disconnect(dctx, diam.DisconnectDoNotWantToTalkToYou)
	}()
	d, _ := dictionaries.Tsp()
	m, err := dar.Message(d)
	if err != nil {
		return err
	}
	start := time.Now()
	rctx, cancel := context.WithTimeout(ctx, 15*time.Second)
	ans, err := c.Request(rctx, m)
	cancel()
	if err != nil {
		return fmt.Errorf("DAR: %w", err)
	}
	daa, perr := tsp.DecodeDAA(ans)
	if perr != nil {
		return fmt.Errorf("unreadable DAA: %s", perr.Reason)
	}
	status := "-"
	if daa.DeviceNotification != nil && daa.DeviceNotification.RequestStatus != nil {
		status = daa.DeviceNotification.RequestStatus.String()
	}
	fmt.Fprintf(out, "DAA  %s reference %d: Result %s, Request-Status %s (%s)\n", action, ref, daa.Result, status, time.Since(start).Round(time.Microsecond))
	if daa.ErrorMessage != "" {
		fmt.Fprintf(out, "     Error-Message: %s\n", daa.ErrorMessage)
	}
	if !daa.Result.IsSuccess() || daa.DeviceNotification == nil || daa.DeviceNotification.RequestStatus == nil ||
		*daa.DeviceNotification.RequestStatus != tsp.StatusSuccess {
		return errRefused
	}
	if a.noWait {
		return nil
	}
	fmt.Fprintf(out, "     waiting up to %s for the delivery report...\n", a.reportTimeout)
	timer := time.NewTimer(a.reportTimeout)
	defer timer.Stop()
	for {
		select {
		case dnr := <-rep.ch:
			dn := dnr.DeviceNotification
			if dn.ReferenceNumber != ref {
				continue
			}
			outcome := "-"
			if dn.DeliveryOutcome != nil {
				outcome = dn.DeliveryOutcome.String()
			}
			fmt.Fprintf(out, "DNR  reference %d: Delivery-Outcome %s (%s after the DAR); DNA sent\n", ref, outcome, time.Since(start).Round(time.Millisecond))
			if dn.DeliveryOutcome == nil || *dn.DeliveryOutcome != tsp.OutcomeSuccess {
				return errRefused
			}
			return nil
		case <-timer.C:
			return fmt.Errorf("no delivery report for reference %d within %s", ref, a.reportTimeout)
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}
