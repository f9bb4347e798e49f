package main

// The daemon configuration: one typed struct, its defaults as named constants, and LoadConfig, which
// reads a YAML file through viper, applies MTCIWF_* environment overrides and validates the result.
//
// Life cycle (style.md §6, caddy): LoadConfig = defaults → file → environment → decode → validate. It
// touches nothing but the files it checks for readability; provisioning (parsing certificates, CRLs)
// belongs to the packages that use them.
//
// Relative paths (certificates, keys, CAs, CRLs, data_dir) are used as written, that is relative to
// the working directory of the process, both for the built-in defaults and for values from a file.

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/viper"
)

// Config is everything the daemon reads at start. Each field's YAML key is its mapstructure tag; the
// environment variable is MTCIWF_ followed by the dotted key in upper case with "." replaced by "_"
// (tsp.tls.cert_file → MTCIWF_TSP_TLS_CERT_FILE); lists of sections (tsp.peers, hss.peers, smsc.peers)
// cannot be set from the environment. configs/mtciwf.yaml shows every key with its default.
type Config struct {
	// Log selects the log encoding and level. Default: JSON at info.
	Log LogConfig `mapstructure:"log"`
	// Identity is this daemon's own Diameter identity, sent in CER/CEA and every message.
	// Default: mtciwf.operator.example in realm operator.example.
	Identity IdentityConfig `mapstructure:"identity"`
	// DataDir is the directory of the durable trigger store: the bbolt file mtciwf.db (StorePath)
	// inside it holds accepted triggers and the delivery-report outbox. The daemon creates it with
	// mode 0700 when it is missing; it must not be shared by two daemons. Path, relative to the
	// working directory. Default: dev/data.
	DataDir string `mapstructure:"data_dir"`
	// StoreCommitLinger is how long the store's committer waits for more writes to join a
	// transaction while it is busy (the previous commit ended less than this ago). Every commit
	// costs two fdatasyncs whatever its size, so under load a short wait makes fewer, larger
	// commits (less CPU) at the price of up to this much latency on a DAA. 0 to 100ms.
	// Default: 1ms.
	StoreCommitLinger time.Duration `mapstructure:"store_commit_linger"`
	// PolicyFile is the authorization policy (YAML, see configs/policy.yaml): per SCS, per UE and
	// per service per UE, quota and rate (TS 33.187, TS 23.682 5.2.1). It is reloaded when it
	// changes and on SIGHUP; an invalid edit keeps the previous policy. Path, relative to the
	// working directory. Default: configs/policy.yaml.
	PolicyFile string `mapstructure:"policy_file"`
	// Tsp is the Diameter/TLS listener the SCSs connect to (TS 29.368). Default: see TspConfig.
	Tsp TspConfig `mapstructure:"tsp"`
	// Triggers bounds what a device-trigger request may ask for and paces delivery reports.
	// Default: see TriggersConfig.
	Triggers TriggersConfig `mapstructure:"triggers"`
	// HSS is the S6m client side: the HSSs asked to authorize a trigger and resolve the device
	// (TS 29.336). Default: hss.operator.example at 127.0.0.1:3870 (the coresim dev setup).
	HSS CoreConfig `mapstructure:"hss"`
	// SMSC is the T4 client side: the SMS-SCs that deliver triggers (TS 29.337).
	// Default: smsc.operator.example at 127.0.0.1:3871 (the coresim dev setup), recall_replace true.
	SMSC SMSCConfig `mapstructure:"smsc"`
	// Shutdown controls the graceful stop after SIGTERM/SIGINT. Default: see ShutdownConfig.
	Shutdown ShutdownConfig `mapstructure:"shutdown"`
	// Admin is the HTTP listener for operators: /metrics, /healthz, /readyz and, when enabled,
	// /debug/pprof/. Default: see AdminConfig.
	Admin AdminConfig `mapstructure:"admin"`
}

// LogFormat is the log encoding.
type LogFormat string

// Log formats.
const (
	LogFormatJSON    LogFormat = "json"    // one JSON object per line (zap production encoder)
	LogFormatConsole LogFormat = "console" // tab-separated, for people at a terminal
)

// LogLevel is the lowest level that is written.
type LogLevel string

// Log levels.
const (
	LogLevelDebug LogLevel = "debug"
	LogLevelInfo  LogLevel = "info"
	LogLevelWarn  LogLevel = "warn"
	LogLevelError LogLevel = "error"
)

// LogConfig is the "log" section.
type LogConfig struct {
	// Format is json or console. Default: json.
	Format LogFormat `mapstructure:"format"`
	// Level is debug, info, warn or error. Default: info.
	Level LogLevel `mapstructure:"level"`
}

// IdentityConfig is the "identity" section.
type IdentityConfig struct {
	// OriginHost is this daemon's DiameterIdentity (an FQDN, RFC 6733 §4.3.1), sent as Origin-Host.
	// It must match a dNSName in the server certificate. Default: mtciwf.operator.example.
	OriginHost string `mapstructure:"origin_host"`
	// OriginRealm is this daemon's realm (a domain name), sent as Origin-Realm.
	// Default: operator.example.
	OriginRealm string `mapstructure:"origin_realm"`
}

// TspConfig is the "tsp" section: the listener, its limits and the SCS peers allowed to connect.
type TspConfig struct {
	// Listen is the TCP address (host:port) of the Diameter/TLS listener. An empty host means every
	// interface; port 0 picks a free port (tests). Default: 127.0.0.1:3868.
	Listen string `mapstructure:"listen"`
	// TLS is the server certificate and the client-certificate trust anchors. Default: the dev PKI.
	TLS TLSConfig `mapstructure:"tls"`
	// MaxConnections caps open Tsp connections, counted from accept. Count. Default: 1024.
	MaxConnections int `mapstructure:"max_connections"`
	// MaxConnectionsPerIP caps open connections from one remote IP address; not above
	// MaxConnections. Count. Default: 64.
	MaxConnectionsPerIP int `mapstructure:"max_connections_per_ip"`
	// MaxMessageSize is the largest Diameter message accepted, checked on the header's Message
	// Length before the body is read. Bytes, 4096..16777215 (the 24-bit length field, RFC 6733 §3).
	// Default: 65536.
	MaxMessageSize int `mapstructure:"max_message_size"`
	// MaxAVPDepth is the deepest AVP nesting accepted: a top-level AVP is at depth 1, an AVP inside
	// a grouped AVP at depth 2, and so on. Checked before decoding. Levels, 2..32. Default: 8.
	MaxAVPDepth int `mapstructure:"max_avp_depth"`
	// MaxAVPs caps the AVPs in one message, nested ones included. Count. Default: 1024.
	MaxAVPs int `mapstructure:"max_avps"`
	// MaxInFlightPerConnection caps requests from one connection being processed at once; the read
	// loop waits when it is reached. Count. Default: 256.
	MaxInFlightPerConnection int `mapstructure:"max_in_flight_per_connection"`
	// WatchdogInterval is Tw, the RFC 3539 §3.4.1 watchdog timer: a DWR is sent after this long
	// without traffic. Duration, at least 6s (RFC 3539 §3.4.1). Default: 30s.
	WatchdogInterval time.Duration `mapstructure:"watchdog_interval"`
	// CERTimeout is how long a connection may stay open after the TLS handshake before a CER
	// arrives. Duration. Default: 10s.
	CERTimeout time.Duration `mapstructure:"cer_timeout"`
	// WriteTimeout bounds one write to a peer; a peer that does not read is disconnected.
	// Duration. Default: 10s.
	WriteTimeout time.Duration `mapstructure:"write_timeout"`
	// DuplicateWindow is how long an answer is kept to answer a retransmitted request (T flag,
	// same End-to-End-Id and Origin-Host) without executing it again. Duration, at most 4m: the
	// sender only keeps an End-to-End-Id unique for 4 minutes (RFC 6733 §3, §5.5.4).
	// Default: 4m.
	DuplicateWindow time.Duration `mapstructure:"duplicate_window"`
	// DuplicateCacheSize caps the answers kept for duplicate detection; the oldest are dropped
	// first. Count. Default: 100000.
	DuplicateCacheSize int `mapstructure:"duplicate_cache_size"`
	// Peers lists every Diameter peer allowed to connect on Tsp (transport: who may connect). A CER
	// from anyone else is refused with DIAMETER_UNKNOWN_PEER (3010). What each SCS may ask, and its
	// SCS-Identity, are in PolicyFile: a peer must be in both to connect. Default: the three dev
	// peers of configs/mtciwf.yaml.
	Peers []PeerConfig `mapstructure:"peers"`
}

// TLSConfig is the "tsp.tls" section. Paths are relative to the working directory.
type TLSConfig struct {
	// CertFile is the PEM server certificate chain. Path. Default: dev/pki/mtciwf.pem.
	CertFile string `mapstructure:"cert_file"`
	// KeyFile is the PEM private key of CertFile. Path. Default: dev/pki/mtciwf-key.pem.
	KeyFile string `mapstructure:"key_file"`
	// ClientCAFiles are PEM files of the CAs that client (SCS) certificates must chain to; at
	// least one. Paths. Default: [dev/pki/ca.pem].
	ClientCAFiles []string `mapstructure:"client_ca_files"`
	// CRLFiles are PEM or DER CRLs checked on every handshake; empty means no revocation check.
	// Paths. Default: [dev/pki/crl.pem].
	CRLFiles []string `mapstructure:"crl_files"`
	// HandshakeTimeout bounds the TLS handshake from accept; go-diameter has none of its own.
	// Duration. Default: 5s.
	HandshakeTimeout time.Duration `mapstructure:"handshake_timeout"`
	// KeyLogFile, when set, appends every Tsp session's TLS secrets to this file (NSS key log
	// format) so Wireshark/tshark can decrypt a capture. FOR DEBUGGING ONLY: whoever reads the file
	// can read every trigger; the daemon logs a warning at start. Path. Default: empty (off).
	KeyLogFile string `mapstructure:"key_log_file"`
}

// PeerKind says how a peer's requests are attributed to an SCS.
type PeerKind string

// Peer kinds.
const (
	// PeerKindSCS is an SCS connected directly: its Origin-Host is the SCS.
	PeerKindSCS PeerKind = "scs"
	// PeerKindAgent is a Diameter relay/proxy agent (a DRA, RFC 6733 §2.8) that forwards requests
	// of the SCSs listed in SCSOriginHosts (TS 29.368 §6.3.2).
	PeerKindAgent PeerKind = "agent"
)

// PeerConfig is one entry of "tsp.peers".
type PeerConfig struct {
	// OriginHost is the peer's DiameterIdentity; its CER must carry it and its certificate must
	// prove it (SAN dNSName). FQDN. Required, no default.
	OriginHost string `mapstructure:"origin_host"`
	// OriginRealm is the realm the peer's CER must carry. Domain name. Required, no default.
	OriginRealm string `mapstructure:"origin_realm"`
	// Kind is scs or agent. Required, no default.
	Kind PeerKind `mapstructure:"kind"`
	// SCSOriginHosts lists the SCS Origin-Hosts an agent may forward requests for; required (at
	// least one) for an agent, not allowed for an scs. Each must be the origin_host of another
	// entry, of kind scs: the SCS is a Tsp peer in its own right even when it only reaches us
	// through the agent. FQDNs. Default: empty.
	SCSOriginHosts []string `mapstructure:"scs_origin_hosts"`
}

// TriggersConfig is the "triggers" section: limits on device-trigger requests (DAR) and the
// timing of delivery reports (DNR).
type TriggersConfig struct {
	// MaxPayloadBytes is the largest trigger Payload accepted; a larger one is refused with
	// Request-Status INVPAYLOAD (101). Bytes, 1..65535. Default: 140 (the user data of one SMS,
	// TS 23.040).
	MaxPayloadBytes int `mapstructure:"max_payload_bytes"`
	// MaxValidity is the longest Validity-Time accepted; a longer one is refused with INVPERIOD
	// (104). Duration, whole seconds (Validity-Time counts seconds), above 0. Default: 24h.
	MaxValidity time.Duration `mapstructure:"max_validity"`
	// DefaultValidity is the validity of a trigger whose DAR carries no Validity-Time. Duration,
	// whole seconds, above 0 and not above MaxValidity. Default: 1h.
	DefaultValidity time.Duration `mapstructure:"default_validity"`
	// ExpiryGrace is how long after its validity ends a trigger may still get a delivery report
	// from the SMS-SC; after validity + grace without one, the SCS gets a DNR with
	// Delivery-Outcome EXPIRED. Duration, 0 or more. Default: 5m.
	ExpiryGrace time.Duration `mapstructure:"expiry_grace"`
	// ReportRetryMin is the first wait before a DNR the SCS has not acknowledged (no DNA, or
	// the SCS not connected) is sent again from the outbox; the wait doubles up to
	// ReportRetryMax. Duration, above 0, not above ReportRetryMax. Default: 1s.
	ReportRetryMin time.Duration `mapstructure:"report_retry_min"`
	// ReportRetryMax is the longest wait between two attempts of one DNR. Duration, above 0.
	// Default: 5m.
	ReportRetryMax time.Duration `mapstructure:"report_retry_max"`
}

// CoreConfig is a core-side Diameter client section ("hss", and the shared part of "smsc"): the
// peers this daemon dials inside the operator domain, in order of preference.
type CoreConfig struct {
	// RequestTimeout bounds one request attempt to one peer; after it the request fails over to
	// the next open peer once (T flag), or fails. Duration, above 0. Default: 2s.
	RequestTimeout time.Duration `mapstructure:"request_timeout"`
	// DestinationRealm is the Destination-Realm of every request. Domain name (DiameterIdentity).
	// Default: operator.example.
	DestinationRealm string `mapstructure:"destination_realm"`
	// Peers are dialed in this order; the first open one takes the requests, the others are
	// failover targets. At least one; origin_host and address unique within the list.
	// Default: the coresim peer (hss.operator.example at 127.0.0.1:3870 for hss,
	// smsc.operator.example at 127.0.0.1:3871 for smsc).
	Peers []CorePeerConfig `mapstructure:"peers"`
}

// SMSCConfig is the "smsc" section: a CoreConfig and what the SMS-SCs support.
type SMSCConfig struct {
	// CoreConfig holds request_timeout, destination_realm and peers, as for hss.
	// Default: see CoreConfig.
	CoreConfig `mapstructure:",squash"`
	// RecallReplace says the SMS-SCs support T4 Trigger-Action RECALL and REPLACE: DAA then
	// carries Feature-Supported-In-Final-Target with bit 0 (Device-Trigger-Recall-Replace) set,
	// and recall/replace requests are forwarded (TS 29.368). When false, the SCS must not send
	// them. Boolean. Default: true.
	RecallReplace bool `mapstructure:"recall_replace"`
}

// CorePeerConfig is one entry of "hss.peers" or "smsc.peers".
type CorePeerConfig struct {
	// OriginHost is the peer's DiameterIdentity, expected in its CEA and used as
	// Destination-Host when a request must reach this peer. FQDN. Required, no default.
	OriginHost string `mapstructure:"origin_host"`
	// Address is where to dial it: host:port, the host an IP address or a host name, the port
	// 1..65535. Required, no default.
	Address string `mapstructure:"address"`
	// TLS, when given, makes the connection Diameter/TLS (TLS at connect); without it the
	// connection is plain TCP, which the operator domain allows (NDS/IP, TS 33.210).
	// Default: absent (plain TCP).
	TLS *CorePeerTLS `mapstructure:"tls"`
}

// CorePeerTLS is the "tls" of a core peer. Paths are relative to the working directory.
type CorePeerTLS struct {
	// CertFile is the PEM client certificate chain presented to the peer; give it together with
	// KeyFile, or neither for no client certificate. Path. Default: empty.
	CertFile string `mapstructure:"cert_file"`
	// KeyFile is the PEM private key of CertFile. Path. Default: empty.
	KeyFile string `mapstructure:"key_file"`
	// CAFiles are PEM files of the CAs the peer's server certificate must chain to (the
	// system roots are never used); the certificate must name OriginHost (SAN dNSName). At
	// least one. Paths. Required.
	CAFiles []string `mapstructure:"ca_files"`
}

// ShutdownConfig is the "shutdown" section.
type ShutdownConfig struct {
	// GracePeriod is how long the daemon waits after SIGTERM/SIGINT for DPA from its peers and for
	// in-flight requests before it closes every connection. Duration. Default: 10s.
	GracePeriod time.Duration `mapstructure:"grace_period"`
}

// AdminConfig is the "admin" section.
type AdminConfig struct {
	// Listen is the TCP address (host:port) of the admin HTTP listener (Prometheus /metrics,
	// /healthz, /readyz). It has no authentication: keep it on loopback or a management network.
	// "" disables it. Default: 127.0.0.1:9868.
	Listen string `mapstructure:"listen"`
	// Pprof serves net/http/pprof under /debug/pprof/ on the admin listener (profiles reveal
	// internals and cost CPU while taken: enable for debugging only). Default: false.
	Pprof bool `mapstructure:"pprof"`
}

// Defaults. configs/mtciwf.yaml holds the same values; TestExampleConfigEqualsDefaults keeps the two
// in step.
const (
	defaultLogFormat                = LogFormatJSON
	defaultLogLevel                 = LogLevelInfo
	defaultOriginHost               = "mtciwf.operator.example"
	defaultOriginRealm              = "operator.example"
	defaultTspListen                = "127.0.0.1:3868"
	defaultAdminListen              = "127.0.0.1:9868"
	defaultTLSCertFile              = "dev/pki/mtciwf.pem"
	defaultTLSKeyFile               = "dev/pki/mtciwf-key.pem"
	defaultTLSClientCAFile          = "dev/pki/ca.pem"
	defaultTLSCRLFile               = "dev/pki/crl.pem"
	defaultTLSHandshakeTimeout      = 5 * time.Second
	defaultMaxConnections           = 1024
	defaultMaxConnectionsPerIP      = 64
	defaultMaxMessageSize           = 64 << 10
	defaultMaxAVPDepth              = 8
	defaultMaxAVPs                  = 1024
	defaultMaxInFlightPerConnection = 256
	defaultWatchdogInterval         = 30 * time.Second // RFC 3539 §3.4.1: Tw SHOULD be 30 s
	defaultCERTimeout               = 10 * time.Second
	defaultWriteTimeout             = 10 * time.Second
	defaultDuplicateWindow          = maxDuplicateWindow
	defaultDuplicateCacheSize       = 100000
	defaultShutdownGracePeriod      = 10 * time.Second
	defaultDataDir                  = "dev/data"
	defaultStoreCommitLinger        = time.Millisecond
	maxStoreCommitLinger            = 100 * time.Millisecond
	defaultPolicyFile               = "configs/policy.yaml"
	defaultMaxPayloadBytes          = 140 // one SMS's user data (TS 23.040)
	defaultMaxValidity              = 24 * time.Hour
	defaultDefaultValidity          = time.Hour
	defaultExpiryGrace              = 5 * time.Minute
	defaultReportRetryMin           = time.Second
	defaultReportRetryMax           = 5 * time.Minute
	defaultCoreRequestTimeout       = 2 * time.Second
	defaultCoreDestinationRealm     = defaultOriginRealm
	defaultSMSCRecallReplace        = true

	// The dev peers, matching the certificates of dev/pki.
	devSCSRealm = "scs.example"
	devSCS1Host = "scs1.scs.example"
	devSCS2Host = "scs2.scs.example"
	devDRAHost  = "dra1.scs.example"

	// The dev core peers: cmd/coresim's defaults.
	devHSSHost     = "hss.operator.example"
	devHSSAddress  = "127.0.0.1:3870"
	devSMSCHost    = "smsc.operator.example"
	devSMSCAddress = "127.0.0.1:3871"
)

// The durable store's place inside data_dir.
const (
	// StoreFileName is the bbolt file inside data_dir.
	StoreFileName = "mtciwf.db"
	// DataDirPerm is the mode data_dir is created with when it is missing.
	DataDirPerm fs.FileMode = 0o700
)

// StorePath is the bbolt file of the trigger store: StoreFileName inside DataDir.
func (c *Config) StorePath() string { return filepath.Join(c.DataDir, StoreFileName) }

// Bounds checked by validation.
const (
	minMaxMessageSize   = 4096
	maxMaxMessageSize   = 1<<24 - 1 // Message Length is 24 bits (RFC 6733 §3)
	minMaxAVPDepth      = 2
	maxMaxAVPDepth      = 32
	minWatchdogInterval = 6 * time.Second // RFC 3539 §3.4.1: Tw MUST NOT be below 6 s
	maxDuplicateWindow  = 4 * time.Minute // RFC 6733 §3: End-to-End-Id unique for at least 4 min
	maxFQDNLength       = 253
	maxLabelLength      = 63
	minMaxPayloadBytes  = 1
	maxMaxPayloadBytes  = 65535
)

// DefaultConfig returns the built-in configuration, used when no file is given. It points at the dev
// PKI under dev/pki (relative to the working directory) and trusts the three dev peers.
func DefaultConfig() *Config {
	return &Config{
		Log:               LogConfig{Format: defaultLogFormat, Level: defaultLogLevel},
		Identity:          IdentityConfig{OriginHost: defaultOriginHost, OriginRealm: defaultOriginRealm},
		DataDir:           defaultDataDir,
		StoreCommitLinger: defaultStoreCommitLinger,
		PolicyFile:        defaultPolicyFile,
		Tsp: TspConfig{
			Listen: defaultTspListen,
			TLS: TLSConfig{
				CertFile:         defaultTLSCertFile,
				KeyFile:          defaultTLSKeyFile,
				ClientCAFiles:    []string{defaultTLSClientCAFile},
				CRLFiles:         []string{defaultTLSCRLFile},
				HandshakeTimeout: defaultTLSHandshakeTimeout,
			},
			MaxConnections:           defaultMaxConnections,
			MaxConnectionsPerIP:      defaultMaxConnectionsPerIP,
			MaxMessageSize:           defaultMaxMessageSize,
			MaxAVPDepth:              defaultMaxAVPDepth,
			MaxAVPs:                  defaultMaxAVPs,
			MaxInFlightPerConnection: defaultMaxInFlightPerConnection,
			WatchdogInterval:         defaultWatchdogInterval,
			CERTimeout:               defaultCERTimeout,
			WriteTimeout:             defaultWriteTimeout,
			DuplicateWindow:          defaultDuplicateWindow,
			DuplicateCacheSize:       defaultDuplicateCacheSize,
			Peers: []PeerConfig{
				{OriginHost: devSCS1Host, OriginRealm: devSCSRealm, Kind: PeerKindSCS},
				{OriginHost: devSCS2Host, OriginRealm: devSCSRealm, Kind: PeerKindSCS},
				{OriginHost: devDRAHost, OriginRealm: devSCSRealm, Kind: PeerKindAgent,
					SCSOriginHosts: []string{devSCS1Host, devSCS2Host}},
			},
		},
		Triggers: TriggersConfig{
			MaxPayloadBytes: defaultMaxPayloadBytes,
			MaxValidity:     defaultMaxValidity,
			DefaultValidity: defaultDefaultValidity,
			ExpiryGrace:     defaultExpiryGrace,
			ReportRetryMin:  defaultReportRetryMin,
			ReportRetryMax:  defaultReportRetryMax,
		},
		HSS: CoreConfig{
			RequestTimeout:   defaultCoreRequestTimeout,
			DestinationRealm: defaultCoreDestinationRealm,
			Peers:            []CorePeerConfig{{OriginHost: devHSSHost, Address: devHSSAddress}},
		},
		SMSC: SMSCConfig{
			CoreConfig: CoreConfig{
				RequestTimeout:   defaultCoreRequestTimeout,
				DestinationRealm: defaultCoreDestinationRealm,
				Peers:            []CorePeerConfig{{OriginHost: devSMSCHost, Address: devSMSCAddress}},
			},
			RecallReplace: defaultSMSCRecallReplace,
		},
		Shutdown: ShutdownConfig{GracePeriod: defaultShutdownGracePeriod},
		Admin:    AdminConfig{Listen: defaultAdminListen},
	}
}

// ConfigError is one problem with the configuration. LoadConfig returns every problem it finds,
// joined with errors.Join; range over them with errors.As or the Unwrap() []error method.
type ConfigError struct {
	// File is the configuration file; empty for the built-in defaults.
	File string
	// Key is the dotted key, e.g. "tsp.peers[2].kind", or an environment variable name; empty
	// when the problem concerns the whole file (unreadable, not YAML).
	Key string
	// Problem says what is wrong, for a person to act on.
	Problem string
}

// builtinSource names the built-in defaults where a file name would go.
const builtinSource = "built-in defaults"

// sourceName is how messages name the configuration: the file, or the built-in defaults.
func sourceName(file string) string {
	if file == "" {
		return builtinSource
	}
	return file
}

// Error returns "file: key: problem".
func (e *ConfigError) Error() string {
	if e.Key == "" {
		return sourceName(e.File) + ": " + e.Problem
	}
	return sourceName(e.File) + ": " + e.Key + ": " + e.Problem
}

// configEnvPrefix prefixes every environment override.
const configEnvPrefix = "MTCIWF"

// envName is the environment variable that overrides a dotted key.
func envName(key string) string {
	return configEnvPrefix + "_" + strings.ToUpper(strings.ReplaceAll(key, ".", "_"))
}

// LoadConfig reads file (YAML; "" means the built-in defaults only), applies the MTCIWF_*
// environment overrides and validates the result. On failure it returns a nil Config and every
// problem found, each a *ConfigError, joined with errors.Join.
//
// Precedence, highest first: environment, file, built-in defaults. A key missing from the file keeps
// its default; a list given in the file replaces the default list. Unknown keys in the file and
// unknown MTCIWF_* variables are errors, so a typo never silently falls back to a default.
func LoadConfig(file string) (*Config, error) {
	cfg, err := loadConfig(file)
	if err != nil {
		return nil, err
	}
	return cfg, nil
}

// loadConfig is LoadConfig, except that on a validation failure it returns the Config as decoded
// (defaults where a value could not be decoded) along with the problems, so check-config can go on
// to check the files it names. The Config is nil when the file could not be read.
func loadConfig(file string) (*Config, error) {
	s := configSchema()
	p := &problems{file: file, schema: s}
	v := viper.New()
	v.SetEnvPrefix(configEnvPrefix)
	v.SetEnvKeyReplacer(strings.NewReplacer(".", "_"))
	v.AutomaticEnv()
	if file != "" {
		v.SetConfigFile(file)
		v.SetConfigType("yaml")
		if err := v.ReadInConfig(); err != nil {
			var pe *fs.PathError
			if errors.As(err, &pe) {
				err = pe.Err
			}
			p.add("", "cannot read the configuration: %v", err)
			return nil, p.err()
		}
	}

	checkFileKeys(p, v, s)
	checkEnv(p, s)

	cfg := DefaultConfig()
	root := reflect.ValueOf(cfg).Elem()
	for _, l := range s.leaves {
		raw := v.Get(l.key)
		if raw == nil {
			continue // not set: the default stays
		}
		decodeValue(p, l.key, raw, root.FieldByIndex(l.index))
	}
	cfg.validate(p)
	return cfg, p.err()
}

// problems collects ConfigErrors in the order they are found.
type problems struct {
	file   string
	schema schema
	errs   []error
}

// add records a problem with key. If an environment variable sets the key, the message says so.
func (p *problems) add(key, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if base, _, _ := strings.Cut(key, "["); base != "" && p.schema.isLeaf(base) {
		if name := envName(base); os.Getenv(name) != "" {
			msg += " (set by " + name + ")"
		}
	}
	p.errs = append(p.errs, &ConfigError{File: p.file, Key: key, Problem: msg})
}

func (p *problems) err() error { return errors.Join(p.errs...) }

// schema is the key layout of Config, derived from its mapstructure tags.
type schema struct {
	leaves   []leaf          // keys that hold a value, in struct order
	sections map[string]bool // keys that hold a mapping: "log", "tsp", "tsp.tls", ...
}

// leaf is one key that holds a value, and where it lives in Config.
type leaf struct {
	key   string
	index []int
}

// configSchema walks Config. Lists of structs (tsp.peers) are leaves; their entries are checked by
// decodeValue. An embedded struct (`mapstructure:",squash"`, SMSCConfig's CoreConfig) adds its keys
// to the enclosing section.
func configSchema() schema {
	s := schema{sections: map[string]bool{}}
	var walk func(t reflect.Type, prefix string, index []int)
	walk = func(t reflect.Type, prefix string, index []int) {
		for i := range t.NumField() {
			f := t.Field(i)
			idx := append(slices.Clone(index), i)
			if f.Anonymous {
				walk(f.Type, prefix, idx)
				continue
			}
			key := prefix + fieldKey(f)
			if f.Type.Kind() == reflect.Struct {
				s.sections[key] = true
				walk(f.Type, key+".", idx)
				continue
			}
			s.leaves = append(s.leaves, leaf{key: key, index: idx})
		}
	}
	walk(reflect.TypeFor[Config](), "", nil)
	return s
}

func (s schema) isLeaf(key string) bool {
	return slices.ContainsFunc(s.leaves, func(l leaf) bool { return l.key == key })
}

func (s schema) keys() []string {
	keys := make([]string, 0, len(s.leaves)+len(s.sections))
	for _, l := range s.leaves {
		keys = append(keys, l.key)
	}
	for k := range s.sections {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// changedKeys lists, sorted, the keys whose values differ between a and b.
func changedKeys(a, b *Config) []string {
	var out []string
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for _, l := range configSchema().leaves {
		if !reflect.DeepEqual(va.FieldByIndex(l.index).Interface(), vb.FieldByIndex(l.index).Interface()) {
			out = append(out, l.key)
		}
	}
	slices.Sort(out)
	return out
}

// problemLines splits a joined LoadConfig error into its lines.
func problemLines(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, e.Error())
		}
		return out
	}
	return []string{err.Error()}
}

// fieldKey is the YAML key of a struct field: its mapstructure tag.
func fieldKey(f reflect.StructField) string {
	name, _, _ := strings.Cut(f.Tag.Get("mapstructure"), ",")
	if name == "" {
		panic("config field " + f.Name + " has no mapstructure tag")
	}
	return name
}

// checkFileKeys reports keys in the file that Config does not have, sections given a value, and keys
// given no value (which would otherwise quietly mean "default").
func checkFileKeys(p *problems, v *viper.Viper, s schema) {
	keys := v.AllKeys()
	slices.Sort(keys)
	reported := map[string]bool{}
	for _, k := range keys {
		switch {
		case s.isLeaf(k):
			if v.Get(k) == nil {
				p.add(k, "has no value; give one, or delete the key to use the default")
			}
		case s.sections[k]:
			if val := v.Get(k); val != nil {
				p.add(k, "must be a section of keys, got %s", describe(val))
			}
		default:
			// Report the first unknown part of the path once: "loggin", not "loggin.level".
			parts := strings.Split(k, ".")
			for i := range parts {
				prefix := strings.Join(parts[:i+1], ".")
				if s.isLeaf(prefix) {
					break // the leaf was given a mapping: decodeValue reports it
				}
				if s.sections[prefix] {
					continue
				}
				if !reported[prefix] {
					reported[prefix] = true
					p.add(prefix, "unknown key%s", didYouMean(parts[i], s.children(strings.Join(parts[:i], "."))))
				}
				break
			}
		}
	}
}

// children returns the last part of every key directly below section ("" for the top level).
func (s schema) children(section string) []string {
	var names []string
	for _, k := range s.keys() {
		parent, name := "", k
		if i := strings.LastIndex(k, "."); i >= 0 {
			parent, name = k[:i], k[i+1:]
		}
		if parent == section {
			names = append(names, name)
		}
	}
	return names
}

// checkEnv reports MTCIWF_* variables that override nothing (typos) or are set but empty (viper
// ignores empty variables, so the file or default value would silently stay).
func checkEnv(p *problems, s schema) {
	known := make([]string, 0, len(s.leaves))
	var suffixes []string // the names without "MTCIWF_", to compare typos on what differs
	for _, l := range s.leaves {
		known = append(known, envName(l.key))
		suffixes = append(suffixes, strings.TrimPrefix(envName(l.key), configEnvPrefix+"_"))
	}
	env := os.Environ()
	slices.Sort(env)
	for _, kv := range env {
		name, val, _ := strings.Cut(kv, "=")
		if !strings.HasPrefix(name, configEnvPrefix+"_") {
			continue
		}
		switch {
		case !slices.Contains(known, name):
			hint := didYouMean(strings.TrimPrefix(name, configEnvPrefix+"_"), suffixes)
			hint = strings.Replace(hint, "mean ", "mean "+configEnvPrefix+"_", 1)
			p.add(name, "unknown environment variable: it overrides no configuration key%s", hint)
		case val == "":
			p.add(name, "is set but empty; unset it to use the value from the file or the default")
		}
	}
}

var durationType = reflect.TypeFor[time.Duration]()

// decodeValue stores raw, a value as viper returns it (a YAML scalar, []any, map[string]any, or a
// string from the environment), into dst, reporting a problem against key when it does not fit.
// It is strict where mapstructure's weak typing is not: a bare number is not a duration (it would be
// nanoseconds), and a mapping may only hold the keys of its struct.
func decodeValue(p *problems, key string, raw any, dst reflect.Value) {
	if dst.Type() == durationType {
		s, ok := raw.(string)
		if !ok {
			p.add(key, "%s is not a duration; write a number with a unit, e.g. \"30s\" or \"4m\"", describe(raw))
			return
		}
		d, err := time.ParseDuration(strings.TrimSpace(s))
		if err != nil {
			p.add(key, "%q is not a duration; write a number with a unit, e.g. \"30s\" or \"4m\"", s)
			return
		}
		dst.SetInt(int64(d))
		return
	}
	switch dst.Kind() {
	case reflect.String:
		s, ok := raw.(string)
		if !ok {
			hint := ""
			if _, isNumber := toInt(raw); isNumber {
				hint = fmt.Sprintf("; quote it (\"%v\") so YAML reads it as text", raw)
			}
			p.add(key, "must be a string, got %s%s", describe(raw), hint)
			return
		}
		dst.SetString(s)
	case reflect.Bool:
		switch r := raw.(type) {
		case bool:
			dst.SetBool(r)
		case string: // from the environment
			switch strings.ToLower(strings.TrimSpace(r)) {
			case "true":
				dst.SetBool(true)
			case "false":
				dst.SetBool(false)
			default:
				p.add(key, "must be true or false, got %s", describe(raw))
			}
		default:
			p.add(key, "must be true or false, got %s", describe(raw))
		}
	case reflect.Pointer: // an optional section: present when given
		v := reflect.New(dst.Type().Elem())
		decodeValue(p, key, raw, v.Elem())
		dst.Set(v)
	case reflect.Int, reflect.Int64, reflect.Int32:
		n, ok := toInt(raw)
		if !ok || dst.OverflowInt(n) {
			p.add(key, "must be a whole number, got %s", describe(raw))
			return
		}
		dst.SetInt(n)
	case reflect.Slice:
		var items []any
		switch r := raw.(type) {
		case []any:
			items = r
		case string: // from the environment: comma-separated
			if dst.Type().Elem().Kind() != reflect.String {
				p.add(key, "must be a list of sections; it cannot be set from a string")
				return
			}
			for item := range strings.SplitSeq(r, ",") {
				if item = strings.TrimSpace(item); item != "" {
					items = append(items, item)
				}
			}
		default:
			p.add(key, "must be a list, got %s", describe(raw))
			return
		}
		out := reflect.MakeSlice(dst.Type(), len(items), len(items))
		for i, item := range items {
			decodeValue(p, fmt.Sprintf("%s[%d]", key, i), item, out.Index(i))
		}
		dst.Set(out)
	case reflect.Struct:
		m, ok := raw.(map[string]any)
		if !ok {
			p.add(key, "must be a section of keys, got %s", describe(raw))
			return
		}
		t := dst.Type()
		var names []string
		for i := range t.NumField() {
			names = append(names, fieldKey(t.Field(i)))
		}
		mkeys := make([]string, 0, len(m))
		for k := range m {
			mkeys = append(mkeys, k)
		}
		slices.Sort(mkeys)
		for _, k := range mkeys {
			i := slices.Index(names, strings.ToLower(k))
			switch {
			case i < 0 && t == reflect.TypeFor[PeerConfig]() && strings.EqualFold(k, "scs_identity"):
				p.add(key+"."+k, "unknown key: the SCS-Identity moved to the policy file (policy_file, "+
					"scs[].scs_identity of the entry whose peers list this origin_host); remove it here")
			case i < 0:
				p.add(key+"."+k, "unknown key%s", didYouMean(k, names))
			case m[k] == nil:
				p.add(key+"."+k, "has no value")
			default:
				decodeValue(p, key+"."+k, m[k], dst.Field(i))
			}
		}
	default:
		panic("config: no decoder for " + dst.Type().String() + " (" + key + ")")
	}
}

// toInt converts the integer forms YAML and the environment produce.
func toInt(raw any) (int64, bool) {
	switch r := raw.(type) {
	case int:
		return int64(r), true
	case int64:
		return r, true
	case uint64:
		if r > 1<<63-1 {
			return 0, false
		}
		return int64(r), true
	case float64:
		n := int64(r)
		return n, float64(n) == r
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(r), 10, 64)
		return n, err == nil
	}
	return 0, false
}

// describe shows a raw value in a message.
func describe(raw any) string {
	switch r := raw.(type) {
	case string:
		return strconv.Quote(r)
	case map[string]any:
		return "a section of keys"
	case []any:
		return "a list"
	case nil:
		return "nothing"
	}
	return fmt.Sprintf("%v", raw)
}

// didYouMean suggests the closest of known to k when it is close enough to be a typo: at most
// half of k's length, and at least 2, edits away.
func didYouMean(k string, known []string) string {
	best, bestDist := "", max(2, len(k)/2)+1
	for _, c := range known {
		if d := editDistance(strings.ToLower(k), strings.ToLower(c)); d < bestDist {
			best, bestDist = c, d
		}
	}
	if best == "" {
		return ""
	}
	return " (did you mean " + best + "?)"
}

// editDistance is the Levenshtein distance between a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

// validate checks every rule and records every violation; it stops at none.
func (c *Config) validate(p *problems) {
	switch c.Log.Format {
	case LogFormatJSON, LogFormatConsole:
	default:
		p.add("log.format", "%q is not a log format; use json or console", c.Log.Format)
	}
	switch c.Log.Level {
	case LogLevelDebug, LogLevelInfo, LogLevelWarn, LogLevelError:
	default:
		p.add("log.level", "%q is not a log level; use debug, info, warn or error", c.Log.Level)
	}

	checkIdentity(p, "identity.origin_host", c.Identity.OriginHost)
	checkIdentity(p, "identity.origin_realm", c.Identity.OriginRealm)
	checkDataDir(p, "data_dir", c.DataDir)
	if c.StoreCommitLinger < 0 || c.StoreCommitLinger > maxStoreCommitLinger {
		p.add("store_commit_linger", "%v is outside 0..%v", c.StoreCommitLinger, maxStoreCommitLinger)
	}
	checkFile(p, "policy_file", c.PolicyFile)

	t := &c.Tsp
	checkListen(p, "tsp.listen", t.Listen)
	checkFile(p, "tsp.tls.cert_file", t.TLS.CertFile)
	checkFile(p, "tsp.tls.key_file", t.TLS.KeyFile)
	if len(t.TLS.ClientCAFiles) == 0 {
		p.add("tsp.tls.client_ca_files", "needs at least one CA file: client certificates are required on Tsp")
	}
	for i, f := range t.TLS.ClientCAFiles {
		checkFile(p, fmt.Sprintf("tsp.tls.client_ca_files[%d]", i), f)
	}
	for i, f := range t.TLS.CRLFiles {
		checkFile(p, fmt.Sprintf("tsp.tls.crl_files[%d]", i), f)
	}
	checkPositiveDuration(p, "tsp.tls.handshake_timeout", t.TLS.HandshakeTimeout)
	if t.TLS.KeyLogFile != "" {
		checkDataDir(p, "tsp.tls.key_log_file (its directory)", filepath.Dir(t.TLS.KeyLogFile))
	}

	checkPositive(p, "tsp.max_connections", t.MaxConnections)
	checkPositive(p, "tsp.max_connections_per_ip", t.MaxConnectionsPerIP)
	if t.MaxConnections > 0 && t.MaxConnectionsPerIP > t.MaxConnections {
		p.add("tsp.max_connections_per_ip", "%d is above tsp.max_connections (%d)", t.MaxConnectionsPerIP, t.MaxConnections)
	}
	checkRange(p, "tsp.max_message_size", t.MaxMessageSize, minMaxMessageSize, maxMaxMessageSize,
		" (bytes; the upper bound is the 24-bit Message Length, RFC 6733 §3)")
	checkRange(p, "tsp.max_avp_depth", t.MaxAVPDepth, minMaxAVPDepth, maxMaxAVPDepth, "")
	checkPositive(p, "tsp.max_avps", t.MaxAVPs)
	checkPositive(p, "tsp.max_in_flight_per_connection", t.MaxInFlightPerConnection)
	if t.WatchdogInterval < minWatchdogInterval {
		p.add("tsp.watchdog_interval", "%v is below %v: Tw must not be set below 6 seconds (RFC 3539 §3.4.1)",
			t.WatchdogInterval, minWatchdogInterval)
	}
	checkPositiveDuration(p, "tsp.cer_timeout", t.CERTimeout)
	checkPositiveDuration(p, "tsp.write_timeout", t.WriteTimeout)
	switch {
	case t.DuplicateWindow <= 0:
		p.add("tsp.duplicate_window", "must be above 0, got %v", t.DuplicateWindow)
	case t.DuplicateWindow > maxDuplicateWindow:
		p.add("tsp.duplicate_window", "%v is above %v: a sender keeps an End-to-End-Id unique only for 4 minutes "+
			"(RFC 6733 §3), so a longer window could answer a new request from the cache", t.DuplicateWindow, maxDuplicateWindow)
	}
	checkPositive(p, "tsp.duplicate_cache_size", t.DuplicateCacheSize)
	c.validatePeers(p)

	c.validateTriggers(p)
	c.validateCore(p, "hss", &c.HSS, "the HSS (S6m)")
	c.validateCore(p, "smsc", &c.SMSC.CoreConfig, "the SMS-SC (T4)")

	checkPositiveDuration(p, "shutdown.grace_period", c.Shutdown.GracePeriod)
	if c.Admin.Listen != "" {
		checkListen(p, "admin.listen", c.Admin.Listen)
	}
}

// validateTriggers checks the triggers section.
func (c *Config) validateTriggers(p *problems) {
	tr := &c.Triggers
	checkRange(p, "triggers.max_payload_bytes", tr.MaxPayloadBytes, minMaxPayloadBytes, maxMaxPayloadBytes, " (bytes)")
	maxOK := checkValidity(p, "triggers.max_validity", tr.MaxValidity)
	if checkValidity(p, "triggers.default_validity", tr.DefaultValidity) && maxOK && tr.DefaultValidity > tr.MaxValidity {
		p.add("triggers.default_validity", "%v is above triggers.max_validity (%v): a DAR without Validity-Time "+
			"would get a longer validity than a DAR may ask for", tr.DefaultValidity, tr.MaxValidity)
	}
	if tr.ExpiryGrace < 0 {
		p.add("triggers.expiry_grace", "must not be negative, got %v", tr.ExpiryGrace)
	}
	checkPositiveDuration(p, "triggers.report_retry_min", tr.ReportRetryMin)
	checkPositiveDuration(p, "triggers.report_retry_max", tr.ReportRetryMax)
	if tr.ReportRetryMin > 0 && tr.ReportRetryMax > 0 && tr.ReportRetryMin > tr.ReportRetryMax {
		p.add("triggers.report_retry_min", "%v is above triggers.report_retry_max (%v)", tr.ReportRetryMin, tr.ReportRetryMax)
	}
}

// checkValidity reports a validity period that is not a positive number of whole seconds (the unit
// of Validity-Time, RFC 4006 §8.33). It returns whether d is valid.
func checkValidity(p *problems, key string, d time.Duration) bool {
	switch {
	case d <= 0:
		p.add(key, "must be above 0, got %v", d)
	case d%time.Second != 0:
		p.add(key, "%v is not a whole number of seconds (Validity-Time counts seconds)", d)
	default:
		return true
	}
	return false
}

// validateCore checks a core-side client section (hss, smsc); what names the node its peers are.
func (c *Config) validateCore(p *problems, section string, core *CoreConfig, what string) {
	checkPositiveDuration(p, section+".request_timeout", core.RequestTimeout)
	checkIdentity(p, section+".destination_realm", core.DestinationRealm)
	if len(core.Peers) == 0 {
		p.add(section+".peers", "no peers configured: every request to %s would fail", what)
		return
	}
	tspHosts := map[string]int{}
	for i, peer := range c.Tsp.Peers {
		if _, dup := tspHosts[strings.ToLower(peer.OriginHost)]; !dup {
			tspHosts[strings.ToLower(peer.OriginHost)] = i
		}
	}
	hosts, addrs := map[string]int{}, map[string]int{}
	for i, peer := range core.Peers {
		key := fmt.Sprintf("%s.peers[%d]", section, i)
		if checkIdentity(p, key+".origin_host", peer.OriginHost) {
			h := strings.ToLower(peer.OriginHost)
			if j, dup := hosts[h]; dup {
				p.add(key+".origin_host", "%q is already the origin_host of %s.peers[%d]", peer.OriginHost, section, j)
			} else {
				hosts[h] = i
			}
			if strings.EqualFold(peer.OriginHost, c.Identity.OriginHost) {
				p.add(key+".origin_host", "%q is this daemon's own identity.origin_host", peer.OriginHost)
			}
			if j, ok := tspHosts[h]; ok {
				p.add(key+".origin_host", "%q is also tsp.peers[%d].origin_host: a core node is not an SCS", peer.OriginHost, j)
			}
		}
		if checkDialAddress(p, key+".address", peer.Address) {
			a := strings.ToLower(peer.Address)
			if j, dup := addrs[a]; dup {
				p.add(key+".address", "%q is already the address of %s.peers[%d]", peer.Address, section, j)
			} else {
				addrs[a] = i
			}
		}
		if t := peer.TLS; t != nil {
			switch {
			case t.CertFile != "" && t.KeyFile == "":
				p.add(key+".tls.key_file", "is required with tls.cert_file: give the key of the client certificate")
			case t.CertFile == "" && t.KeyFile != "":
				p.add(key+".tls.cert_file", "is required with tls.key_file: give the client certificate, or remove key_file")
			}
			if t.CertFile != "" {
				checkFile(p, key+".tls.cert_file", t.CertFile)
			}
			if t.KeyFile != "" {
				checkFile(p, key+".tls.key_file", t.KeyFile)
			}
			if len(t.CAFiles) == 0 {
				p.add(key+".tls.ca_files", "needs at least one CA file to verify the peer's certificate "+
					"(the system roots are not used); remove tls for plain TCP")
			}
			for j, f := range t.CAFiles {
				checkFile(p, fmt.Sprintf("%s.tls.ca_files[%d]", key, j), f)
			}
		}
	}
}

// validatePeers checks tsp.peers: identities, kinds, the agent/SCS relation and uniqueness.
func (c *Config) validatePeers(p *problems) {
	peers := c.Tsp.Peers
	if len(peers) == 0 {
		p.add("tsp.peers", "no peers configured: every CER would be refused with DIAMETER_UNKNOWN_PEER (3010)")
		return
	}
	first := map[string]int{} // lower-cased origin_host → index of its first entry
	agents := map[string]bool{}
	for i, peer := range peers {
		h := strings.ToLower(peer.OriginHost)
		if _, dup := first[h]; !dup {
			first[h] = i
		}
		if peer.Kind == PeerKindAgent {
			agents[h] = true
		}
	}
	for i, peer := range peers {
		key := fmt.Sprintf("tsp.peers[%d]", i)
		h := strings.ToLower(peer.OriginHost)
		if checkIdentity(p, key+".origin_host", peer.OriginHost) {
			switch {
			case first[h] != i:
				p.add(key+".origin_host", "%q is already the origin_host of tsp.peers[%d]", peer.OriginHost, first[h])
			case strings.EqualFold(peer.OriginHost, c.Identity.OriginHost):
				p.add(key+".origin_host", "%q is this daemon's own identity.origin_host", peer.OriginHost)
			}
		}
		checkIdentity(p, key+".origin_realm", peer.OriginRealm)
		switch peer.Kind {
		case PeerKindSCS:
			if len(peer.SCSOriginHosts) > 0 {
				p.add(key+".scs_origin_hosts", "only an agent relays for other SCSs; remove the list or set kind: agent")
			}
		case PeerKindAgent:
			if len(peer.SCSOriginHosts) == 0 {
				p.add(key+".scs_origin_hosts", "an agent must list at least one SCS origin_host it relays for")
			}
			seen := map[string]bool{}
			for j, s := range peer.SCSOriginHosts {
				skey := fmt.Sprintf("%s.scs_origin_hosts[%d]", key, j)
				if !checkIdentity(p, skey, s) {
					continue
				}
				ls := strings.ToLower(s)
				switch {
				case seen[ls]:
					p.add(skey, "%q is listed twice", s)
				case ls == h:
					p.add(skey, "%q is the agent itself", s)
				case agents[ls]:
					p.add(skey, "%q is an agent, not an SCS", s)
				default:
					if _, listed := first[ls]; !listed {
						p.add(skey, "%q is not in tsp.peers: every SCS an agent relays for must also be listed "+
							"there, with kind: scs (and have an entry in policy_file)", s)
					}
				}
				seen[ls] = true
			}
		case "":
			p.add(key+".kind", "is required: scs or agent")
		default:
			p.add(key+".kind", "%q is not a peer kind; use scs or agent", peer.Kind)
		}
	}
}

func checkPositive(p *problems, key string, n int) {
	if n <= 0 {
		p.add(key, "must be above 0, got %d", n)
	}
}

func checkPositiveDuration(p *problems, key string, d time.Duration) {
	if d <= 0 {
		p.add(key, "must be above 0, got %v", d)
	}
}

func checkRange(p *problems, key string, n, lo, hi int, note string) {
	if n < lo || n > hi {
		p.add(key, "%d is outside %d..%d%s", n, lo, hi, note)
	}
}

// checkFile reports a path that is empty, cannot be opened for reading, or is a directory.
func checkFile(p *problems, key, path string) {
	if path == "" {
		p.add(key, "is required: give a file path")
		return
	}
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		p.add(key, "cannot read %s: %v", path, err)
		return
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil && st.IsDir() {
		p.add(key, "%s is a directory, not a file", path)
	}
}

// checkDataDir reports a data directory path that is empty, or that exists but is not a directory
// or cannot be examined. A missing directory is fine: the daemon creates it.
func checkDataDir(p *problems, key, dir string) {
	if dir == "" {
		p.add(key, "is required: give a directory path")
		return
	}
	st, err := os.Stat(dir)
	switch {
	case errors.Is(err, fs.ErrNotExist):
	case err != nil:
		var pe *fs.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		p.add(key, "cannot use %s: %v", dir, err)
	case !st.IsDir():
		p.add(key, "%s is not a directory", dir)
	}
}

// checkDialAddress reports an address to dial that is not host:port with a host and a port in
// 1..65535. It returns whether the address is valid.
func checkDialAddress(p *problems, key, addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || host == "" {
		p.add(key, "%q is not host:port (e.g. 127.0.0.1:3870, [::1]:3870 or hss1.operator.example:3868)", addr)
		return false
	}
	if n, err := strconv.ParseUint(port, 10, 16); err != nil || n == 0 {
		p.add(key, "port %q is not a number in 1..65535", port)
		return false
	}
	if net.ParseIP(host) == nil {
		if problem := hostnameProblem(host, false); problem != "" {
			p.add(key, "host %q: %s", host, problem)
			return false
		}
	}
	return true
}

// checkListen reports an address that is not host:port with a numeric port.
func checkListen(p *problems, key, addr string) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		p.add(key, "%q is not host:port (e.g. 127.0.0.1:3868, [::1]:3868 or :3868)", addr)
		return
	}
	if _, err := strconv.ParseUint(port, 10, 16); err != nil {
		p.add(key, "port %q is not a number in 0..65535", port)
	}
	if host != "" && net.ParseIP(host) == nil {
		if problem := hostnameProblem(host, false); problem != "" {
			p.add(key, "host %q: %s", host, problem)
		}
	}
}

// checkIdentity reports a value that is not a DiameterIdentity: an FQDN (RFC 6733 §4.3.1) of at least
// two labels, letters, digits and hyphens, no trailing dot. It returns whether the value is valid.
func checkIdentity(p *problems, key, s string) bool {
	if s == "" {
		p.add(key, "is required: give a fully qualified domain name")
		return false
	}
	if problem := hostnameProblem(s, true); problem != "" {
		p.add(key, "%q is not a DiameterIdentity (RFC 6733 §4.3.1): %s", s, problem)
		return false
	}
	return true
}

// hostnameProblem says what is wrong with a host name (RFC 1123 §2.1), or "" if nothing is.
func hostnameProblem(s string, fqdn bool) string {
	if net.ParseIP(s) != nil {
		return "an IP address is not a host name"
	}
	if len(s) > maxFQDNLength {
		return fmt.Sprintf("longer than %d characters", maxFQDNLength)
	}
	if strings.HasSuffix(s, ".") {
		return "remove the trailing dot"
	}
	labels := strings.Split(s, ".")
	if fqdn && len(labels) < 2 {
		return "not fully qualified (write host.realm, e.g. scs1.scs.example)"
	}
	for _, l := range labels {
		switch {
		case l == "":
			return "empty label"
		case len(l) > maxLabelLength:
			return fmt.Sprintf("label %q is longer than %d characters", l, maxLabelLength)
		case l[0] == '-' || l[len(l)-1] == '-':
			return fmt.Sprintf("label %q starts or ends with a hyphen", l)
		}
		for _, r := range l {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return fmt.Sprintf("%q is not allowed (letters, digits, hyphens and dots only)", r)
			}
		}
	}
	return ""
}
