package ecstest

import (
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A proxy-form request for a host other than *.aliyuncs.com is refused,
// whatever its path: the control API (which reads and changes the
// emulator's state) and the metadata service are served to origin-form
// requests only, not to a client that believes it is talking to
// evil.example.com through a proxy.
func TestReviewProxyFormDoesNotReachTheControlAPI(t *testing.T) {
	s, err := Start(demoFixture(t), Options{Control: true})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	proxy, _ := url.Parse(s.URL)
	hc := &http.Client{Transport: &http.Transport{Proxy: http.ProxyURL(proxy)}, Timeout: 10 * time.Second}
	for _, tc := range []struct{ url, want string }{
		{"http://evil.example.com" + ControlPrefix + "requests", "ProxyRefused"},
		// For an ECS host, the path is not the control API's: an API call
		// without its parameters.
		{"http://ecs.cn-hangzhou.aliyuncs.com" + ControlPrefix + "requests", "MissingAction"},
	} {
		u := tc.url
		resp, err := hc.Get(u)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode < 400 || !strings.Contains(string(body), tc.want) || strings.Contains(string(body), "by_action") {
			t.Errorf("%s through the emulator as a proxy: %d %s", u, resp.StatusCode, body)
		}
	}
}
