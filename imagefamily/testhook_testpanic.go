//go:build imagefamily_testpanic

package imagefamily

import "os"

// Built only with -tags imagefamily_testpanic, never into a release: the
// end-to-end tests build the CLI binary with it to see what a panic inside a
// region's lookup goroutine does to a real process (exit code, stderr, the
// action's GITHUB_OUTPUT). ALICLOUD_IMAGE_FAMILY_TEST_PANIC names the region
// whose lookup panics; the panic value quotes the access key secret of the
// environment and a forged workflow command, so the tests see both made
// harmless.
func init() {
	testHookLookup = func(region string) {
		if want := os.Getenv("ALICLOUD_IMAGE_FAMILY_TEST_PANIC"); want != "" && want == region {
			panic("test panic in region " + region + ", holding the secret " +
				os.Getenv("ALIBABA_CLOUD_ACCESS_KEY_SECRET") + "\n::error::forged\x1b[2J")
		}
	}
}
