// Package emulatorproc runs the ecstest emulator as a process (Main, wired
// as "alicloud-image-family emulator") and drives it from Go: WaitReady
// waits for the ready file Main writes, NewControl builds a client of the
// control API (ecstest's package documentation lists its endpoints) that
// trusts the emulator's certificate.
package emulatorproc

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// ReadyInfo is the JSON line Main prints to stdout and writes to
// --ready-file once the server listens.
type ReadyInfo struct {
	URL      string `json:"url"`
	Endpoint string `json:"endpoint"`
	CertFile string `json:"cert_file,omitempty"`
	// ControlURL is where the control API answers (URL + ecstest.ControlPrefix);
	// empty when it is off.
	ControlURL string `json:"control_url,omitempty"`
}

// Main runs the emulator as a process (wired by the CLI as
// "alicloud-image-family emulator") until ctx is cancelled. It returns the
// process's status: 0 after a clean stop, 1 on a runtime failure, 2 on bad
// usage.
func Main(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("emulator", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fixture := fs.String("fixture", "", "fixture JSON `file` (accounts, roles, regions, images); required")
	addr := fs.String("addr", "127.0.0.1:0", "loopback `address` to listen on")
	useTLS := fs.Bool("tls", false, "serve HTTPS with a generated self-signed certificate")
	certFile := fs.String("cert-file", "", "with --tls, write the certificate (PEM) to this `path` (for SSL_CERT_FILE); default a temporary file")
	readyFile := fs.String("ready-file", "", "write the ready JSON line to this `path` once listening")
	throttle := fs.Int("throttle", 0, "answer the first `N` requests with Throttling.User")
	latency := fs.Duration("latency", 0, "add this `duration` to every request")
	lifetime := fs.Duration("token-lifetime", 0, "issued STS credentials live this `duration` instead of DurationSeconds")
	copyPolls := fs.Int("copy-polls", ecstest.DefaultCopyPolls, "CopyImage copies answer Creating to this many DescribeImages `polls` naming them, then Available")
	buildPolls := fs.Int("build-polls", 0, "a Packer build's instances, VPCs, VSwitches and created images answer their intermediate status to this many Describe `polls` naming them (0: at once)")
	failCopiesTo := fs.String("fail-copies-to", "", "CopyImage copies into this `region` end CreateFailed instead of Available")
	logRequests := fs.Bool("log", true, "write one line per API request to stderr (action, region, resource ids, answer)")
	control := fs.Bool("control", true, "serve the control API under "+ecstest.ControlPrefix+" (faults, images, request counts; see the ecstest package documentation)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: emulator --fixture FILE [--addr 127.0.0.1:0] [--tls --cert-file PATH] [--ready-file PATH] [--throttle N] [--latency D] [--copy-polls N] [--build-polls N] [--fail-copies-to REGION] [--log=false] [--control=false]")
		fmt.Fprintln(stderr, "Runs a loopback ECS + STS emulator until interrupted.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	usage := func(format string, a ...any) int {
		fmt.Fprintf(stderr, "emulator: "+format+"\n", a...)
		return 2
	}
	switch {
	case fs.NArg() > 0:
		return usage("unexpected argument %q", fs.Arg(0))
	case *fixture == "":
		return usage("--fixture is required")
	case *throttle < 0:
		return usage("--throttle must not be negative")
	case *copyPolls < 0:
		return usage("--copy-polls must not be negative")
	case *buildPolls < 0:
		return usage("--build-polls must not be negative")
	case *latency < 0:
		return usage("--latency must not be negative")
	case *certFile != "" && !*useTLS:
		return usage("--cert-file needs --tls")
	}
	if err := ecstest.CheckLoopback(*addr); err != nil {
		return usage("--addr: %v", err)
	}

	f, err := ecstest.LoadFixture(*fixture)
	if err != nil {
		fmt.Fprintf(stderr, "emulator: %v\n", err)
		return 1
	}
	// The control API is on by default here: a test that runs this process
	// has no other way to inject faults or change images between runs.
	opts := ecstest.Options{Addr: *addr, TLS: *useTLS, Control: *control}
	if *logRequests {
		opts.Log = stderr
	}
	srv, err := ecstest.Start(f, opts)
	if err != nil {
		fmt.Fprintf(stderr, "emulator: %v\n", err)
		return 1
	}
	defer srv.Close()
	srv.Throttle("", *throttle)
	srv.Latency(*latency)
	srv.SetTokenLifetime(*lifetime)
	srv.SetCopyPolls(*copyPolls)
	srv.SetBuildPolls(*buildPolls)
	srv.FailCopiesTo(*failCopiesTo)

	info := ReadyInfo{URL: srv.URL, Endpoint: srv.Endpoint()}
	if *control {
		info.ControlURL = srv.URL + ecstest.ControlPrefix
	}
	if *useTLS {
		path := *certFile
		if path == "" {
			dir, err := os.MkdirTemp("", "ecstest-")
			if err != nil {
				fmt.Fprintf(stderr, "emulator: %v\n", err)
				return 1
			}
			defer os.RemoveAll(dir)
			path = filepath.Join(dir, "cert.pem")
		}
		if err := writeFileAtomic(path, srv.CertPEM()); err != nil {
			fmt.Fprintf(stderr, "emulator: write certificate: %v\n", err)
			return 1
		}
		info.CertFile = path
	}
	line, _ := json.Marshal(info)
	line = append(line, '\n')
	// The certificate is written before the ready file, so a script that sees
	// the ready file can use cert_file at once.
	if *readyFile != "" {
		if err := writeFileAtomic(*readyFile, line); err != nil {
			fmt.Fprintf(stderr, "emulator: write ready file: %v\n", err)
			return 1
		}
	}
	_, _ = stdout.Write(line)

	<-ctx.Done()
	return 0
}

// writeFileAtomic writes via a temporary file and a rename, so a script
// polling for path never reads it half-written.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".ecstest-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
