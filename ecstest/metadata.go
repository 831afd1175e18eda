package ecstest

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// The ECS instance metadata service, for testing the "ECS instance RAM
// role" credential source without going near the real link-local address
// (100.100.100.200). Clients point their metadata endpoint at the emulator.
//
//	PUT /latest/api/token                                  -> a session token (hardened mode)
//	GET /latest/meta-data/ram/security-credentials/        -> names of the attached roles
//	GET /latest/meta-data/ram/security-credentials/<name>  -> STS credentials of that role
//
// A role is attached when its fixture entry has "ecs_instance_role": true.
// Requests are counted under the action name MetadataAction. When a client
// fetched a token, it must send it back; clients that never ask for one are
// served too, as on instances that do not enforce hardened mode.
const (
	metadataPrefix = "/latest/"
	MetadataAction = "ECSMetadata"
	credsPath      = "/latest/meta-data/ram/security-credentials/"
	metadataTokenH = "X-Aliyun-Ecs-Metadata-Token"
)

func isMetadataPath(p string) bool { return strings.HasPrefix(p, metadataPrefix) }

func (s *Server) serveMetadata(w http.ResponseWriter, r *http.Request) {
	s.record(RecordedRequest{Method: r.Method, Path: r.URL.Path, Action: MetadataAction, Header: r.Header.Clone(), Time: time.Now()})
	text := func(status int, body string) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
	switch {
	case r.Method == http.MethodPut && r.URL.Path == "/latest/api/token":
		if r.Header.Get("X-Aliyun-Ecs-Metadata-Token-Ttl-Seconds") == "" {
			text(400, "X-aliyun-ecs-metadata-token-ttl-seconds is required")
			return
		}
		tok := randomString(40, alnum)
		s.mu.Lock()
		s.metadataTokens[tok] = true
		s.mu.Unlock()
		text(200, tok)
		return
	case r.Method != http.MethodGet || !strings.HasPrefix(r.URL.Path, credsPath):
		text(404, "Not Found")
		return
	}
	if tok := r.Header.Get(metadataTokenH); tok != "" {
		s.mu.Lock()
		ok := s.metadataTokens[tok]
		s.mu.Unlock()
		if !ok {
			text(401, "Unauthorized")
			return
		}
	}
	name := strings.TrimPrefix(r.URL.Path, credsPath)
	s.mu.Lock()
	var attached []Role
	for _, role := range s.roles {
		if role.ECSInstanceRole {
			attached = append(attached, role)
		}
	}
	s.mu.Unlock()
	if name == "" {
		names := make([]string, 0, len(attached))
		for _, role := range attached {
			names = append(names, roleName(role.ARN))
		}
		text(200, strings.Join(names, "\n"))
		return
	}
	for i := range attached {
		if roleName(attached[i].ARN) == name {
			sess := s.newSession(&attached[i], "ecs-instance", 6*time.Hour)
			b, _ := json.Marshal(map[string]string{
				"AccessKeyId": sess.keyID, "AccessKeySecret": sess.secret, "SecurityToken": sess.token,
				"Expiration":  sess.expires.UTC().Format(timestampLayout),
				"LastUpdated": s.clock().UTC().Format(timestampLayout), "Code": "Success",
			})
			w.Header().Set("Content-Type", "application/json")
			_, _ = w.Write(b)
			return
		}
	}
	text(404, "Not Found")
}

// roleName is the last path element of a role ARN.
func roleName(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
