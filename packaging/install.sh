#!/bin/sh
# packaging/install.sh: the body of `make install`, run from the repository root after the
# binaries are built into $BIN. Honours DESTDIR (staged install, e.g. for a package) and PREFIX
# (default /usr/local). It never needs root when DESTDIR is set: it creates no user (see
# mtciwf.sysusers), changes no owner and touches nothing outside $DESTDIR.
#
# Lays out:
#   $PREFIX/bin/{mtciwf,coresim,scs,devpki}                 0755, always replaced
#   /lib/systemd/system/mtciwf.service                      0644, always replaced (edit with drop-ins)
#   /usr/lib/sysusers.d/mtciwf.conf                          0644, always replaced
#   /etc/mtciwf/{mtciwf,policy,subscribers}.yaml.example     0644, always replaced: the reference
#   /etc/mtciwf/{mtciwf,policy,subscribers}.yaml             0644, only when missing: never overwritten
#   /etc/mtciwf/pki/                                         0755, empty: the operator's PKI goes here
# /var/lib/mtciwf is not created here: systemd creates it (StateDirectory=mtciwf).
set -eu

DESTDIR=${DESTDIR-}
PREFIX=${PREFIX:-/usr/local}
BIN=${BIN:-bin}
BINDIR=$PREFIX/bin
CONFDIR=/etc/mtciwf
STATEDIR=/var/lib/mtciwf
UNITDIR=/lib/systemd/system
SYSUSERSDIR=/usr/lib/sysusers.d
SRC=$(dirname "$0")

case $PREFIX in
/*) ;;
*) echo "install.sh: PREFIX must be an absolute path, got '$PREFIX'" >&2; exit 2 ;;
esac

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Binaries.
install -d -m 0755 "$DESTDIR$BINDIR"
for b in mtciwf coresim scs devpki; do
	install -m 0755 "$BIN/$b" "$DESTDIR$BINDIR/$b"
done

# The daemon's configuration: configs/mtciwf.yaml with its development paths (dev/pki, dev/data,
# configs/policy.yaml) rewritten to the installed ones. Only value lines are rewritten; the
# comments keep describing the built-in development defaults, which the header says.
{
	echo "# Installed by 'make install' from configs/mtciwf.yaml, with data_dir, policy_file and the"
	echo "# tsp.tls file paths rewritten to $STATEDIR and $CONFDIR. The comments below are those of"
	echo "# the development example: their \"Default:\" notes are the built-in defaults, not this file."
	echo "# Put the PKI in $CONFDIR/pki (private key root:mtciwf 0640), point hss.peers and"
	echo "# smsc.peers at your core, then: mtciwf check-config --config $CONFDIR/mtciwf.yaml"
	echo "#"
	sed -e "/^[[:space:]]*#/!{
		s|^data_dir: dev/data\$|data_dir: $STATEDIR|
		s|^policy_file: configs/policy.yaml\$|policy_file: $CONFDIR/policy.yaml|
		s|dev/pki/|$CONFDIR/pki/|g
	}" configs/mtciwf.yaml
} >"$tmp/mtciwf.yaml"
# Every development path must be gone from the values, or the installed daemon would read files
# relative to its working directory.
if grep -nE '^[^#]*(dev/|configs/)' "$tmp/mtciwf.yaml" >&2; then
	echo "install.sh: development paths left in the installed mtciwf.yaml (above); update the sed in $0" >&2
	exit 1
fi
cp configs/policy.yaml configs/subscribers.yaml "$tmp/"

install -d -m 0755 "$DESTDIR$CONFDIR" "$DESTDIR$CONFDIR/pki"
for f in mtciwf.yaml policy.yaml subscribers.yaml; do
	install -m 0644 "$tmp/$f" "$DESTDIR$CONFDIR/$f.example"
	if [ -e "$DESTDIR$CONFDIR/$f" ]; then
		echo "install.sh: kept existing $DESTDIR$CONFDIR/$f (the new example is $f.example)"
	else
		install -m 0644 "$tmp/$f" "$DESTDIR$CONFDIR/$f"
	fi
done

# systemd unit and the sysusers.d entry of its user.
sed -e "s|@BINDIR@|$BINDIR|g" -e "s|@CONFDIR@|$CONFDIR|g" "$SRC/mtciwf.service.in" >"$tmp/mtciwf.service"
install -d -m 0755 "$DESTDIR$UNITDIR" "$DESTDIR$SYSUSERSDIR"
install -m 0644 "$tmp/mtciwf.service" "$DESTDIR$UNITDIR/mtciwf.service"
install -m 0644 "$SRC/mtciwf.sysusers" "$DESTDIR$SYSUSERSDIR/mtciwf.conf"

if [ -z "$DESTDIR" ]; then
	cat <<MSG
Installed. Next, as root:
  systemd-sysusers $SYSUSERSDIR/mtciwf.conf     # creates the mtciwf user
  systemctl daemon-reload
  # put the certificate, key (root:mtciwf 0640), CAs and CRLs into $CONFDIR/pki, edit $CONFDIR/mtciwf.yaml
  $BINDIR/mtciwf check-config --config $CONFDIR/mtciwf.yaml
  systemctl enable --now mtciwf
MSG
fi
