// Package conformance holds the tables every front's tests run against the
// ecstest emulator: what an endpoint does (a fault, a hostile answer, an
// expensive shape) and what the user must get from it (the outcome class,
// the message, the exit code, the requests sent). The emulator provides the
// mechanics (ecstest.FaultSpec, Server.Inject, ecstest.StartHostile) and
// knows nothing of these expectations. Sample says which rows a front's
// runner takes: every row at the core and the CLI binary, fewer where a
// run is costly.
package conformance
