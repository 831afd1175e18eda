package conformance

import (
	"encoding/json"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

// The family lifecycle's rows of the fault table: the faults of FaultRows,
// injected into the calls promote and rollback make (DescribeImages by id
// and by family, ModifyImageAttribute, the read back with
// DescribeImageFromFamily), and the permissions the promote policy grants.
// Runners prepare a fresh emulator per row with LifecycleFixture: promote
// names a copy of the demo's newest web-base image in cn-beijing, Available
// and in no family (so promote sets ImageFamily); rollback names
// cn-hangzhou's newest web-base image (LifecycleRollbackImage), whose
// previous image remains Available.

// Commands the lifecycle rows run.
const (
	CommandPromote  = "promote"
	CommandRollback = "rollback"
)

// Actions the lifecycle rows name.
const (
	ActionDescribeImages = "DescribeImages"
	ActionModifyImage    = "ModifyImageAttribute"
)

// The lifecycle rows' images and regions.
const (
	LifecycleCopySource    = "m-bp1demowebbase000003" // in cn-hangzhou; promote rows copy it to LifecycleCopyRegion
	LifecycleCopyRegion    = "cn-beijing"
	LifecycleRollbackImage = "m-bp1demowebbase000003" // in cn-hangzhou
	LifecyclePreviousImage = "m-bp1demowebbase000002" // what web-base resolves to in cn-hangzhou after the rollback
)

// Accounts of LifecycleFixture whose RAM policy lacks what promote and
// rollback need (their secrets are secrets like any other).
const (
	// ReadOnlyKeyID may call only ecs:DescribeImageFromFamily: the
	// read-only policy of docs/promotion.md.
	ReadOnlyKeyID     = "LTAIDEMOREADONLYKEY0003"
	ReadOnlyKeySecret = "demo-secret-READ-ONLY-0003"
	// NoWriteKeyID may call ecs:DescribeImageFromFamily and
	// ecs:DescribeImages, not ecs:ModifyImageAttribute.
	NoWriteKeyID     = "LTAIDEMONOWRITEKEY00004"
	NoWriteKeySecret = "demo-secret-NO-WRITE-0004"
)

// Credentials of the lifecycle rows (FaultRow.Credentials).
const (
	// CredReadOnly: ReadOnlyKeyID, the read-only policy.
	CredReadOnly FaultCredentials = 100 + iota
	// CredNoWrite: NoWriteKeyID, everything but ecs:ModifyImageAttribute.
	CredNoWrite
)

// FaultAccessDenied: imagefamily.ErrAccessDenied (Forbidden.RAM; the
// message names the missing action). It is an outcome of the lifecycle
// rows only.
const FaultAccessDenied FaultOutcome = 100

// LifecycleFixture is the demo fixture (as written) with the accounts
// ReadOnlyKeyID and NoWriteKeyID.
func LifecycleFixture() []byte {
	var f map[string]any
	if err := json.Unmarshal(ecstest.DemoFixtureAsWritten, &f); err != nil {
		panic("conformance: the demo fixture: " + err.Error()) // embedded and checked by the package's tests
	}
	accounts, _ := f["accounts"].([]any)
	f["accounts"] = append(accounts,
		map[string]any{"access_key_id": ReadOnlyKeyID, "access_key_secret": ReadOnlyKeySecret, "account_id": "123456789012",
			"user_name": "demo-read-only", "actions": []string{"ecs:DescribeImageFromFamily"}},
		map[string]any{"access_key_id": NoWriteKeyID, "access_key_secret": NoWriteKeySecret, "account_id": "123456789012",
			"user_name": "demo-no-write", "actions": []string{"ecs:DescribeImageFromFamily", "ecs:DescribeImages"}})
	b, err := json.Marshal(f)
	if err != nil {
		panic(err)
	}
	return b
}

// LifecycleFaultRows are the lifecycle's rows: Command says which, the
// other fields mean what they mean in FaultRows (FaultFound: promoted or
// rolled back, or with DryRun would be; Requests by action). A retried
// ModifyImageAttribute is safe (it sets a value), and a rollback checks the
// family again before every retried attempt (compare-and-swap): the
// requests say so. Dry-run rows (DryRun) send DryRun=true writes only and
// change nothing; Unconfirmed rows make the change and fail to read it
// back, and the user is told what was changed.
func LifecycleFaultRows() []FaultRow {
	status := func(action string, n, code int) ecstest.FaultSpec {
		return ecstest.FaultSpec{Kind: ecstest.FaultStatus, Action: action, N: n, Status: code}
	}
	throttle := func(action string, n int) ecstest.FaultSpec {
		return ecstest.FaultSpec{Kind: ecstest.FaultThrottle, Action: action, N: n}
	}
	const every = 100
	calls := func(describeImages, modify, lookups int) map[string]int {
		return map[string]int{ActionDescribeImages: describeImages, ActionModifyImage: modify, ActionDescribe: lookups}
	}
	return []FaultRow{
		{Name: "promote: DescribeImages throttled once then success", Command: CommandPromote,
			Faults: []ecstest.FaultSpec{throttle(ActionDescribeImages, 1)}, MaxAttempts: 5, Requests: calls(2, 1, 1), Retries: 1},
		{Name: "promote: ModifyImageAttribute throttled twice then success (a retried write is safe)", Command: CommandPromote,
			Faults: []ecstest.FaultSpec{throttle(ActionModifyImage, 2)}, MaxAttempts: 5, Requests: calls(1, 3, 1), Retries: 2},
		{Name: "promote: ModifyImageAttribute connection dropped once then success", Command: CommandPromote,
			Faults: []ecstest.FaultSpec{{Kind: ecstest.FaultDrop, Action: ActionModifyImage, N: 1}}, MaxAttempts: 5, Requests: calls(1, 2, 1), Retries: 1},
		{Name: "promote: ModifyImageAttribute throttled past the attempt limit", Command: CommandPromote,
			Faults: []ecstest.FaultSpec{throttle(ActionModifyImage, every)}, MaxAttempts: 3,
			Outcome: FaultThrottled, Fragment: "Throttling.User (HTTP 400)", Requests: calls(1, 3, 0), Retries: 2},
		{Name: "promote: ModifyImageAttribute 503 on every attempt", Command: CommandPromote,
			Faults: []ecstest.FaultSpec{status(ActionModifyImage, every, 503)}, MaxAttempts: 2,
			Outcome: FaultAPIError, Fragment: "ServiceUnavailable (HTTP 503)", Requests: calls(1, 2, 0), Retries: 1},
		{Name: "promote: DescribeImages malformed JSON", Command: CommandPromote,
			Faults: []ecstest.FaultSpec{{Kind: ecstest.FaultMalformed, Action: ActionDescribeImages, N: 1}}, MaxAttempts: 5,
			Outcome: FaultAPIError, Fragment: "not valid JSON", Requests: calls(1, 0, 0)},
		{Name: "promote with the read-only policy (no ecs:DescribeImages)", Command: CommandPromote, Credentials: CredReadOnly,
			MaxAttempts: 5, Outcome: FaultAccessDenied, Fragment: "ecs:DescribeImages", Requests: calls(1, 0, 0)},
		{Name: "promote without ecs:ModifyImageAttribute", Command: CommandPromote, Credentials: CredNoWrite,
			MaxAttempts: 5, Outcome: FaultAccessDenied, Fragment: "ecs:ModifyImageAttribute", Requests: calls(1, 1, 0)},
		// The write went through, the read back did not: the user is told
		// exactly what was changed.
		{Name: "promote: the read back hangs past the timeout", Command: CommandPromote,
			Faults: []ecstest.FaultSpec{{Kind: ecstest.FaultHang, Action: ActionDescribe}}, MaxAttempts: 5, Timeout: 2 * time.Second,
			Outcome: FaultTimeout, Fragment: "Raise the timeout", Requests: calls(1, 1, 1), Within: 4 * time.Second, Unconfirmed: true},
		{Name: "promote: the read back answers malformed JSON after the family was set", Command: CommandPromote,
			Faults: []ecstest.FaultSpec{{Kind: ecstest.FaultMalformed, Action: ActionDescribe, N: 1}}, MaxAttempts: 5,
			Outcome: FaultAPIError, Fragment: "not valid JSON", Requests: calls(1, 1, 1), Unconfirmed: true},

		// Dry runs: DryRun=true writes only, nothing changed; the API's
		// DryRun checks permissions too.
		{Name: "promote --dry-run", Command: CommandPromote, DryRun: true, MaxAttempts: 5, Requests: calls(1, 1, 1)},
		{Name: "promote --dry-run: ModifyImageAttribute throttled once, the DryRun=true call retried", Command: CommandPromote, DryRun: true,
			Faults: []ecstest.FaultSpec{throttle(ActionModifyImage, 1)}, MaxAttempts: 5, Requests: calls(1, 2, 1), Retries: 1},
		{Name: "promote --dry-run without ecs:ModifyImageAttribute", Command: CommandPromote, DryRun: true, Credentials: CredNoWrite,
			MaxAttempts: 5, Outcome: FaultAccessDenied, Fragment: "ecs:ModifyImageAttribute", Requests: calls(1, 1, 0)},

		// The family is looked up first, re-checked before the retried
		// ModifyImageAttribute, and read back: three lookups.
		{Name: "rollback: ModifyImageAttribute throttled once; the family is re-checked before the retry", Command: CommandRollback,
			Faults: []ecstest.FaultSpec{throttle(ActionModifyImage, 1)}, MaxAttempts: 5, Requests: calls(1, 2, 3), Retries: 1},
		{Name: "rollback: ModifyImageAttribute 500 on every attempt", Command: CommandRollback,
			Faults: []ecstest.FaultSpec{status(ActionModifyImage, every, 500)}, MaxAttempts: 3,
			Outcome: FaultAPIError, Fragment: "InternalError (HTTP 500)", Requests: calls(1, 3, 3), Retries: 2},
		{Name: "rollback: DescribeImages (the last-image check) 503 twice then success", Command: CommandRollback,
			Faults: []ecstest.FaultSpec{status(ActionDescribeImages, 2, 503)}, MaxAttempts: 5, Requests: calls(3, 1, 2), Retries: 2},
		{Name: "rollback: the family lookup throttled as often as the attempt limit", Command: CommandRollback,
			Faults: []ecstest.FaultSpec{throttle(ActionDescribe, every)}, MaxAttempts: 2,
			Outcome: FaultThrottled, Fragment: "Throttling.User (HTTP 400)", Requests: calls(0, 0, 2), Retries: 1},
		{Name: "rollback with the read-only policy (no ecs:DescribeImages)", Command: CommandRollback, Credentials: CredReadOnly,
			MaxAttempts: 5, Outcome: FaultAccessDenied, Fragment: "ecs:DescribeImages", Requests: calls(1, 0, 1)},
		{Name: "rollback without ecs:ModifyImageAttribute", Command: CommandRollback, Credentials: CredNoWrite,
			MaxAttempts: 5, Outcome: FaultAccessDenied, Fragment: "ecs:ModifyImageAttribute", Requests: calls(1, 1, 1)},

		// The image was deprecated, the read back failed (the family's first
		// lookup, the compare-and-swap, passes: Skip 1).
		{Name: "rollback: the read back answers 503 on every attempt after the image was deprecated", Command: CommandRollback,
			Faults: []ecstest.FaultSpec{{Kind: ecstest.FaultStatus, Action: ActionDescribe, N: every, Skip: 1, Status: 503}}, MaxAttempts: 2,
			Outcome: FaultAPIError, Fragment: "ServiceUnavailable (HTTP 503)", Requests: calls(1, 1, 3), Retries: 1, Unconfirmed: true},
		{Name: "rollback: the read back answers malformed JSON after the image was deprecated", Command: CommandRollback,
			Faults: []ecstest.FaultSpec{{Kind: ecstest.FaultMalformed, Action: ActionDescribe, N: 1, Skip: 1}}, MaxAttempts: 5,
			Outcome: FaultAPIError, Fragment: "not valid JSON", Requests: calls(1, 1, 2), Unconfirmed: true},

		// A dry run has no read back: the family is looked up once.
		{Name: "rollback --dry-run", Command: CommandRollback, DryRun: true, MaxAttempts: 5, Requests: calls(1, 1, 1)},
		{Name: "rollback --dry-run without ecs:ModifyImageAttribute", Command: CommandRollback, DryRun: true, Credentials: CredNoWrite,
			MaxAttempts: 5, Outcome: FaultAccessDenied, Fragment: "ecs:ModifyImageAttribute", Requests: calls(1, 1, 1)},
	}
}
