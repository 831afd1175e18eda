package imagefamily

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// endpoint is where requests go: a host (with optional port) and a scheme.
type endpoint struct {
	Host   string // "host" or "host:port"
	Scheme string // "https" or "http"
}

func (e endpoint) String() string { return e.Scheme + "://" + e.Host }

// EnvECSEndpoint is the environment variable that sets the ECS endpoint when
// no front sets one: the same forms and rules as Request.Endpoint (the
// CLI's --endpoint, the action's endpoint input, the data source's
// custom_endpoint_ecs), which win over it, as does Request.VPC. It lets a
// template or workflow run unchanged against the emulator or a private
// endpoint.
const EnvECSEndpoint = "ALIBABA_CLOUD_ECS_ENDPOINT"

// ecsEndpoint picks where ECS calls go, first match wins: the explicit
// endpoint (Request.Endpoint), the VPC endpoint when Request.VPC asks for it
// (the zero endpoint: the SDK builds ecs-vpc.<region>.aliyuncs.com), then
// ALIBABA_CLOUD_ECS_ENDPOINT, and finally the zero endpoint (the SDK's
// regional default). A bad value is a *ValidationError naming the setting
// or the variable it came from. getenv nil means os.Getenv.
func ecsEndpoint(req Request, getenv func(string) string) (endpoint, error) {
	if req.Endpoint != "" {
		return parseEndpoint("endpoint", req.Endpoint)
	}
	if req.VPC {
		return endpoint{}, nil
	}
	if getenv == nil {
		getenv = os.Getenv
	}
	return parseEndpoint(EnvECSEndpoint, getenv(EnvECSEndpoint))
}

// parseEndpoint accepts "host", "host:port" or a URL. HTTPS is assumed; plain
// HTTP only when the user writes http:// out, so a typo can never silently
// downgrade to cleartext. An empty string returns the zero endpoint.
func parseEndpoint(field, raw string) (endpoint, error) {
	bad := func(rule string) (endpoint, error) {
		return endpoint{}, &ValidationError{Field: field, Value: redactUserinfo(raw), Rule: rule}
	}
	s := raw
	if s == "" {
		return endpoint{}, nil
	}
	if strings.TrimSpace(s) != s || strings.ContainsAny(s, " \t\r\n") {
		return bad("it must not contain white space")
	}
	scheme := "https"
	if i := strings.Index(s, "://"); i >= 0 {
		scheme = strings.ToLower(s[:i])
		if scheme != "https" && scheme != "http" {
			return bad(fmt.Sprintf("the scheme must be https:// or http://, not %s://", s[:i]))
		}
		u, err := url.Parse(s)
		if err != nil {
			return bad("it is not a valid URL: " + err.Error())
		}
		if u.User != nil {
			return bad("it must not contain user information (credentials belong in the credential settings)")
		}
		if u.Path != "" && u.Path != "/" {
			return bad("it must not have a path; give only scheme, host and port, such as https://ecs.cn-hangzhou.aliyuncs.com")
		}
		if u.RawQuery != "" || u.Fragment != "" || strings.HasSuffix(s, "?") {
			return bad("it must not have a query or fragment")
		}
		s = u.Host
	} else if u, err := url.Parse("https://" + s); strings.ContainsAny(s, "/?#@") || err != nil || u.Host != s {
		return bad("give a host, host:port or a URL such as https://ecs.cn-hangzhou.aliyuncs.com")
	}
	if s == "" {
		return bad("the host is empty")
	}
	host, port := s, ""
	if h, p, err := net.SplitHostPort(s); err == nil {
		host, port = h, p
		if port == "" {
			return bad("the port is empty")
		}
		n, err := strconv.Atoi(port)
		if err != nil || n < 1 || n > 65535 {
			return bad("the port must be a number from 1 to 65535")
		}
	} else if strings.Contains(s, ":") && !strings.HasPrefix(s, "[") {
		return bad("it is not a valid host or host:port")
	}
	if !validHost(strings.Trim(host, "[]")) {
		return bad("the host name is not valid (letters, digits, '-' and '.', or an IP address)")
	}
	return endpoint{Host: s, Scheme: scheme}, nil
}

// redactUserinfo hides what precedes an '@' in the authority part of an
// endpoint: one pasted with credentials in it must not echo them in the
// error that rejects it.
func redactUserinfo(s string) string {
	prefix, rest := "", s
	if i := strings.Index(s, "://"); i >= 0 {
		prefix, rest = s[:i+3], s[i+3:]
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	at := strings.LastIndex(rest[:end], "@")
	if at < 0 {
		return s
	}
	return prefix + redacted + rest[at:]
}

func validHost(h string) bool {
	if h == "" || len(h) > 253 {
		return false
	}
	if net.ParseIP(h) != nil {
		return true
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c == '-' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z') {
				return false
			}
		}
	}
	return true
}
