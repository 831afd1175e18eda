package ecstest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
	"time"
)

// STSCredentials are credentials the emulator's STS issued.
type STSCredentials struct {
	AccessKeyID, AccessKeySecret, SecurityToken string
}

var nonceSeq atomic.Int64

// AssumeRole asks the emulator at baseURL (Server.URL or ReadyInfo.URL) for
// STS credentials of roleARN with a signed AssumeRole request, as any caller
// would. Tests use it to hand a security token to the code under test, or to
// get a second, mismatched token. client must trust the emulator's
// certificate (Server.Client, or Control.Client in process mode).
func AssumeRole(client *http.Client, baseURL, accessKeyID, secret, roleARN string) (STSCredentials, error) {
	p := url.Values{
		"Action": {"AssumeRole"}, "Version": {"2015-04-01"}, "Format": {"JSON"},
		"AccessKeyId": {accessKeyID}, "SignatureMethod": {"HMAC-SHA1"}, "SignatureVersion": {"1.0"},
		"SignatureNonce": {fmt.Sprintf("%d-%d", time.Now().UnixNano(), nonceSeq.Add(1))}, "SignatureType": {""},
		"Timestamp": {time.Now().UTC().Format(timestampLayout)},
		"RoleArn":   {roleARN}, "RoleSessionName": {"ecstest"}, "DurationSeconds": {"3600"},
	}
	p.Set("Signature", sign(http.MethodPost, p, secret))
	resp, err := client.Post(baseURL+"/?"+p.Encode(), "application/x-www-form-urlencoded", nil)
	if err != nil {
		return STSCredentials{}, err
	}
	defer resp.Body.Close()
	var body struct {
		Code        string
		Credentials struct{ AccessKeyId, AccessKeySecret, SecurityToken string }
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.Credentials.SecurityToken == "" {
		return STSCredentials{}, fmt.Errorf("ecstest: AssumeRole %s: HTTP %d %s %v", roleARN, resp.StatusCode, body.Code, err)
	}
	c := body.Credentials
	return STSCredentials{c.AccessKeyId, c.AccessKeySecret, c.SecurityToken}, nil
}
