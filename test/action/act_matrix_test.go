package actione2e

// A few rows of the fault matrix and of the bad-input table through act, the
// way a runner starts the action (action.yml, the launcher, the binary): the
// other rows run through action.Main in the action package, since each act
// run takes seconds.

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
)

const matrixWorkflow = `# Written by test/action/act_matrix_test.go.
name: action matrix
on: push
jobs:
  matrix:
    runs-on: ubuntu-latest
    env:
      ALIBABA_CLOUD_ACCESS_KEY_ID: ${{ secrets.ALICLOUD_ACCESS_KEY_ID }}
      ALIBABA_CLOUD_ACCESS_KEY_SECRET: ${{ secrets.ALICLOUD_ACCESS_KEY_SECRET }}
    steps:
      - uses: actions/checkout@v4
      # Fault: throttled on every request; the step fails within its
      # timeout with the throttling error.
      - id: throttled
        uses: ./
        continue-on-error: true
        with:
          region: cn-hangzhou
          image-family: web-base
          endpoint: ${{ env.EMULATOR_ENDPOINT }}
          timeout: 2s
      # Bad input: image_family is not an input of this action (a typo of
      # image-family), so the required family is missing.
      - id: misspelt-input
        uses: ./
        continue-on-error: true
        with:
          region: cn-hangzhou
          image_family: web-base
          endpoint: ${{ env.EMULATOR_ENDPOINT }}
      # Bad input: an upper-case region.
      - id: bad-region
        uses: ./
        continue-on-error: true
        with:
          region: CN-HANGZHOU
          image-family: web-base
          endpoint: ${{ env.EMULATOR_ENDPOINT }}
      # Bad input: expected-image-ids that is not the image-ids shape.
      - id: bad-expected
        uses: ./
        continue-on-error: true
        with:
          region: cn-hangzhou
          image-family: web-base
          endpoint: ${{ env.EMULATOR_ENDPOINT }}
          expected-image-ids: cn-hangzhou=m-bp1e2enew000000002
      # Bad input: expected-image-ids naming a region not looked up.
      - id: unknown-expected-region
        uses: ./
        continue-on-error: true
        with:
          region: cn-hangzhou
          image-family: web-base
          endpoint: ${{ env.EMULATOR_ENDPOINT }}
          expected-image-ids: '{"cn-shanghai":"m-uf6e2eshanghai00001"}'
      # Bad input: a negative wait.
      - id: negative-wait
        uses: ./
        continue-on-error: true
        with:
          region: cn-hangzhou
          image-family: web-base
          endpoint: ${{ env.EMULATOR_ENDPOINT }}
          wait-timeout: -5m
      # Bad input: a guard with an unknown value.
      - id: bad-guard
        uses: ./
        continue-on-error: true
        with:
          region: cn-hangzhou
          image-family: web-base
          endpoint: ${{ env.EMULATOR_ENDPOINT }}
          architecture: amd64
      - name: Assert outcomes
        shell: bash
        env:
          THROTTLED: ${{ steps.throttled.outcome }}
          THROTTLED_FOUND: ${{ steps.throttled.outputs.found }}
          MISSPELT: ${{ steps.misspelt-input.outcome }}
          BAD_REGION: ${{ steps.bad-region.outcome }}
          BAD_EXPECTED: ${{ steps.bad-expected.outcome }}
          BAD_EXPECTED_CHANGED: ${{ steps.bad-expected.outputs.changed }}
          UNKNOWN_EXPECTED_REGION: ${{ steps.unknown-expected-region.outcome }}
          NEGATIVE_WAIT: ${{ steps.negative-wait.outcome }}
          BAD_GUARD: ${{ steps.bad-guard.outcome }}
          BAD_GUARD_FOUND: ${{ steps.bad-guard.outputs.found }}
        run: |
          fail=0
          check() {
            if [ "$2" = "$3" ]; then echo "ok $1"; else echo "::error::$1 is '$2', want '$3'"; fail=1; fi
          }
          check throttled.outcome "$THROTTLED" failure
          check throttled.found "$THROTTLED_FOUND" false
          check misspelt-input.outcome "$MISSPELT" failure
          check bad-region.outcome "$BAD_REGION" failure
          check bad-expected.outcome "$BAD_EXPECTED" failure
          check bad-expected.changed "$BAD_EXPECTED_CHANGED" false
          check unknown-expected-region.outcome "$UNKNOWN_EXPECTED_REGION" failure
          check negative-wait.outcome "$NEGATIVE_WAIT" failure
          check bad-guard.outcome "$BAD_GUARD" failure
          check bad-guard.found "$BAD_GUARD_FOUND" false
          [ "$fail" = 0 ] && echo "E2E-MATRIX-OK"
`

func TestActMatrix(t *testing.T) {
	w := newWorld(t)
	dir := filepath.Join(w.ws, "testdata", "workflows")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "matrix.yml"), []byte(matrixWorkflow), 0o644); err != nil {
		t.Fatal(err)
	}
	// x-acs-retry-after 800ms against the 2s timeout: attempts at 0, 0.8s
	// and 1.6s, then the next wait would pass the deadline.
	w.emu.Throttle("DescribeImageFromFamily", 1000, ecstest.RetryAfter(800*time.Millisecond))
	r := w.act("matrix.yml", nil)
	r.must(t, "E2E-MATRIX-OK",
		"::error title=Image family lookup failed in cn-hangzhou::ECS DescribeImageFromFamily for family \"web-base\" in region cn-hangzhou failed: Throttling.User",
		"after 3 attempts. The API is throttling this account",
		"::error title=Image family lookup failed::invalid image family \"\": it is required",
		"::error title=Image family lookup failed::invalid region \"CN-HANGZHOU\": region ids are lower case",
		"::error title=Image family lookup failed::invalid input expected-image-ids \"cn-hangzhou=m-bp1e2enew000000002\": it must be one JSON object of region to image id",
		"::error title=Image family lookup failed::invalid input expected-image-ids \"cn-shanghai\": it names a region that is not being looked up (cn-hangzhou)",
		"::error title=Image family lookup failed::invalid input wait-timeout \"-5m\": it must be between 0s and 6h0m0s",
		"::error title=Image family lookup failed::invalid input architecture \"amd64\": it must be one the API reports: x86_64, arm64, i386",
	)
	// Only the throttled step sent anything: every bad input exits 2
	// before a request.
	if n, all := w.emu.Requests("DescribeImageFromFamily"), w.emu.Requests(""); n != 3 || all != 3 {
		t.Errorf("the emulator saw %d lookups (%d requests), want 3", n, all)
	}
	// act v0.2.89, unlike GitHub's runner, does not warn about an input the
	// action does not declare; the misspelt input is caught only because
	// the family it was meant to give is required. Record which it is, so a
	// newer act that warns is noticed.
	if strings.Contains(r.out, "Unexpected input") {
		t.Logf("act warns about unexpected inputs")
	}
}
