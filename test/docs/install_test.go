package docs

// README.md's Install section, held against what it describes: go.mod (the
// module path, the go directive, replace directives), CHANGELOG.md and
// version/ (which version to name), .goreleaser.yml (asset names, the
// release repository, signatures) and the release workflow (the action's
// major tag).

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"

	goversion "github.com/hashicorp/go-version"
	"gopkg.in/yaml.v3"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/version"

	"github.com/imagefamily/packer-plugin-alicloud-image-family/testkit/e2etest"
)

// section returns the text of a "## heading" of a Markdown page, up to the
// next level-2 heading, and where it starts.
func section(t testing.TB, file, heading string) (string, int) {
	t.Helper()
	text := readFile(t, file)
	start := strings.Index(text, "\n## "+heading+"\n")
	if start < 0 {
		t.Fatalf("%s has no \"## %s\" section", file, heading)
	}
	body := text[start+1:]
	if end := strings.Index(body[3:], "\n## "); end >= 0 {
		body = body[:end+4]
	}
	return body, start + 1
}

// documentedRelease is the version the install commands name: the newest
// release in CHANGELOG.md, or, before the first release, the version being
// prepared in version/version.go. released says which.
func documentedRelease(t testing.TB) (v string, released bool) {
	t.Helper()
	m := regexp.MustCompile(`(?m)^## \[(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)\]`).FindStringSubmatch(readFile(t, "CHANGELOG.md"))
	if m != nil {
		return m[1], true
	}
	return version.Version, false
}

// goMod is what the install section relies on in go.mod.
type goMod struct {
	module, goVersion  string
	replace, exclude   bool
	modulePlugin       string // the Packer plugin source the repository name gives
	releaseOwner, repo string
}

func readGoMod(t testing.TB) goMod {
	t.Helper()
	text := readFile(t, "go.mod")
	var m goMod
	if s := regexp.MustCompile(`(?m)^module\s+(\S+)\s*$`).FindStringSubmatch(text); s != nil {
		m.module = s[1]
	}
	if s := regexp.MustCompile(`(?m)^go\s+(\S+)\s*$`).FindStringSubmatch(text); s != nil {
		m.goVersion = s[1]
	}
	m.replace = regexp.MustCompile(`(?m)^replace\b`).MatchString(text)
	m.exclude = regexp.MustCompile(`(?m)^exclude\b`).MatchString(text)
	if m.module != version.ModulePath || m.goVersion == "" {
		t.Fatalf("go.mod: module %q (want %q), go %q", m.module, version.ModulePath, m.goVersion)
	}
	// github.com/ORG/packer-plugin-NAME is installed as github.com/ORG/NAME.
	parts := strings.Split(m.module, "/")
	if len(parts) != 3 || parts[0] != "github.com" || !strings.HasPrefix(parts[2], "packer-plugin-") {
		t.Fatalf("module %s is not github.com/ORG/packer-plugin-NAME; teach this test the plugin's source address", m.module)
	}
	m.releaseOwner, m.repo = parts[1], parts[2]
	m.modulePlugin = "github.com/" + parts[1] + "/" + strings.TrimPrefix(parts[2], "packer-plugin-")
	return m
}

// releaseConfig is the part of .goreleaser.yml that names release assets.
type releaseConfig struct {
	ProjectName string `yaml:"project_name"`
	Builds      []struct {
		ID      string   `yaml:"id"`
		Goos    []string `yaml:"goos"`
		Goarch  []string `yaml:"goarch"`
		Targets []string `yaml:"targets"`
		Ignore  []struct {
			Goos   string `yaml:"goos"`
			Goarch string `yaml:"goarch"`
		} `yaml:"ignore"`
	} `yaml:"builds"`
	Archives []struct {
		ID              string   `yaml:"id"`
		IDs             []string `yaml:"ids"`
		Formats         []string `yaml:"formats"`
		FormatOverrides []struct {
			Goos    string   `yaml:"goos"`
			Formats []string `yaml:"formats"`
		} `yaml:"format_overrides"`
		NameTemplate string `yaml:"name_template"`
	} `yaml:"archives"`
	Checksum struct {
		NameTemplate string `yaml:"name_template"`
	} `yaml:"checksum"`
	Sboms []struct {
		ID        string   `yaml:"id"`
		Documents []string `yaml:"documents"`
	} `yaml:"sboms"`
	Signs []struct {
		ID        string   `yaml:"id"`
		Artifacts string   `yaml:"artifacts"`
		IDs       []string `yaml:"ids"`
	} `yaml:"signs"`
	Release struct {
		GitHub struct {
			Owner string `yaml:"owner"`
			Name  string `yaml:"name"`
		} `yaml:"github"`
	} `yaml:"release"`
}

// releaseAssets are the file names a release of v has, by kind:
// "archive" (every archive, for every platform, and once with the
// placeholders <os>, <arch> and <api>), "checksums" (the checksum files) and
// "signature" (their .sig, when the configuration signs them).
func releaseAssets(t testing.TB, v string) (map[string]string, releaseConfig) {
	t.Helper()
	var rc releaseConfig
	if err := yaml.Unmarshal([]byte(readFile(t, ".goreleaser.yml")), &rc); err != nil {
		t.Fatalf(".goreleaser.yml: %v", err)
	}
	render := func(tmpl, goos, goarch string) string {
		out := regexp.MustCompile(`\{\{\s*([^}]*?)\s*\}\}`).ReplaceAllStringFunc(tmpl, func(m string) string {
			switch strings.TrimSpace(strings.Trim(m, "{}")) {
			case ".ProjectName":
				return rc.ProjectName
			case ".Version":
				return v
			case ".Os":
				return goos
			case ".Arch":
				return goarch
			case ".Env.API_VERSION":
				return "<api>"
			}
			t.Fatalf(".goreleaser.yml: this test cannot render %s in %q; teach releaseAssets", m, tmpl)
			return ""
		})
		return out
	}
	type platform struct{ os, arch string }
	platforms := func(ids []string) []platform {
		var out []platform
		for _, b := range rc.Builds {
			if !slices.Contains(ids, b.ID) {
				continue
			}
			for _, target := range b.Targets {
				p := strings.Split(target, "_")
				out = append(out, platform{p[0], p[1]})
			}
			for _, goos := range b.Goos {
				for _, goarch := range b.Goarch {
					ignored := slices.ContainsFunc(b.Ignore, func(i struct {
						Goos   string `yaml:"goos"`
						Goarch string `yaml:"goarch"`
					}) bool {
						return i.Goos == goos && i.Goarch == goarch
					})
					if !ignored {
						out = append(out, platform{goos, goarch})
					}
				}
			}
		}
		return out
	}
	assets := map[string]string{}
	for _, a := range rc.Archives {
		ps := append(platforms(a.IDs), platform{"<os>", "<arch>"})
		for _, p := range ps {
			formats := a.Formats
			for _, o := range a.FormatOverrides {
				if o.Goos == p.os {
					formats = o.Formats
				}
			}
			if p.os == "<os>" {
				for _, o := range a.FormatOverrides {
					formats = append(slices.Clone(formats), o.Formats...)
				}
			}
			for _, f := range formats {
				assets[render(a.NameTemplate, p.os, p.arch)+"."+f] = "archive"
			}
		}
	}
	sums := []string{render(rc.Checksum.NameTemplate, "", "")}
	for _, s := range rc.Sboms {
		for _, d := range s.Documents {
			sums = append(sums, render(d, "", ""))
		}
	}
	for _, s := range sums {
		assets[s] = "checksums"
	}
	// signs: artifacts "checksum" signs GoReleaser's checksum file, "sbom"
	// the sboms documents (the launcher's checksum file).
	for _, s := range rc.Signs {
		switch s.Artifacts {
		case "checksum":
			assets[render(rc.Checksum.NameTemplate, "", "")+".sig"] = "signature"
		case "sbom":
			for _, sb := range rc.Sboms {
				if len(s.IDs) == 0 || slices.Contains(s.IDs, sb.ID) {
					for _, d := range sb.Documents {
						assets[render(d, "", "")+".sig"] = "signature"
					}
				}
			}
		}
	}
	if len(assets) < 10 {
		t.Fatalf(".goreleaser.yml gives only %d asset names: the reading is broken", len(assets))
	}
	return assets, rc
}

// TestInstallSection: README.md's Install section names the right version,
// Go version, module path, plugin source, asset names, tags and signature
// story, and marks what needs the network.
func TestInstallSection(t *testing.T) {
	text, at := section(t, "README.md", "Install")
	readme := readFile(t, "README.md")
	gm := readGoMod(t)
	rel, released := documentedRelease(t)
	assets, rc := releaseAssets(t, rel)

	t.Run("place: after the two commands, before the command-line tool", func(t *testing.T) {
		two, cli := strings.Index(readme, "\n## Two commands\n"), strings.Index(readme, "\n## Command-line tool\n")
		if two < 0 || cli < 0 || !(two < at && at < cli) {
			t.Errorf("README.md: ## Install is at %d; want it between ## Two commands (%d) and ## Command-line tool (%d)", at, two, cli)
		}
	})

	t.Run("version: the newest release, or the one being prepared", func(t *testing.T) {
		n := 0
		for _, m := range regexp.MustCompile(`\bv(\d+\.\d+\.\d+(?:-[0-9A-Za-z.]+)?)\b`).FindAllStringSubmatch(text, -1) {
			n++
			if m[1] != rel {
				t.Errorf("README.md Install names v%s; the version to name is %s (%s)", m[1], rel, releaseSource(released))
			}
		}
		for _, m := range regexp.MustCompile(`(?m)^# alicloud-image-family (\S+)$`).FindAllStringSubmatch(text, -1) {
			n++
			if m[1] != rel {
				t.Errorf("README.md Install shows `version` printing %s; a build of v%s prints %s", m[1], rel, rel)
			}
		}
		if n == 0 {
			t.Fatal("README.md Install names no version: the search is broken")
		}
		notYet := strings.Contains(text, "not released yet")
		switch {
		case !released && !notYet:
			t.Errorf("CHANGELOG.md has no release yet, so v%s does not exist: README.md Install must say it is \"not released yet\"", rel)
		case released && notYet:
			t.Errorf("CHANGELOG.md has released %s: README.md Install still says it is \"not released yet\"", rel)
		}
	})

	t.Run("Go version: go.mod's go directive", func(t *testing.T) {
		ms := regexp.MustCompile(`\bGo (\d+\.\d+(?:\.\d+)?) or newer\b`).FindAllStringSubmatch(text, -1)
		if len(ms) == 0 {
			t.Fatal("README.md Install does not say which Go it needs (\"Go X.Y.Z or newer\")")
		}
		for _, m := range ms {
			if m[1] != gm.goVersion {
				t.Errorf("README.md Install says Go %s or newer; go.mod says go %s", m[1], gm.goVersion)
			}
		}
		if !strings.Contains(text, "`go` line of go.mod") {
			t.Error("README.md Install does not say where its Go version comes from (the `go` line of go.mod)")
		}
	})

	t.Run("module path, go install and clone", func(t *testing.T) {
		cli := gm.module + "/cmd/alicloud-image-family"
		for _, m := range regexp.MustCompile(regexp.QuoteMeta(gm.module)+`(/[A-Za-z0-9_./-]*)?`).FindAllStringSubmatch(text, -1) {
			sub := strings.TrimSuffix(m[1], ".")
			if !strings.HasPrefix(sub, "/cmd/") {
				continue
			}
			if fi, err := os.Stat(filepath.Join(e2etest.RepoRoot(t), filepath.FromSlash(strings.TrimPrefix(sub, "/")))); err != nil || !fi.IsDir() {
				t.Errorf("README.md Install names %s%s: no such package in this module", gm.module, sub)
			}
		}
		if !strings.Contains(text, cli) {
			t.Errorf("README.md Install does not name the CLI's package path %s (go.mod's module + /cmd/alicloud-image-family)", cli)
		}
		if strings.Contains(text, "@latest") {
			t.Error("README.md Install shows @latest; name an exact version")
		}
		for _, b := range codeBlocks("README.md", text, "sh") {
			for _, m := range regexp.MustCompile(`go (?:install|run)\s+(\S+)@(\S+)`).FindAllStringSubmatch(b.text, -1) {
				if m[1] != cli {
					t.Errorf("%s: go install %s@...; the CLI is %s", b, m[1], cli)
				}
				if gm.replace || gm.exclude {
					t.Errorf("%s: offers go install %s@%s, which Go refuses while go.mod has a replace or exclude directive", b, m[1], m[2])
				}
			}
			for _, m := range regexp.MustCompile(`go (?:install|build)[^\n]*\s\./(cmd/\S+)`).FindAllStringSubmatch(b.text, -1) {
				if fi, err := os.Stat(filepath.Join(e2etest.RepoRoot(t), m[1])); err != nil || !fi.IsDir() {
					t.Errorf("%s: builds ./%s: no such package", b, m[1])
				}
			}
			for _, m := range regexp.MustCompile(`git clone\b[^\n]*?\s(https://\S+)`).FindAllStringSubmatch(b.text, -1) {
				if m[1] != "https://"+gm.module {
					t.Errorf("%s: clones %s; the module is %s", b, m[1], gm.module)
				}
			}
		}
		// The prose says why go install MODULE@VERSION is not offered.
		saysReplace := strings.Contains(text, "`replace` directive")
		if saysReplace && !gm.replace {
			t.Error("README.md Install says go.mod has a `replace` directive, and it has none: go install " + cli + "@v" + rel + " works now, offer it")
		}
		if !saysReplace && gm.replace {
			t.Error("go.mod has a replace directive, so go install " + cli + "@VERSION fails: README.md Install must say why it is not offered")
		}
	})

	t.Run("Packer: plugin source, constraint, packer plugins install", func(t *testing.T) {
		blocks := codeBlocks("README.md", text, "hcl")
		if len(blocks) != 1 {
			t.Fatalf("README.md Install has %d hcl blocks, want the one required_plugins block", len(blocks))
		}
		hb := blocks[0].text
		src := regexp.MustCompile(`source\s*=\s*"([^"]+)"`).FindStringSubmatch(hb)
		con := regexp.MustCompile(`version\s*=\s*"([^"]+)"`).FindStringSubmatch(hb)
		if !regexp.MustCompile(`(?m)^\s*` + regexp.QuoteMeta(dataType) + `\s*=\s*\{`).MatchString(hb) {
			t.Errorf("the required_plugins entry is not named %s, the name the data source type starts with", dataType)
		}
		if src == nil || src[1] != gm.modulePlugin {
			t.Errorf("required_plugins source %v; the repository %s is installed as %s", src, gm.module, gm.modulePlugin)
		}
		if con == nil {
			t.Fatal("required_plugins has no version constraint")
		}
		c, err := goversion.NewConstraint(con[1])
		if err != nil {
			t.Fatalf("required_plugins version %q: %v", con[1], err)
		}
		if !c.Check(goversion.Must(goversion.NewVersion(rel))) {
			t.Errorf("required_plugins version %q does not admit %s, the version the section names", con[1], rel)
		}
		inst := regexp.MustCompile(`packer plugins install ([^\s-]\S*) (\S+)`).FindAllStringSubmatch(text, -1)
		if len(inst) == 0 {
			t.Error("README.md Install does not show packer plugins install")
		}
		for _, m := range inst {
			if m[1] != gm.modulePlugin || m[2] != "v"+rel {
				t.Errorf("packer plugins install %s %s; want %s v%s", m[1], m[2], gm.modulePlugin, rel)
			}
		}
		if !strings.Contains(text, "packer init") {
			t.Error("README.md Install does not show packer init")
		}
	})

	t.Run("asset names and downloads: .goreleaser.yml's", func(t *testing.T) {
		seen := map[string]bool{}
		for _, name := range regexp.MustCompile(`(?:packer-plugin-alicloud-image-family|alicloud-image-family)_[A-Za-z0-9_.<>-]+`).FindAllString(text, -1) {
			name = strings.TrimRight(name, ".")
			kind, ok := assets[name]
			if !ok {
				t.Errorf("README.md Install names %s, which a release of %s does not have (.goreleaser.yml)", name, rel)
				continue
			}
			seen[kind+":"+name] = true
		}
		cliSums := "alicloud-image-family_" + rel + "_SHA256SUMS"
		pluginSums := rc.ProjectName + "_v" + rel + "_SHA256SUMS"
		for _, want := range []string{"checksums:" + cliSums, "checksums:" + pluginSums, "archive:alicloud-image-family_" + rel + "_linux_amd64.tar.gz"} {
			if !seen[want] {
				t.Errorf("README.md Install does not name %s", strings.SplitN(want, ":", 2)[1])
			}
		}
		if !regexp.MustCompile(`sha256sum -c [^\n]*` + regexp.QuoteMeta(cliSums)).MatchString(text) {
			t.Errorf("README.md Install does not show sha256sum -c on %s", cliSums)
		}
		downloads := regexp.MustCompile(`https://github\.com/([^/\s]+)/([^/\s]+)/releases/download/([^/\s]+)/(\S+)`).FindAllStringSubmatch(text, -1)
		if len(downloads) == 0 {
			t.Error("README.md Install shows no release download")
		}
		for _, m := range downloads {
			if m[1] != rc.Release.GitHub.Owner || m[2] != rc.Release.GitHub.Name || m[3] != "v"+rel || assets[m[4]] == "" {
				t.Errorf("download %s: releases are published to github.com/%s/%s under v%s (.goreleaser.yml)", m[0], rc.Release.GitHub.Owner, rc.Release.GitHub.Name, rel)
			}
		}
	})

	t.Run("signatures: as .goreleaser.yml makes them, and no key to check them with", func(t *testing.T) {
		if strings.Contains(text, ".sig") && !strings.Contains(text, "only when") {
			t.Error("README.md Install mentions signatures without saying they are made only when the signing key is configured (release.yml passes --skip=sign otherwise)")
		}
		if !strings.Contains(text, "no public key is published") {
			return
		}
		// Where a project publishes its key: the root, docs/, .github/.
		var keys []string
		for _, dir := range []string{".", "docs", ".github"} {
			entries, err := os.ReadDir(filepath.Join(e2etest.RepoRoot(t), dir))
			if err != nil {
				t.Fatal(err)
			}
			for _, e := range entries {
				n := e.Name()
				if strings.HasSuffix(n, ".asc") || strings.HasSuffix(n, ".gpg") || strings.HasPrefix(n, "KEYS") || strings.Contains(strings.ToLower(n), "pgp") {
					keys = append(keys, filepath.ToSlash(filepath.Join(dir, n)))
				}
			}
		}
		sort.Strings(keys)
		if len(keys) > 0 {
			t.Errorf("README.md Install says no public key is published, but the repository has %v: show how to verify the .sig with it", keys)
		}
	})

	t.Run("action tags: the major tag the release workflow moves, and the release", func(t *testing.T) {
		major := majorTag(t)
		for _, want := range []string{"`@" + major + "`", "`@v" + rel + "`", "`" + major + "`"} {
			if !strings.Contains(text, want) {
				t.Errorf("README.md Install does not name %s", want)
			}
		}
	})

	t.Run("network: blocks that need it say so", func(t *testing.T) {
		for _, p := range onlineProblems("README.md", text) {
			t.Error(p)
		}
	})
}

func releaseSource(released bool) string {
	if released {
		return "the newest release in CHANGELOG.md"
	}
	return "no release in CHANGELOG.md yet: the version in version/version.go"
}
