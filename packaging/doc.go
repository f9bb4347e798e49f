// Package packaging holds no code. The folder has what `make install` lays out (install.sh, the
// systemd unit template mtciwf.service.in, the sysusers.d entry mtciwf.sysusers), and the test in
// this package runs `make install DESTDIR=...` and checks the result.
package packaging
