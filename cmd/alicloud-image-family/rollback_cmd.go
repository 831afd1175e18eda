package main

import "context"

// rollback is the family lifecycle's undo of a release: it shares its flags,
// checks and output with promote (promote_cmd.go: lifecycle); what differs
// is the core call, imagefamily.Rollback, and its flag --allow-empty. It
// deprecates, in each region, the image named, only where the family
// resolves to it (compare-and-swap, exit 4 "moved" otherwise) and only while
// another Available image remains in the family (exit 5 "refused"
// otherwise, unless --allow-empty). Undo it with promote.
func (a *app) rollback(ctx context.Context, args []string) int {
	return a.lifecycle(ctx, "rollback", args)
}
