package imagefamily

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/aliyun/alibaba-cloud-sdk-go/sdk"
	"github.com/aliyun/alibaba-cloud-sdk-go/sdk/requests"
)

const (
	defaultSTSHost          = "sts.aliyuncs.com"
	defaultMetadataEndpoint = "http://100.100.100.200"
	defaultSessionName      = "alicloud-image-family"
	stsVersion              = "2015-04-01"
)

type stsResponse struct {
	RequestID   string `json:"RequestId"`
	Credentials struct {
		AccessKeyID     string `json:"AccessKeyId"`
		AccessKeySecret string `json:"AccessKeySecret"`
		SecurityToken   string `json:"SecurityToken"`
		Expiration      string `json:"Expiration"`
	} `json:"Credentials"`
}

type errorBody struct {
	RequestID string `json:"RequestId"`
	Code      any    `json:"Code"` // some services send numbers; never trust the type
	Message   string `json:"Message"`
}

// roleSettings are what a credential source says about the STS call it
// makes: an aliyun CLI profile carries its own session name, duration and STS
// endpoint or region; explicit settings and the environment cover the rest.
type roleSettings struct {
	sessionName    string
	expiredSeconds int    // 0: not set
	stsEndpoint    string // a profile's sts_endpoint
	stsRegion      string // a profile's sts_region
	source         string // for messages, such as `CLI profile "ci"`
}

// stsEndpoint picks where STS calls go, first match wins: the explicit
// setting (--sts-endpoint, sts_endpoint, the sts-endpoint input), the
// profile's own sts_endpoint, then its sts_region, the environment
// (ALIBABA_CLOUD_STS_ENDPOINT, then ALIBABA_CLOUD_STS_REGION), and finally
// sts.aliyuncs.com.
func (s *session) stsEndpoint(rs roleSettings) (endpoint, error) {
	field := "STS endpoint"
	raw := s.req.Credentials.STSEndpoint
	if raw == "" && rs.stsEndpoint != "" {
		raw, field = rs.stsEndpoint, "sts_endpoint of "+rs.source
	}
	if raw == "" && rs.stsRegion != "" {
		if err := ValidateRegion(rs.stsRegion); err != nil {
			return endpoint{}, &CredentialsError{Source: rs.source, Err: fmt.Errorf("sts_region: %w", err)}
		}
		raw, field = "sts."+rs.stsRegion+".aliyuncs.com", "sts_region of "+rs.source
	}
	if raw == "" {
		raw = s.getenv("ALIBABA_CLOUD_STS_ENDPOINT")
	}
	if raw == "" {
		if region := s.getenv("ALIBABA_CLOUD_STS_REGION"); region != "" {
			raw = "sts." + region + ".aliyuncs.com"
		}
	}
	ep, err := parseEndpoint(field, raw)
	if err != nil {
		return endpoint{}, err
	}
	if ep.Host == "" {
		return endpoint{Host: defaultSTSHost, Scheme: "https"}, nil
	}
	return ep, nil
}

// sessionParams gives the role session name and duration. A profile's own
// values win over the request's (the profile is what the user chose for this
// role); then the request; then the environment; then the defaults.
func (s *session) sessionParams(rs roleSettings) (name string, seconds int) {
	c := s.req.Credentials
	name = rs.sessionName
	if name == "" {
		name = c.RoleSessionName
	}
	if name == "" {
		name = s.getenv("ALIBABA_CLOUD_ROLE_SESSION_NAME")
	}
	if name == "" {
		name = defaultSessionName
	}
	seconds = 3600
	switch {
	case rs.expiredSeconds != 0:
		seconds = rs.expiredSeconds
	case c.RoleSessionDuration != 0:
		seconds = int(c.RoleSessionDuration / time.Second)
	}
	return name, seconds
}

// assumeRole exchanges keys for a role's STS credentials. It is a signed RPC
// call, so it goes through the SDK's signer like the ECS call.
func (s *session) assumeRole(ctx context.Context, base keys, role string, rs roleSettings) (keys, error) {
	if err := validateRoleARN("role ARN", role); err != nil {
		return keys{}, err
	}
	ep, err := s.stsEndpoint(rs)
	if err != nil {
		return keys{}, err
	}
	name, seconds := s.sessionParams(rs)
	op := operation{Service: "STS", Action: "AssumeRole"}
	tr := s.newTransport()
	clientInit.Lock()
	client, err := sdk.NewClientWithOptions("cn-hangzhou", sdkConfig(tr, ep.Scheme), base.credential())
	clientInit.Unlock()
	if err != nil {
		return keys{}, &CredentialsError{Source: base.Source + " + AssumeRole", Err: err}
	}
	var body []byte
	err = invoke(ctx, op, s.req.Retry, tr, s.scrub, func(ctx context.Context, timeout time.Duration) error {
		r := requests.NewCommonRequest()
		r.Method = "POST"
		r.Scheme = ep.Scheme
		r.Domain = ep.Host
		r.Version = stsVersion
		r.ApiName = "AssumeRole"
		r.Product = "Sts"
		r.QueryParams["RoleArn"] = role
		r.QueryParams["RoleSessionName"] = name
		r.QueryParams["DurationSeconds"] = strconv.Itoa(seconds)
		if s.req.Credentials.ExternalID != "" {
			r.QueryParams["ExternalId"] = s.req.Credentials.ExternalID
		}
		r.SetReadTimeout(timeout)
		r.SetConnectTimeout(min(timeout, 5*time.Second))
		resp, err := client.ProcessCommonRequest(r)
		if err != nil {
			return err
		}
		body = resp.GetHttpContentBytes()
		return nil
	})
	if err != nil {
		return keys{}, &CredentialsError{Source: base.Source + " + AssumeRole " + role, Err: err}
	}
	return s.stsKeys(body, op, "AssumeRole "+role)
}

// assumeRoleWithOIDC exchanges an OIDC token for a role's STS credentials.
// The call is anonymous (the token is the proof), so it is a plain form POST.
func (s *session) assumeRoleWithOIDC(ctx context.Context, role, provider, token string, rs roleSettings) (keys, error) {
	ep, err := s.stsEndpoint(rs)
	if err != nil {
		return keys{}, err
	}
	name, seconds := s.sessionParams(rs)
	op := operation{Service: "STS", Action: "AssumeRoleWithOIDC"}
	source := "OIDC (AssumeRoleWithOIDC " + role + ")"
	form := url.Values{
		"Action": {"AssumeRoleWithOIDC"}, "Version": {stsVersion}, "Format": {"JSON"},
		"Timestamp": {time.Now().UTC().Format("2006-01-02T15:04:05Z")},
		"RoleArn":   {role}, "OIDCProviderArn": {provider}, "OIDCToken": {token},
		"RoleSessionName": {name}, "DurationSeconds": {strconv.Itoa(seconds)},
	}
	body, err := s.plainCall(ctx, op, http.MethodPost, ep.String()+"/", form, nil)
	if err != nil {
		return keys{}, &CredentialsError{Source: source, Err: err}
	}
	return s.stsKeys(body, op, source)
}

func (s *session) stsKeys(body []byte, op operation, source string) (keys, error) {
	var r stsResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Credentials.AccessKeyID == "" || r.Credentials.AccessKeySecret == "" {
		return keys{}, &CredentialsError{Source: source, Err: &TransportError{Op: op.String(),
			Err: errors.New("the answer holds no credentials"), class: ErrAPI}}
	}
	k := keys{ID: r.Credentials.AccessKeyID, Secret: r.Credentials.AccessKeySecret, Token: r.Credentials.SecurityToken, Source: source}
	if err := checkIssuedKeys(k, op); err != nil {
		return keys{}, &CredentialsError{Source: source, Err: err}
	}
	s.scrub.add(k.Secret)
	s.scrub.add(k.Token)
	return k, nil
}

// issuedKeyPattern is the alphabet of STS- and metadata-issued credentials:
// access key ids (STS.NU...), secrets and tokens (base64 with '+', '/',
// '='). Anything else (white space, line breaks, control characters) is not
// a credential: it would end up in request signatures, HTTP headers and the
// action's add-mask commands, where a line break registers a mask per line.
var issuedKeyPattern = lazy(`^[A-Za-z0-9+/=._-]+$`)

func checkIssuedKeys(k keys, op operation) error {
	for _, f := range []struct {
		name, value string
		max         int
	}{{"AccessKeyId", k.ID, 128}, {"AccessKeySecret", k.Secret, 256}, {"SecurityToken", k.Token, 16 << 10}} {
		if f.value == "" && f.name == "SecurityToken" {
			continue
		}
		if len(f.value) > f.max || !issuedKeyPattern.MatchString(f.value) {
			return &AnswerError{Op: op.String(), Field: "Credentials." + f.name,
				Rule: fmt.Sprintf("issued credentials are 1 to %d letters, digits and + / = . _ - (the value is not shown: it may be a secret)", f.max)}
		}
	}
	return nil
}

// metadataKeys reads the ECS instance RAM role's credentials from the
// metadata service. Only called when a role name was given: the real
// address is never probed unasked.
func (s *session) metadataKeys(ctx context.Context, role string) (keys, error) {
	source := fmt.Sprintf("ECS instance RAM role %q", role)
	raw := s.req.Credentials.MetadataEndpoint
	if raw == "" {
		raw = s.getenv("ALIBABA_CLOUD_ECS_METADATA_ENDPOINT")
	}
	if raw == "" {
		raw = defaultMetadataEndpoint
	}
	ep, err := parseEndpoint("metadata endpoint", raw)
	if err != nil {
		return keys{}, err
	}
	if !strings.Contains(raw, "://") {
		ep.Scheme = "http" // the metadata service speaks plain HTTP on a link-local address
	}
	op := operation{Service: "ECS metadata", Action: "security-credentials"}
	// Hardened mode (IMDSv2-style token); instances that do not enforce it
	// answer without one, so a failure here is not fatal.
	hdr := http.Header{}
	if tok, err := s.plainCall(ctx, op, http.MethodPut, ep.String()+"/latest/api/token", nil,
		http.Header{"X-Aliyun-Ecs-Metadata-Token-Ttl-Seconds": {"21600"}}); err == nil && len(tok) > 0 {
		// A token that is not of the credential alphabet is not used (it
		// would be a header value and a mask); the plain mode is tried.
		if t := strings.TrimSpace(string(tok)); len(t) <= 4096 && issuedKeyPattern.MatchString(t) {
			hdr.Set("X-Aliyun-Ecs-Metadata-Token", t)
			s.scrub.add(t)
		}
	}
	body, err := s.plainCall(ctx, op, http.MethodGet, ep.String()+"/latest/meta-data/ram/security-credentials/"+url.PathEscape(role), nil, hdr)
	if err != nil {
		return keys{}, &CredentialsError{Source: source, Err: err}
	}
	var r struct {
		Code            string `json:"Code"`
		AccessKeyID     string `json:"AccessKeyId"`
		AccessKeySecret string `json:"AccessKeySecret"`
		SecurityToken   string `json:"SecurityToken"`
	}
	if err := json.Unmarshal(body, &r); err != nil || r.AccessKeyID == "" || (r.Code != "" && r.Code != "Success") {
		return keys{}, &CredentialsError{Source: source, Err: errors.New("the metadata service gave no credentials for this role; check that the role is attached to the instance")}
	}
	k := keys{ID: r.AccessKeyID, Secret: r.AccessKeySecret, Token: r.SecurityToken, Source: source}
	if err := checkIssuedKeys(k, op); err != nil {
		return keys{}, &CredentialsError{Source: source, Err: err}
	}
	s.scrub.add(k.Secret)
	s.scrub.add(k.Token)
	return k, nil
}

// plainCall sends an unsigned request with retries and returns the body of a
// 2xx answer; other answers become *APIError.
func (s *session) plainCall(ctx context.Context, op operation, method, target string, form url.Values, hdr http.Header) ([]byte, error) {
	tr := s.newTransport()
	var body []byte
	err := invoke(ctx, op, s.req.Retry, tr, s.scrub, func(ctx context.Context, timeout time.Duration) error {
		var rdr io.Reader
		if form != nil {
			rdr = strings.NewReader(form.Encode())
		}
		req, err := http.NewRequestWithContext(ctx, method, target, rdr)
		if err != nil {
			return err
		}
		for k, v := range hdr {
			req.Header[k] = v
		}
		if form != nil {
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		resp, err := (&http.Client{Transport: tr, Timeout: timeout, CheckRedirect: NoRedirects}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body) // bounded by the transport (MaxResponseBytes)
		if err != nil {
			return err
		}
		if resp.StatusCode/100 != 2 {
			var eb errorBody
			_ = json.Unmarshal(data, &eb)
			code := fmt.Sprint(eb.Code)
			if eb.Code == nil {
				code = ""
			}
			_, e := apiError(op, resp.StatusCode, code, eb.RequestID, eb.Message, s.scrub)
			return e
		}
		body = data
		return nil
	})
	return body, err
}
