package main

import (
	"context"
	"errors"

	"go.uber.org/zap"
)

// serve runs the daemon until ctx is cancelled (SIGTERM/SIGINT).
// PLACEHOLDER: replaced by the real wiring (owned by the lead engineer).
func serve(ctx context.Context, cfg *Config, log *zap.Logger) error {
	_ = cfg
	_ = log
	<-ctx.Done()
	return errors.New("not wired yet")
}
