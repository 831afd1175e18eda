package conformance

import (
	"slices"
	"strings"
)

// Tests shaped like a pyramid: every row runs in full where it is cheap
// (the core, and the CLI binary, which is the reference front), and the
// other fronts run the rows that can fail differently there: a row per
// outcome class, and the rows whose server text goes to a sink the
// others do not reach. Sample picks them from the rows themselves, so a
// new class or sink is sampled without anyone listing it.

// Front says how much of a table a runner runs.
type Front int

const (
	// Core is imagefamily's runner: every row.
	Core Front = iota
	// CLI is the CLI binary's runner: every row.
	CLI
	// InProcess is a front's Go runner (the action's Main, the data
	// source's Execute): one row for every combination of an outcome class
	// and the sinks it writes to.
	InProcess
	// EndToEnd is a runner of a real client (a packer build, act): a few
	// rows that together reach every outcome class and every sink.
	EndToEnd
)

// Sink is where a row's result, or the text the server planted in it, is
// written by a front.
type Sink string

const (
	// SinkOutputs: the image found, in machine outputs (GITHUB_OUTPUT, the
	// Packer attributes, the CLI's stdout) and the step summary.
	SinkOutputs Sink = "outputs"
	// SinkError: the error, in the annotation (::error), the Packer
	// diagnostic, the CLI's stderr.
	SinkError Sink = "error"
	// SinkRetryLog: progress lines about retries, in the step log, the
	// Packer UI, the CLI's stderr.
	SinkRetryLog Sink = "retry log"
	// SinkPlantedOutputs: text the server planted in an accepted answer,
	// exact in machine outputs and escaped in the summary and the log.
	SinkPlantedOutputs Sink = "planted text in outputs"
	// SinkPlantedError: text the server planted in an error, escaped in
	// the annotation, the diagnostic and stderr.
	SinkPlantedError Sink = "planted text in the error"
	// SinkEchoedSecret: an error whose server message echoes a secret,
	// which every sink gets scrubbed.
	SinkEchoedSecret Sink = "echoed secret in the error"
)

// Row is a row of a conformance table, as Sample sees it.
type Row interface {
	// Class names the row's outcome class.
	Class() string
	// Sinks are where a front writes the row's result.
	Sinks() []Sink
}

// Class is the row's outcome (a failure while obtaining credentials is a
// class of its own: its error is a credentials error too).
func (r FaultRow) Class() string {
	if r.DuringCredentials {
		return r.Outcome.String() + " while obtaining credentials"
	}
	return r.Outcome.String()
}

// Sinks are where a front writes the row's result.
func (r FaultRow) Sinks() []Sink {
	sinks := []Sink{SinkError}
	if r.Outcome == FaultFound {
		sinks = []Sink{SinkOutputs}
	}
	if r.Retries > 0 {
		sinks = append(sinks, SinkRetryLog)
	}
	if r.Credentials == CredSTSWrongSecret {
		sinks = append(sinks, SinkEchoedSecret)
	}
	return sinks
}

// Class is the row's outcome.
func (r HostileRow) Class() string { return r.Outcome.String() }

// Sinks are where a front writes the row's result.
func (r HostileRow) Sinks() []Sink {
	found := r.Outcome == HostileFound
	sinks := []Sink{SinkError}
	if found {
		sinks = []Sink{SinkOutputs}
	}
	if r.Requests > 1 {
		sinks = append(sinks, SinkRetryLog)
	}
	switch {
	case len(r.Forged) > 0 && found:
		sinks = append(sinks, SinkPlantedOutputs)
	case len(r.Forged) > 0:
		sinks = append(sinks, SinkPlantedError)
	}
	return sinks
}

// Sample is the rows a runner of front runs, in table order: all of them
// for Core and CLI; for InProcess the first row of every combination of a
// class and a set of sinks; for EndToEnd rows picked greedily (the row
// reaching most of what is not reached yet, the first on a tie) until
// every class and every sink is reached.
func Sample[R Row](rows []R, front Front) []R {
	switch front {
	case Core, CLI:
		return slices.Clone(rows)
	case InProcess:
		seen := map[string]bool{}
		var out []R
		for _, r := range rows {
			if k := coverKey(r); !seen[k] {
				seen[k] = true
				out = append(out, r)
			}
		}
		return out
	}
	want := map[string]bool{}
	for _, r := range rows {
		for _, c := range covers(r) {
			want[c] = true
		}
	}
	picked := make([]bool, len(rows))
	for len(want) > 0 {
		best, bestN := -1, 0
		for i, r := range rows {
			n := 0
			for _, c := range covers(r) {
				if want[c] {
					n++
				}
			}
			if !picked[i] && n > bestN {
				best, bestN = i, n
			}
		}
		picked[best] = true
		for _, c := range covers(rows[best]) {
			delete(want, c)
		}
	}
	var out []R
	for i, r := range rows {
		if picked[i] {
			out = append(out, r)
		}
	}
	return out
}

// covers is what a row reaches: its class and each of its sinks.
func covers(r Row) []string {
	out := []string{"class " + r.Class()}
	for _, s := range r.Sinks() {
		out = append(out, "sink "+string(s))
	}
	return out
}

// coverKey is a row's class with its set of sinks.
func coverKey(r Row) string {
	sinks := make([]string, 0, len(r.Sinks()))
	for _, s := range r.Sinks() {
		sinks = append(sinks, string(s))
	}
	slices.Sort(sinks)
	return r.Class() + ": " + strings.Join(sinks, ", ")
}
