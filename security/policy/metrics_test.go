package policy

import (
	"path/filepath"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestReloadMetrics(t *testing.T) {
	path := filepath.Join(t.TempDir(), "policy.yaml")
	writeFile(t, path, watchV1)
	w, err := NewWatcher(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	w.Reloaded = m.Reloaded
	writeFile(t, path, watchV2+"    colour: red\n")
	if w.Reload() == nil {
		t.Fatal("bad file accepted")
	}
	writeFile(t, path, watchV2)
	if err := w.Reload(); err != nil {
		t.Fatal(err)
	}
	if err := w.Reload(); err != nil { // unchanged: not a reload
		t.Fatal(err)
	}
	ok, failed := testutil.ToFloat64(m.reloads.WithLabelValues("ok")), testutil.ToFloat64(m.reloads.WithLabelValues("failed"))
	if ok != 1 || failed != 1 {
		t.Errorf("reloads ok %v failed %v, want 1 and 1", ok, failed)
	}
	if n := testutil.CollectAndCount(m); n != 2 {
		t.Errorf("%d series, want 2", n)
	}
}
