package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestRunWritesThenKeeps(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "pki")
	var out, errOut bytes.Buffer
	if rc := run([]string{"-dir", dir}, &out, &errOut); rc != 0 {
		t.Fatalf("first run: rc=%d stderr=%s", rc, errOut.String())
	}
	if !strings.Contains(out.String(), "wrote a new set") || !strings.Contains(out.String(), filepath.Join(dir, "scs1.pem")) {
		t.Errorf("first run output:\n%s", out.String())
	}
	if _, err := os.Stat(filepath.Join(dir, "crl.pem")); err != nil {
		t.Error(err)
	}
	out.Reset()
	if rc := run([]string{"-dir", dir}, &out, &errOut); rc != 0 {
		t.Fatalf("second run: rc=%d stderr=%s", rc, errOut.String())
	}
	if !strings.Contains(out.String(), "kept it") || strings.Contains(out.String(), "wrote ") {
		t.Errorf("second run output:\n%s", out.String())
	}
	out.Reset()
	if rc := run([]string{"-dir", dir, "-force"}, &out, &errOut); rc != 0 {
		t.Fatalf("forced run: rc=%d stderr=%s", rc, errOut.String())
	}
	if !strings.Contains(out.String(), "(forced)") {
		t.Errorf("forced run output:\n%s", out.String())
	}
}

func TestRunRejectsBadArgs(t *testing.T) {
	var out, errOut bytes.Buffer
	if rc := run([]string{"-nope"}, &out, &errOut); rc != 2 {
		t.Errorf("rc=%d, want 2", rc)
	}
	if rc := run([]string{"extra"}, &out, &errOut); rc != 2 {
		t.Errorf("rc=%d, want 2", rc)
	}
}
