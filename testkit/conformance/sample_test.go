package conformance

import (
	"slices"
	"testing"
)

var fronts = map[Front]string{Core: "core", CLI: "CLI", InProcess: "in process", EndToEnd: "end to end"}

// reached is every class and sink the rows reach.
func reached[R Row](rows []R) map[string]bool {
	out := map[string]bool{}
	for _, r := range rows {
		for _, c := range covers(r) {
			out[c] = true
		}
	}
	return out
}

func checkSample[R Row](t *testing.T, table string, rows []R, name func(R) string) {
	t.Helper()
	all := reached(rows)
	for front, frontName := range fronts {
		sample := Sample(rows, front)
		got := reached(sample)
		for c := range all {
			if !got[c] {
				t.Errorf("%s, %s: the sample reaches no row of %s", table, frontName, c)
			}
		}
		if (front == Core || front == CLI) && len(sample) != len(rows) {
			t.Errorf("%s, %s: %d of %d rows, want every row", table, frontName, len(sample), len(rows))
		}
		// Table order, no row twice.
		last := -1
		for _, r := range sample {
			i := slices.IndexFunc(rows, func(x R) bool { return name(x) == name(r) })
			if i <= last {
				t.Errorf("%s, %s: %q is out of table order or sampled twice", table, frontName, name(r))
			}
			last = i
		}
		t.Logf("%s, %s: %d of %d rows", table, frontName, len(sample), len(rows))
		if front == EndToEnd || front == InProcess {
			for _, r := range sample {
				t.Logf("    %s [%s]", name(r), coverKey(r))
			}
		}
	}
}

func TestSampleReachesEveryClassAndSink(t *testing.T) {
	checkSample(t, "FaultRows", FaultRows(), func(r FaultRow) string { return r.Name })
	checkSample(t, "LifecycleFaultRows", LifecycleFaultRows(), func(r FaultRow) string { return r.Name })
	checkSample(t, "HostileRows", HostileRows(), func(r HostileRow) string { return r.Name })
	checkSample(t, "LifecycleHostileRows", LifecycleHostileRows(), func(r HostileRow) string { return r.Name })
}

// A class or sink added later is sampled without anyone listing it: a row
// of a class no other row has, last in the table, is in every sample.
func TestSampleTakesANewClass(t *testing.T) {
	newClass := FaultRow{Name: "a class added later", Outcome: FaultOutcome(42), Fragment: "new"}
	rows := append(FaultRows(), newClass)
	for front, frontName := range fronts {
		if !slices.ContainsFunc(Sample(rows, front), func(r FaultRow) bool { return r.Name == newClass.Name }) {
			t.Errorf("%s: the row of a new class is not sampled", frontName)
		}
	}
	newHostile := HostileRow{Name: "a hostile class added later", Outcome: HostileOutcome(42)}
	hostile := append(HostileRows(), newHostile)
	for front, frontName := range fronts {
		if !slices.ContainsFunc(Sample(hostile, front), func(r HostileRow) bool { return r.Name == newHostile.Name }) {
			t.Errorf("%s: the row of a new class is not sampled", frontName)
		}
	}
	// In process, a class that reaches a new set of sinks is sampled too.
	newSinks := HostileRow{Name: "not found after a retry, planting text", Outcome: HostileNotFound, Requests: 2, Forged: []string{"x"}}
	if !slices.ContainsFunc(Sample(append(HostileRows(), newSinks), InProcess), func(r HostileRow) bool { return r.Name == newSinks.Name }) {
		t.Error("in process: the row of a new combination of class and sinks is not sampled")
	}
}

// Every outcome of the tables has a name of its own: Sample tells classes
// apart by name.
func TestOutcomesHaveDistinctNames(t *testing.T) {
	names := map[string]bool{}
	for _, o := range []FaultOutcome{FaultFound, FaultThrottled, FaultAPIError, FaultNetwork, FaultTimeout, FaultAuthFailed, FaultAccessDenied} {
		if names[o.String()] {
			t.Errorf("two fault outcomes are named %q", o)
		}
		names[o.String()] = true
	}
	clear(names)
	for _, o := range []HostileOutcome{HostileFound, HostileNotFound, HostileRefused, HostileAPIError, HostileTimeout} {
		if names[o.String()] {
			t.Errorf("two hostile outcomes are named %q", o)
		}
		names[o.String()] = true
	}
}
