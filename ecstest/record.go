package ecstest

import (
	"net/http"
	"net/url"
	"time"
)

// ---- request recording ----

// RecordedRequest is what arrived, as the server saw it.
type RecordedRequest struct {
	Method string
	Path   string
	Action string
	// Params are the query and form parameters together (query first), as
	// signed: Signature, AccessKeyId, SecurityToken and so on included.
	Params url.Values
	Header http.Header
	Time   time.Time
}

// Requests counts the requests that named action, rejected ones included;
// "" counts every request.
func (s *Server) Requests(action string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if action == "" {
		return s.counts[allKey]
	}
	return s.counts[action]
}

// LastRequest returns the latest request that named action ("" = any); the
// zero value if there was none.
func (s *Server) LastRequest(action string) RecordedRequest {
	s.mu.Lock()
	defer s.mu.Unlock()
	if action == "" {
		return s.last[allKey]
	}
	return s.last[action]
}

// ResetCounts forgets counts and recorded requests.
func (s *Server) ResetCounts() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.counts = map[string]int{}
	s.last = map[string]RecordedRequest{}
	s.writes = nil
}

// ImageWrite is one ModifyImageAttribute request as it arrived (rejected
// ones included), in the log of writes: what a dry run must show as
// DryRun=true only.
type ImageWrite struct {
	RegionID    string `json:"region_id"`
	ImageID     string `json:"image_id"`
	ImageFamily string `json:"image_family,omitempty"`
	Status      string `json:"status,omitempty"`
	// DryRun is the DryRun parameter as sent ("" when absent).
	DryRun string `json:"dry_run,omitempty"`
}

// Writes is the log of ModifyImageAttribute requests since the last
// ResetCounts, in the order they arrived.
func (s *Server) Writes() []ImageWrite {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ImageWrite(nil), s.writes...)
}

func (s *Server) record(rec RecordedRequest) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rec.Action == "ModifyImageAttribute" {
		p := rec.Params
		s.writes = append(s.writes, ImageWrite{RegionID: p.Get("RegionId"), ImageID: p.Get("ImageId"),
			ImageFamily: p.Get("ImageFamily"), Status: p.Get("Status"), DryRun: p.Get("DryRun")})
	}
	s.counts[allKey]++
	s.last[allKey] = rec
	if rec.Action != "" {
		s.counts[rec.Action]++
		s.last[rec.Action] = rec
	}
}
