package main

import (
	"fmt"
	"io"
	"time"

	"go.uber.org/zap"
	"go.uber.org/zap/zapcore"
)

// Log sampling, as zap's production preset: per message and second, the first logSampleFirst entries
// are written, then every logSampleThereafter-th. It bounds log volume when a peer floods the daemon
// with bad input, at the cost of dropping repeats of the same message.
const (
	logSampleTick       = time.Second
	logSampleFirst      = 100
	logSampleThereafter = 100
)

// newLogger builds the daemon's logger from the "log" section, writing to w (stderr in the daemon).
// json uses zap's production encoder with ISO 8601 times under "time" and durations as "10s"; console is the development
// encoder, also with ISO 8601 times. Stack traces are attached only from DPanic up: an error logged
// by the gateway is almost always about a peer, not a bug, and a stack would only bury it.
func newLogger(cfg LogConfig, w io.Writer) (*zap.Logger, error) {
	level, err := zapcore.ParseLevel(string(cfg.Level))
	if err != nil {
		return nil, fmt.Errorf("log.level: %w", err)
	}
	var enc zapcore.Encoder
	switch cfg.Format {
	case LogFormatJSON:
		ec := zap.NewProductionEncoderConfig()
		ec.TimeKey = "time"
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		ec.EncodeDuration = zapcore.StringDurationEncoder // "10s", as written in the configuration
		enc = zapcore.NewJSONEncoder(ec)
	case LogFormatConsole:
		ec := zap.NewDevelopmentEncoderConfig()
		ec.EncodeTime = zapcore.ISO8601TimeEncoder
		enc = zapcore.NewConsoleEncoder(ec)
	default:
		return nil, fmt.Errorf("log.format: %q is not json or console", cfg.Format)
	}
	out := zapcore.Lock(zapcore.AddSync(w))
	core := zapcore.NewSamplerWithOptions(zapcore.NewCore(enc, out, level),
		logSampleTick, logSampleFirst, logSampleThereafter)
	return zap.New(core, zap.AddCaller(), zap.AddStacktrace(zapcore.DPanicLevel), zap.ErrorOutput(out)), nil
}
