package security

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"time"

	"github.com/fsnotify/fsnotify"
	"go.uber.org/zap"
)

// FileWatch calls a reload function, debounced, whenever one of a set of
// files changes on disk. It watches the files' directories (fsnotify), so a
// file replaced by rename (how editors and deployment tools write), created
// after a removal, or swapped in by a Kubernetes "..data" symlink is seen as
// well as one written in place. The CRLs, the TLS material and the policy
// share it. The zero value is ready; safe for concurrent use.
type FileWatch struct {
	mu   sync.Mutex
	stop context.CancelFunc
	done chan struct{}
}

// Start watches files until ctx ends or Stop, calling reload after each
// burst of changes has been quiet for debounce. what names the files in log
// lines and errors. It fails when a watch is already running.
func (w *FileWatch) Start(ctx context.Context, what string, files []string, debounce time.Duration, reload func(), log *zap.Logger) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.done != nil {
		select {
		case <-w.done: // the previous watch ended with its context
		default:
			return fmt.Errorf("security: %s watch already running", what)
		}
	}
	if len(files) == 0 {
		return errors.New("security: " + what + " watch: no files")
	}
	fw, err := fsnotify.NewWatcher()
	if err != nil {
		return fmt.Errorf("security: %s watch: %w", what, err)
	}
	names := map[string]bool{}
	dirs := map[string]bool{}
	for _, f := range files {
		name := absClean(f)
		names[name] = true
		if d := filepath.Dir(name); !dirs[d] {
			dirs[d] = true
			if err := fw.Add(d); err != nil {
				fw.Close()
				return fmt.Errorf("security: %s watch %s: %w", what, d, err)
			}
		}
	}
	ctx, cancel := context.WithCancel(ctx)
	w.stop, w.done = cancel, make(chan struct{})
	go watchLoop(ctx, fw, names, debounce, reload, what, log, w.done)
	log.Info("watching "+what+" files", zap.Strings("files", files))
	return nil
}

// Stop ends the watch and waits for it; safe without Start and more than once.
func (w *FileWatch) Stop() {
	w.mu.Lock()
	stop, done := w.stop, w.done
	w.stop, w.done = nil, nil
	w.mu.Unlock()
	if stop != nil {
		stop()
		<-done
	}
}

func watchLoop(ctx context.Context, fw *fsnotify.Watcher, names map[string]bool, debounce time.Duration,
	reload func(), what string, log *zap.Logger, done chan struct{}) {
	defer close(done)
	defer fw.Close()
	timer := time.NewTimer(time.Hour)
	timer.Stop()
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-fw.Events:
			if !ok {
				return
			}
			if names[absClean(ev.Name)] || filepath.Base(ev.Name) == "..data" {
				timer.Reset(debounce)
			}
		case err, ok := <-fw.Errors:
			if !ok {
				return
			}
			log.Warn(what+" watch error", zap.Error(err))
		case <-timer.C:
			reload()
		}
	}
}

func absClean(f string) string {
	if abs, err := filepath.Abs(f); err == nil {
		return abs
	}
	return filepath.Clean(f)
}
