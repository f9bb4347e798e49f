package packaging

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

const (
	testVersion = "v0.0.0-packaging-test"
	testCommit  = "0123abc"
	prefix      = "/usr/local" // the Makefile's default PREFIX
	bindir      = prefix + "/bin"
	confdir     = "/etc/mtciwf"
	statedir    = "/var/lib/mtciwf"
	unitPath    = "/lib/systemd/system/mtciwf.service"
)

// layout is every path `make install` creates under DESTDIR (directories it creates itself,
// and files), with its mode. Nothing else may appear.
var layout = map[string]fs.FileMode{
	bindir + "/mtciwf":                    0o755,
	bindir + "/coresim":                   0o755,
	bindir + "/scs":                       0o755,
	bindir + "/devpki":                    0o755,
	confdir:                               fs.ModeDir | 0o755,
	confdir + "/pki":                      fs.ModeDir | 0o755,
	confdir + "/mtciwf.yaml":              0o644,
	confdir + "/mtciwf.yaml.example":      0o644,
	confdir + "/policy.yaml":              0o644,
	confdir + "/policy.yaml.example":      0o644,
	confdir + "/subscribers.yaml":         0o644,
	confdir + "/subscribers.yaml.example": 0o644,
	unitPath:                              0o644,
	"/usr/lib/sysusers.d/mtciwf.conf":     0o644,
	"/lib/systemd/system":                 fs.ModeDir | 0o755,
	"/usr/lib/sysusers.d":                 fs.ModeDir | 0o755,
	bindir:                                fs.ModeDir | 0o755,
}

// TestMakeInstall runs `make install DESTDIR=<temp>` from the repository root as an ordinary user
// and checks the files, their modes, the unit's hardening, the installed configuration (it passes
// check-config once the PKI it names exists), the version the binary reports, and, when
// systemd-analyze is on the PATH, `systemd-analyze verify` of the unit. A second install must keep
// an edited configuration.
func TestMakeInstall(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "Makefile")); err != nil {
		t.Fatalf("repository root: %v", err)
	}
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make is not on the PATH: make install cannot be tested")
	}
	dest := t.TempDir()
	build := t.TempDir() // BIN: keep the test's builds out of the repository's bin/

	makeInstall(t, root, dest, build)
	checkLayout(t, dest)
	unit := checkUnit(t, dest)
	checkSysusers(t, dest)
	conf := checkConfigs(t, root, dest)
	checkTimeoutStop(t, unit, conf)
	checkVersion(t, dest)
	checkInstalledConfigLoads(t, dest)
	verifyUnit(t, dest)

	// Reinstall over an edited configuration: the edit stays, the example is refreshed.
	installed := filepath.Join(dest, confdir, "mtciwf.yaml")
	edited := append(slices.Clone(conf), "\n# edited by the operator\n"...)
	if err := os.WriteFile(installed, edited, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Remove(filepath.Join(dest, confdir, "policy.yaml.example")); err != nil {
		t.Fatal(err)
	}
	out := makeInstall(t, root, dest, build)
	if got := readFile(t, installed); !bytes.Equal(got, edited) {
		t.Errorf("second make install changed the operator's %s", confdir+"/mtciwf.yaml")
	}
	if !strings.Contains(out, "kept existing") {
		t.Errorf("second make install did not say it kept the existing configuration; output:\n%s", out)
	}
	if got := readFile(t, installed+".example"); !bytes.Equal(got, conf) {
		t.Errorf("second make install did not write the reference mtciwf.yaml.example")
	}
	if _, err := os.Stat(filepath.Join(dest, confdir, "policy.yaml.example")); err != nil {
		t.Errorf("second make install did not write policy.yaml.example again: %v", err)
	}
}

// makeInstall runs make install with the default PREFIX and a fixed version and commit, in an
// environment stripped of anything an outer make or the caller could pass down.
func makeInstall(t *testing.T, root, dest, build string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "--no-print-directory", "-C", root, "install",
		"DESTDIR="+dest, "BIN="+build, "VERSION="+testVersion, "COMMIT="+testCommit)
	cmd.Env = cleanEnv("MAKEFLAGS", "MFLAGS", "MAKELEVEL", "MAKEOVERRIDES", "DESTDIR", "PREFIX", "BIN", "VERSION", "COMMIT", "GO")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make install DESTDIR=%s: %v\n%s", dest, err, out)
	}
	return string(out)
}

// cleanEnv is the environment without the named variables and without MTCIWF_* (which would
// override the configuration under test).
func cleanEnv(drop ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if slices.Contains(drop, k) || strings.HasPrefix(k, "MTCIWF_") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

func checkLayout(t *testing.T, dest string) {
	t.Helper()
	seen := map[string]bool{}
	err := filepath.WalkDir(dest, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel := "/" + strings.TrimPrefix(p, dest+string(filepath.Separator))
		if p == dest {
			return nil
		}
		want, ok := layout[rel]
		if !ok {
			if !d.IsDir() {
				t.Errorf("make install created %s, which is not in the expected layout", rel)
			} else if !isParentOfLayout(rel) {
				t.Errorf("make install created directory %s, which is not in the expected layout", rel)
			}
			return nil
		}
		seen[rel] = true
		info, err := d.Info()
		if err != nil {
			return err
		}
		if got := info.Mode(); got != want {
			t.Errorf("%s: mode %v, want %v", rel, got, want)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for p := range layout {
		if !seen[p] {
			t.Errorf("make install did not create %s", p)
		}
	}
}

// isParentOfLayout says whether dir is a parent of a layout path (created by install -d on the way).
func isParentOfLayout(dir string) bool {
	for p := range layout {
		if strings.HasPrefix(p, dir+"/") {
			return true
		}
	}
	return false
}

// checkUnit checks the installed unit's start, reload, restart and hardening directives and
// returns its [Service] settings.
func checkUnit(t *testing.T, dest string) map[string][]string {
	t.Helper()
	text := string(readFile(t, filepath.Join(dest, unitPath)))
	if regexp.MustCompile(`@[A-Z]+@`).MatchString(text) {
		t.Errorf("unit still has a template placeholder:\n%s", text)
	}
	service := unitSection(text, "Service")
	want := map[string]string{
		"ExecStart":               bindir + "/mtciwf serve --config " + confdir + "/mtciwf.yaml",
		"ExecReload":              "/bin/kill -HUP $MAINPID",
		"Restart":                 "on-failure",
		"User":                    "mtciwf",
		"Group":                   "mtciwf",
		"StateDirectory":          "mtciwf",
		"ReadWritePaths":          statedir,
		"NoNewPrivileges":         "yes",
		"ProtectSystem":           "strict",
		"ProtectHome":             "yes",
		"PrivateTmp":              "yes",
		"PrivateDevices":          "yes",
		"ProtectKernelTunables":   "yes",
		"ProtectKernelModules":    "yes",
		"ProtectKernelLogs":       "yes",
		"ProtectControlGroups":    "yes",
		"RestrictAddressFamilies": "AF_INET AF_INET6 AF_UNIX",
		"RestrictNamespaces":      "yes",
		"LockPersonality":         "yes",
		"MemoryDenyWriteExecute":  "yes",
		"SystemCallArchitectures": "native",
		"SystemCallFilter":        "@system-service",
		"CapabilityBoundingSet":   "", // no capabilities: Tsp's 3868 is above 1024
	}
	for k, v := range want {
		got, ok := service[k]
		switch {
		case !ok:
			t.Errorf("unit [Service] has no %s= (want %s=%s)", k, k, v)
		case !slices.Contains(got, v):
			t.Errorf("unit [Service] %s=%q, want %s=%s", k, got, k, v)
		}
	}
	for _, v := range service["AmbientCapabilities"] {
		if v != "" {
			t.Errorf("unit grants AmbientCapabilities=%s; none is needed for the default port 3868", v)
		}
	}
	if v := service["DynamicUser"]; len(v) > 0 && v[len(v)-1] == "yes" {
		t.Errorf("unit has DynamicUser=yes; it runs as the static user of mtciwf.sysusers")
	}
	if n, err := strconv.Atoi(last(service["LimitNOFILE"])); err != nil || n < 4096 {
		t.Errorf("unit LimitNOFILE=%q: want a number of at least 4096 (Tsp max_connections is 1024)", service["LimitNOFILE"])
	}
	if install := unitSection(text, "Install"); !slices.Contains(install["WantedBy"], "multi-user.target") {
		t.Errorf("unit [Install] WantedBy=%q, want multi-user.target", install["WantedBy"])
	}
	return service
}

// unitSection returns the key=value settings of one section of a unit file (every value of a key
// given more than once, in order).
func unitSection(text, name string) map[string][]string {
	settings := map[string][]string{}
	in := false
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "["):
			in = line == "["+name+"]"
		case in:
			k, v, _ := strings.Cut(line, "=")
			settings[strings.TrimSpace(k)] = append(settings[strings.TrimSpace(k)], strings.TrimSpace(v))
		}
	}
	return settings
}

func last(v []string) string {
	if len(v) == 0 {
		return ""
	}
	return v[len(v)-1]
}

func checkSysusers(t *testing.T, dest string) {
	t.Helper()
	text := string(readFile(t, filepath.Join(dest, "/usr/lib/sysusers.d/mtciwf.conf")))
	if !regexp.MustCompile(`(?m)^u mtciwf - "[^"]+" ` + regexp.QuoteMeta(statedir) + `\b`).MatchString(text) {
		t.Errorf("sysusers.d file has no line creating user mtciwf with home %s:\n%s", statedir, text)
	}
}

// checkConfigs checks the installed configuration files against configs/ and returns the
// installed mtciwf.yaml.
func checkConfigs(t *testing.T, root, dest string) []byte {
	t.Helper()
	for _, f := range []string{"policy.yaml", "subscribers.yaml"} {
		src := readFile(t, filepath.Join(root, "configs", f))
		for _, name := range []string{f, f + ".example"} {
			if got := readFile(t, filepath.Join(dest, confdir, name)); !bytes.Equal(got, src) {
				t.Errorf("%s/%s differs from configs/%s", confdir, name, f)
			}
		}
	}
	conf := readFile(t, filepath.Join(dest, confdir, "mtciwf.yaml"))
	if ex := readFile(t, filepath.Join(dest, confdir, "mtciwf.yaml.example")); !bytes.Equal(conf, ex) {
		t.Errorf("%s/mtciwf.yaml.example differs from the freshly installed mtciwf.yaml", confdir)
	}
	for i, line := range strings.Split(string(conf), "\n") {
		if v, _, _ := strings.Cut(line, "#"); strings.Contains(v, "dev/") || strings.Contains(v, "configs/") {
			t.Errorf("installed mtciwf.yaml:%d still names a development path: %s", i+1, line)
		}
	}
	for _, want := range []string{
		"data_dir: " + statedir,
		"policy_file: " + confdir + "/policy.yaml",
		"cert_file: " + confdir + "/pki/mtciwf.pem",
		"key_file: " + confdir + "/pki/mtciwf-key.pem",
		"client_ca_files: [" + confdir + "/pki/ca.pem]",
		"crl_files: [" + confdir + "/pki/crl.pem]",
	} {
		if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(want) + `\s*$`).Match(conf) {
			t.Errorf("installed mtciwf.yaml has no line %q", want)
		}
	}
	return conf
}

// checkTimeoutStop checks that systemd waits longer than the daemon may take to stop after
// SIGTERM: shutdown.grace_period plus the daemon's 5 s margin (cmd/mtciwf defaultShutdownMargin).
func checkTimeoutStop(t *testing.T, service map[string][]string, conf []byte) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^\s+grace_period:\s*(\S+)\s*$`).FindSubmatch(conf)
	if m == nil {
		t.Errorf("installed mtciwf.yaml has no shutdown.grace_period")
		return
	}
	grace, err := time.ParseDuration(string(m[1]))
	if err != nil {
		t.Errorf("shutdown.grace_period %q: %v", m[1], err)
		return
	}
	v := last(service["TimeoutStopSec"])
	stop, err := time.ParseDuration(v)
	if err != nil {
		stop, err = time.ParseDuration(v + "s") // systemd: a bare number is seconds
	}
	if err != nil {
		t.Errorf("unit TimeoutStopSec=%q: want a duration", v)
		return
	}
	if limit := grace + 5*time.Second; stop <= limit {
		t.Errorf("unit TimeoutStopSec=%v is not above shutdown.grace_period %v + 5s margin", stop, grace)
	}
}

func checkVersion(t *testing.T, dest string) {
	t.Helper()
	out, err := exec.Command(filepath.Join(dest, bindir, "mtciwf"), "version").CombinedOutput()
	if err != nil {
		t.Fatalf("installed mtciwf version: %v\n%s", err, out)
	}
	want := regexp.MustCompile(`^mtciwf ` + regexp.QuoteMeta(testVersion) + ` \(commit ` + testCommit + `, go1\.\d+`)
	if !want.Match(out) {
		t.Errorf("installed mtciwf version printed %q, want version %s, commit %s and the Go version", out, testVersion, testCommit)
	}
}

// checkInstalledConfigLoads runs the installed mtciwf check-config on the installed mtciwf.yaml
// with its absolute paths moved under DESTDIR: first without the PKI (the tsp.tls files must be
// missing), then with stand-ins written by the installed devpki into <DESTDIR>/etc/mtciwf/pki.
// It runs in an empty directory, so a relative path left in the file would not resolve.
func checkInstalledConfigLoads(t *testing.T, dest string) {
	t.Helper()
	conf := string(readFile(t, filepath.Join(dest, confdir, "mtciwf.yaml")))
	rebased := strings.NewReplacer(confdir+"/", dest+confdir+"/", statedir, dest+statedir).Replace(conf)
	file := filepath.Join(t.TempDir(), "mtciwf.yaml")
	if err := os.WriteFile(file, []byte(rebased), 0o644); err != nil {
		t.Fatal(err)
	}
	checkConfig := func() (string, error) {
		cmd := exec.Command(filepath.Join(dest, bindir, "mtciwf"), "check-config", "--config", file)
		cmd.Dir = t.TempDir()
		cmd.Env = cleanEnv()
		out, err := cmd.CombinedOutput()
		return string(out), err
	}

	out, err := checkConfig()
	if err == nil {
		t.Errorf("check-config passed with no PKI in %s/pki:\n%s", confdir, out)
	}
	for _, key := range []string{"tsp.tls.cert_file", "tsp.tls.key_file", "tsp.tls.client_ca_files[0]", "tsp.tls.crl_files[0]"} {
		if !strings.Contains(out, key+": cannot read "+dest+confdir+"/pki/") {
			t.Errorf("check-config without the PKI: no problem with %s in %s/pki:\n%s", key, confdir, out)
		}
	}

	pki := filepath.Join(dest, confdir, "pki")
	if out, err := exec.Command(filepath.Join(dest, bindir, "devpki"), "-dir", pki).CombinedOutput(); err != nil {
		t.Fatalf("installed devpki -dir %s: %v\n%s", pki, err, out)
	}
	out, err = checkConfig()
	if err != nil {
		t.Fatalf("installed mtciwf.yaml (paths under DESTDIR, PKI from devpki) fails check-config: %v\n%s", err, out)
	}
	if !strings.Contains(out, file+": OK") || !strings.Contains(out, dest+confdir+"/policy.yaml: OK") {
		t.Errorf("check-config output %q does not report both files OK", out)
	}
	if _, err := os.Stat(filepath.Join(dest, statedir)); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("check-config created the data directory, or it existed: %v", err)
	}
	// Leave DESTDIR as make install made it.
	if err := os.RemoveAll(pki); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(pki, 0o755); err != nil {
		t.Fatal(err)
	}
}

// verifyUnit runs `systemd-analyze verify` on the installed unit when systemd-analyze is on the
// PATH. verify checks that ExecStart's binary exists and is executable, which it is under DESTDIR,
// not at /usr/local/bin: so it verifies a copy whose ExecStart binary path points into DESTDIR,
// found through SYSTEMD_UNIT_PATH (with the system's own units after it, for the targets the unit
// names). Every other line is the installed one.
func verifyUnit(t *testing.T, dest string) {
	t.Helper()
	analyze, err := exec.LookPath("systemd-analyze")
	if err != nil {
		t.Log("systemd-analyze is not on the PATH: systemd-analyze verify was NOT run on the unit")
		return
	}
	if !exists("/lib/systemd/system/sysinit.target") && !exists("/usr/lib/systemd/system/sysinit.target") {
		t.Log("this machine has no systemd units (sysinit.target): systemd-analyze verify was NOT run on the unit")
		return
	}
	unit := string(readFile(t, filepath.Join(dest, unitPath)))
	unit = strings.ReplaceAll(unit, "="+bindir+"/", "="+dest+bindir+"/")
	dir := t.TempDir()
	path := filepath.Join(dir, "mtciwf.service")
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(analyze, "verify", "--man=no", path)
	cmd.Env = append(cleanEnv("SYSTEMD_UNIT_PATH"), "SYSTEMD_UNIT_PATH="+dir+":") // trailing ":": then the usual path
	out, err := cmd.CombinedOutput()
	// verify exits 0 on unknown keys and bad values, which it only prints: any line about the
	// unit is a failure.
	var problems []string
	for line := range strings.Lines(string(out)) {
		if strings.Contains(line, "mtciwf.service") {
			problems = append(problems, strings.TrimSpace(line))
		}
	}
	if err != nil || len(problems) > 0 {
		t.Errorf("systemd-analyze verify %s: %v\n%s", unitPath, err, out)
		return
	}
	t.Logf("systemd-analyze verify accepted the unit%s", strings.TrimRight("\n"+string(out), "\n"))
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func readFile(t *testing.T, p string) []byte {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
