package family

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/services/ecs"
	packersdk "github.com/hashicorp/packer-plugin-sdk/packer"
	registryimage "github.com/hashicorp/packer-plugin-sdk/packer/registry/image"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/ecstest"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/imagefamily"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/safetext"
	"github.com/imagefamily/packer-plugin-alicloud-image-family/internal/secretscan"
)

const (
	keyID     = "LTAIPOSTPROCESSKEY0001"
	keySecret = "pp-test-secret-DO-NOT-PRINT-0001"
	oldImage  = "m-ppold00000000000001"
	newImage  = "m-ppnew00000000000002"
)

// alicloudArtifact has the shape of the official alicloud-ecs builder's
// artifact: BuilderId alibaba.alicloud, Id "region:id,region:id" sorted.
type alicloudArtifact struct {
	builderID, id string
}

func (a *alicloudArtifact) BuilderId() string { return a.builderID }
func (a *alicloudArtifact) Files() []string   { return nil }
func (a *alicloudArtifact) Id() string        { return a.id }
func (a *alicloudArtifact) String() string    { return a.id }
func (a *alicloudArtifact) State(string) any  { return nil }
func (a *alicloudArtifact) Destroy() error    { return nil }

// postProcess runs p on in with Packer's own UI and checks what holds for
// every run, whatever its outcome: every line the UI gets is printable, and
// neither the UI nor the error holds the secret or an escape character.
func postProcess(t *testing.T, p *PostProcessor, in packersdk.Artifact) (packersdk.Artifact, string, error) {
	t.Helper()
	var out bytes.Buffer
	u := &packersdk.BasicUi{Writer: &out}
	a, keep, force, err := p.PostProcess(context.Background(), u, in)
	if !keep || !force {
		t.Errorf("keep %v force %v: the builder's images are always kept", keep, force)
	}
	for _, l := range strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n") {
		if !safetext.IsClean(l) {
			t.Errorf("UI line not printable: %q", l)
		}
	}
	secretscan.Check(t, "UI", out.String(), keySecret)
	if err != nil {
		secretscan.Check(t, "error", err.Error(), keySecret)
		if strings.Contains(err.Error(), "\x1b") {
			t.Errorf("error holds an escape character: %q", err)
		}
	}
	return a, out.String(), err
}

func emulator(t *testing.T) *ecstest.Server {
	t.Helper()
	im := func(id, family, created string) ecs.Image {
		var i ecs.Image
		i.ImageId, i.ImageFamily, i.Status, i.CreationTime = id, family, "Available", created
		i.ImageName, i.Architecture, i.OSType, i.Size, i.ImageOwnerAlias = id+"-name", "x86_64", "linux", 40, "self"
		return i
	}
	f := &ecstest.Fixture{
		Accounts: []ecstest.Account{{AccessKeyID: keyID, AccessKeySecret: keySecret}},
		Regions:  []string{"cn-hangzhou", "cn-shanghai", "cn-beijing"},
		Images: map[string][]ecs.Image{"cn-hangzhou": {
			im(oldImage, "web-base", "2024-01-01T00:00:00Z"),
			im(newImage, "web-base", "2024-03-01T00:00:00Z"),
		}},
	}
	srv := ecstest.NewTLSServer(f)
	t.Cleanup(srv.Close)
	return srv
}

func configure(t *testing.T, srv *ecstest.Server, attrs map[string]any) (*PostProcessor, error) {
	t.Helper()
	raw := map[string]any{"access_key": keyID, "secret_key": keySecret}
	if srv != nil {
		raw["custom_endpoint_ecs"] = srv.URL
	}
	for k, v := range attrs {
		raw[k] = v
	}
	var p PostProcessor
	err := p.Configure(raw)
	if srv != nil {
		// Copy polls move on at once (the wait's schedule is imagefamily
		// TestPromoteCopies and TestWaitScheduleWithInstantSleep's).
		p.prepare = func(r *imagefamily.PromoteRequest) {
			r.Transport = srv.Transport()
			r.Retry.Sleep = func(ctx context.Context, _ time.Duration) error { return ctx.Err() }
		}
	}
	return &p, err
}

// The builder's artifact: the build region's image is in the family
// already, the copies (one still Creating) are in none; the post-processor
// waits for the copy, sets the family on both and reads back. A second run
// changing nothing is imagefamily TestPromoteCopies's.
func TestBuilderArtifactPromotesCopies(t *testing.T) {
	srv := emulator(t)
	srv.SetCopyPolls(2)
	sh := srv.CopyImage("cn-hangzhou", newImage, "cn-shanghai")
	srv.SetCopyPolls(0)
	bj := srv.CopyImage("cn-hangzhou", newImage, "cn-beijing")
	p, err := configure(t, srv, map[string]any{"image_family": "web-base", "wait_timeout": "1m"})
	if err != nil {
		t.Fatal(err)
	}
	in := &alicloudArtifact{AlicloudBuilderID, "cn-beijing:" + bj + ",cn-hangzhou:" + newImage + ",cn-shanghai:" + sh}
	a, out, err := postProcess(t, p, in)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if a.BuilderId() != BuilderID || a.Id() != in.Id() || a.Files() != nil {
		t.Errorf("artifact %s %q %v", a.BuilderId(), a.Id(), a.Files())
	}
	for r, id := range map[string]string{"cn-shanghai": sh, "cn-beijing": bj} {
		if img, _ := srv.Image(r, id); img.ImageFamily != "web-base" || img.Status != "Available" {
			t.Errorf("%s %s: family %q status %s", r, id, img.ImageFamily, img.Status)
		}
	}
	for _, want := range []string{"cn-shanghai: promoted " + sh, "cn-beijing: promoted " + bj, "cn-hangzhou: " + newImage + " is already a live member", "Creating"} {
		if !strings.Contains(out, want) {
			t.Errorf("UI lacks %q:\n%s", want, out)
		}
	}
	images, ok := a.State(registryimage.ArtifactStateURI).([]*registryimage.Image)
	if !ok || len(images) != 3 {
		t.Fatalf("par.artifact.metadata = %#v", a.State(registryimage.ArtifactStateURI))
	}
	for _, img := range images {
		if img.Validate() != nil || img.ProviderName != "alicloud" || !strings.Contains(in.Id(), img.ProviderRegion+":"+img.ImageID) || img.Labels["image_family"] != "web-base" {
			t.Errorf("registry image %+v", img)
		}
	}
}

// Superseded: the old image is in the family but the family resolves to a
// newer one: the build fails naming it.
func TestSupersededFails(t *testing.T) {
	srv := emulator(t)
	p, err := configure(t, srv, map[string]any{"image_family": "web-base", "image_ids": map[string]string{"cn-hangzhou": oldImage}})
	if err != nil {
		t.Fatal(err)
	}
	if _, out, err := postProcess(t, p, nil); err == nil || !strings.Contains(err.Error(), "cn-hangzhou superseded") || !strings.Contains(out, newImage) {
		t.Fatalf("%v\n%s", err, out)
	}
}

// Dry run: the API is asked, nothing changes. image_ids wins over the
// builder's artifact, whose id (hostile here) the UI shows escaped.
func TestDryRunChangesNothing(t *testing.T) {
	srv := emulator(t)
	srv.SetCopyPolls(0)
	sh := srv.CopyImage("cn-hangzhou", newImage, "cn-shanghai")
	p, err := configure(t, srv, map[string]any{"image_family": "web-base", "dry_run": true, "image_ids": map[string]string{"cn-shanghai": sh}})
	if err != nil {
		t.Fatal(err)
	}
	a, out, err := postProcess(t, p, &alicloudArtifact{AlicloudBuilderID, "cn-hangzhou:m-x\x1b]0;title\x07\n::error::forged"})
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if img, _ := srv.Image("cn-shanghai", sh); img.ImageFamily != "" || !strings.Contains(out, "would change") || !strings.Contains(a.String(), "dry run") {
		t.Fatalf("family %q\n%s", img.ImageFamily, out)
	}
	if !strings.Contains(out, `images (cn-hangzhou:m-x\x1b]0;title\x07\n::error::forged) are not promoted`) {
		t.Errorf("the UI does not show the artifact's id escaped:\n%s", out)
	}
}

// Another builder's artifact without image_ids is refused before anything
// is sent; so is an artifact id of the wrong shape.
func TestInputArtifactRefused(t *testing.T) {
	srv := emulator(t)
	p, err := configure(t, srv, map[string]any{"image_family": "web-base"})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		in   packersdk.Artifact
		want string
	}{
		{&alicloudArtifact{"packer.null", "Null"}, `builder "packer.null", not the alicloud-ecs builder`},
		{nil, "no input artifact"},
		{&alicloudArtifact{AlicloudBuilderID, ""}, "it is empty"},
		{&alicloudArtifact{AlicloudBuilderID, "m-ppnew00000000000002"}, "has no ':'"},
		{&alicloudArtifact{AlicloudBuilderID, "cn-hangzhou:web-base"}, "not an image id"},
		{&alicloudArtifact{AlicloudBuilderID, "cn-hangzhou:" + newImage + ",cn-hangzhou:" + oldImage}, "listed twice"},
		{&alicloudArtifact{AlicloudBuilderID, "cn-hangzhou:\x1b]0;x\x07"}, `\x1b`},
	} {
		if _, _, err := postProcess(t, p, tc.in); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v", tc.in, err)
		}
	}
	if n := srv.Requests(""); n != 0 {
		t.Errorf("%d requests", n)
	}
}

// The artifact's id parses with white space around pairs, and a chain of
// two post-processors takes this post-processor's own artifact.
func TestImagesOfArtifact(t *testing.T) {
	got, err := imagesOfArtifact(AlicloudBuilderID, " cn-hangzhou:"+newImage+" , cn-shanghai:"+oldImage)
	if err != nil || len(got) != 2 || got["cn-shanghai"] != oldImage {
		t.Fatalf("%v %v", got, err)
	}
	a := &Artifact{Images: got}
	back, err := imagesOfArtifact(a.BuilderId(), a.Id())
	if err != nil || joinImages(back) != "cn-hangzhou:"+newImage+",cn-shanghai:"+oldImage {
		t.Fatalf("%v %v", back, err)
	}
}

// Every refused attribute at once, by its HCL name, with nothing sent (the
// rules are the core's: imagefamily TestValidateFamily, TestValidateEveryProblem).
func TestConfigureReportsEveryError(t *testing.T) {
	srv := emulator(t)
	_, err := configure(t, srv, map[string]any{
		"image_family":        "aliyun-base",
		"image_ids":           map[string]string{"cn-nowhere!": newImage, "cn-shanghai": "web-base"},
		"wait_timeout":        "7h",
		"timeout":             "1ms",
		"max_attempts":        0,
		"custom_endpoint_ecs": "ftp://x",
	})
	var me *packersdk.MultiError
	if !errors.As(err, &me) {
		t.Fatalf("%T %v", err, err)
	}
	msg := err.Error()
	for _, want := range []string{`invalid image_family "aliyun-base"`, `invalid image_ids "cn-nowhere!"`, `invalid image_ids "web-base"`,
		`invalid wait_timeout "7h"`, `invalid timeout "1ms"`, `invalid max_attempts`, `custom_endpoint_ecs`} {
		if !strings.Contains(msg, want) {
			t.Errorf("lacks %q:\n%s", want, msg)
		}
	}
	// One diagnostic per problem, each one line.
	if len(me.Errors) != 7 {
		t.Errorf("%d diagnostics, want 7:\n%s", len(me.Errors), msg)
	}
	for _, e := range me.Errors {
		if strings.Contains(e.Error(), "\n") || !imagefamily.IsInputError(e) {
			t.Errorf("diagnostic %q: want one line, an input error", e)
		}
	}
	if n := srv.Requests(""); n != 0 {
		t.Errorf("%d requests", n)
	}
	if _, err := configure(t, nil, map[string]any{}); err == nil || !strings.Contains(err.Error(), "invalid image_family") {
		t.Errorf("no family: %v", err)
	}
}

// Placeholders (packer validate) are accepted, and refused at run time.
func TestUnknownValues(t *testing.T) {
	p, err := configure(t, nil, map[string]any{"image_family": "<unknown>", "image_ids": map[string]string{"cn-hangzhou": "<unknown>"}, "access_key": "<unknown>"})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err = postProcess(t, p, nil); err == nil || !strings.Contains(err.Error(), "access_key, image_family, image_ids not known yet") {
		t.Fatal(err)
	}
}

// Without credentials the error names the attributes that give them, once.
func TestNoCredentials(t *testing.T) {
	for _, k := range []string{"ALICLOUD_ACCESS_KEY", "ALIBABA_CLOUD_ACCESS_KEY_ID", "ALICLOUD_SECRET_KEY", "ALIBABA_CLOUD_ACCESS_KEY_SECRET", "ALICLOUD_PROFILE", "ALIBABA_CLOUD_PROFILE", "ALIBABA_CLOUD_ROLE_ARN", "HOME"} {
		t.Setenv(k, "")
	}
	t.Setenv("HOME", t.TempDir())
	srv := emulator(t)
	p, err := configure(t, srv, map[string]any{"access_key": "", "secret_key": "", "image_family": "web-base", "image_ids": map[string]string{"cn-hangzhou": newImage}})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := postProcess(t, p, nil); err == nil || !strings.Contains(err.Error(), "access_key") || strings.Count(err.Error(), "no Alibaba Cloud credentials found") != 1 || srv.Requests("") != 0 {
		t.Fatalf("%v (%d requests)", err, srv.Requests(""))
	}
}
