package policy

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mtciwf/mtciwf/security"
	"go.uber.org/zap"
)

// Watcher holds the policy in force and replaces it when the file changes.
// Readers call Current once per request and judge the whole request with
// that one *Policy, so a reload never changes the rules under a request in
// flight; the next request sees the new policy.
type Watcher struct {
	path string
	log  *zap.Logger
	cur  atomic.Pointer[Policy]

	// OnChange, when set (before Reload or Watch are first called), is
	// called after every reload that put a new policy in force, with the
	// old and the new one, one call at a time and in order. The daemon uses
	// it to disconnect peers in RemovedPeers(old, new) and to Sync its
	// Limiter. It runs on the goroutine that reloaded: keep it short.
	OnChange func(old, new *Policy)
	// Reloaded, when set (like OnChange), is told the result of every
	// reload that read a changed or invalid file: nil when the new policy
	// is in force, the problems when the old one stays (metrics).
	Reloaded func(err error)
	// Debounce is how long Watch waits after the last change before it
	// reloads, so an editor's several writes make one reload. Default 200ms.
	Debounce time.Duration

	reloadMu sync.Mutex // one reload at a time: OnChange sees them in order

	watch security.FileWatch
}

// defaultDebounce is Watcher.Debounce when it is zero.
const defaultDebounce = 200 * time.Millisecond

// NewWatcher loads the policy at path; it fails, with every problem of the
// file, when the file is invalid (the daemon must not start without a
// policy). log receives reload results; nil discards them.
func NewWatcher(path string, log *zap.Logger) (*Watcher, error) {
	if log == nil {
		log = zap.NewNop()
	}
	p, err := Load(path)
	if err != nil {
		return nil, err
	}
	w := &Watcher{path: path, log: log}
	w.cur.Store(p)
	return w, nil
}

// Current returns the policy in force. It never returns nil.
func (w *Watcher) Current() *Policy { return w.cur.Load() }

// Path returns the policy file's path.
func (w *Watcher) Path() string { return w.path }

// Reload reads the file again (the daemon calls it on SIGHUP). A valid file
// becomes the policy in force and OnChange is called; a file whose content
// has not changed is left alone. An invalid or unreadable file keeps the
// previous policy in force: Reload logs every problem ("file:line: key:
// what is wrong") and returns them, joined.
func (w *Watcher) Reload() error {
	w.reloadMu.Lock()
	defer w.reloadMu.Unlock()
	p, err := Load(w.path)
	if err != nil {
		w.log.Error("policy reload failed; the previous policy stays in force",
			zap.String("file", w.path), zap.Strings("problems", problemList(err)))
		if w.Reloaded != nil {
			w.Reloaded(err)
		}
		return err
	}
	old := w.cur.Load()
	if old != nil && old.digest == p.digest {
		w.log.Debug("policy file unchanged", zap.String("file", w.path))
		return nil
	}
	w.cur.Store(p)
	removed := RemovedPeers(old, p)
	w.log.Info("policy reloaded", zap.String("file", w.path), zap.Int("scs", len(p.scs)),
		zap.Int("rules", p.rules), zap.String("sha256", p.Digest()), zap.Strings("removed_peers", removed))
	if w.OnChange != nil {
		w.OnChange(old, p)
	}
	if w.Reloaded != nil {
		w.Reloaded(nil)
	}
	return nil
}

// problemList splits a joined error into its lines for a log field.
func problemList(err error) []string {
	var out []string
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// Watch reloads the policy whenever its file changes, until ctx is done or
// Close is called; it returns at once. It watches the file's directory
// (fsnotify), so a file replaced by rename (how editors and deployment tools
// write), created after a removal, or swapped in by a Kubernetes "..data"
// symlink is seen as well as one written in place. Changes are debounced
// (Debounce). log receives watch errors; nil means the Watcher's logger.
func (w *Watcher) Watch(ctx context.Context, log *zap.Logger) error {
	if log == nil {
		log = w.log
	}
	debounce := w.Debounce
	if debounce <= 0 {
		debounce = defaultDebounce
	}
	return w.watch.Start(ctx, "policy", []string{w.path}, debounce, func() { _ = w.Reload() }, log) // logged by Reload
}

// Close stops Watch and waits for it to finish. It is safe to call more
// than once and without Watch.
func (w *Watcher) Close() error {
	w.watch.Stop()
	return nil
}
