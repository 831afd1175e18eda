package conformance

import (
	"net/http"
	"sync"
)

// The hostile table's rows for the family lifecycle: each row runs a
// command (promote or rollback of HostileImageID in the runner's region)
// against an endpoint that answers every call honestly but one, Action,
// which gets the row's answer. The rows are the lookup's rows about the
// transport and the envelope (caps, redirects, RequestId, error codes and
// messages, nesting), for each call, rows about DescribeImages answers
// that do not match the request (another image, region, family or status),
// and an accepted answer whose images' descriptions plant commands. Writes
// says whether the change was made.

// HostilePreviousImageID is the family's other Available image in the
// lifecycle rows: what it resolves to after a rollback.
const HostilePreviousImageID = "m-hostile0000000000000"

// lifecycleFromLookup are the lookup's rows (HostileRows, by name) that
// apply to any call: none of them depends on the answer's members.
var lifecycleFromLookup = []string{
	"Content-Length of 2 GiB",
	"endless chunked 200 body",
	"302 to another host, echoing the signed query",
	"307 to plain http on another host",
	"captive portal HTML in a 200",
	"200 without a RequestId",
	"RequestId with a line break",
	"error Message with escapes and a workflow command",
	"error Code and Message planting legacy runner commands (retried)",
	"shape: deep arrays in an unknown member",
	"shape: deep arrays in an error answer",
	"shape: a wide error answer",
}

// lifecycleState is what the honest part of a lifecycle row's endpoint
// remembers: whether the rollback's ModifyImageAttribute went through.
type lifecycleState struct {
	mu         sync.Mutex
	deprecated bool
	writes     int
}

// LifecycleHostileRows is the table (HostileRow.Command and Action set).
func LifecycleHostileRows() []HostileRow {
	byName := map[string]HostileRow{}
	for _, r := range HostileRows() {
		byName[r.Name] = r
	}
	var rows []HostileRow
	for _, call := range []struct{ command, action string }{
		{CommandPromote, ActionDescribeImages}, {CommandPromote, ActionModifyImage},
		{CommandRollback, ActionDescribeImages}, {CommandRollback, ActionModifyImage},
	} {
		for _, name := range lifecycleFromLookup {
			r, ok := byName[name]
			if !ok {
				panic("conformance: no hostile row " + name)
			}
			r.Name = call.command + " " + call.action + ": " + name
			r.Command, r.Action = call.command, call.action
			rows = append(rows, lifecycleRow(r))
		}
	}
	images := func(change func(img map[string]any), top ...any) func(http.ResponseWriter, *http.Request, HostileEnv) {
		return func(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
			img := lifecycleImage(r, HostileImageID)
			change(img)
			body := imagesAnswer(r, img)
			for i := 0; i+1 < len(top); i += 2 {
				body[top[i].(string)] = top[i+1]
			}
			writeJSON(w, 200, body)
		}
	}
	refused := func(command, name, fragment string, serve func(http.ResponseWriter, *http.Request, HostileEnv), forged ...string) HostileRow {
		return lifecycleRow(HostileRow{Name: command + " DescribeImages: " + name, Command: command, Action: ActionDescribeImages,
			Serve: serve, Outcome: HostileRefused, ExitCode: 1, Fragment: fragment, Requests: 1, Forged: forged})
	}
	for _, command := range []string{CommandPromote, CommandRollback} {
		rows = append(rows,
			refused(command, "answer for another region", "RegionId", images(func(map[string]any) {}, "RegionId", "cn-shanghai")),
			refused(command, "answer for another region planting a workflow command", "RegionId",
				images(func(map[string]any) {}, "RegionId", "cn-shanghai\n::error::forged-region"), "::error::forged-region"),
			refused(command, "Status planting legacy runner commands", "Status",
				images(set("Status", "Available "+legacyStop+" "+legacyError)), legacyStop, legacyError),
			refused(command, "ImageId with a workflow command", "ImageId",
				images(set("ImageId", "m-aaaa\n::warning::forged-by-endpoint")), "::warning::forged-by-endpoint"),
		)
	}
	// Answers the lifecycle accepts: what it prints holds nothing of the
	// image's free text, which plants commands here.
	for _, command := range []string{CommandPromote, CommandRollback} {
		rows = append(rows, lifecycleRow(HostileRow{Name: command + " DescribeImages: a description planting commands (accepted)", Command: command,
			Action: ActionDescribeImages, Serve: plantedDescriptions,
			Outcome: HostileFound, Requests: 1, Forged: []string{"::error::forged-description", legacyStop, legacyError}}))
	}
	rows = append(rows,
		// By id: an image that was not asked for.
		refused(CommandPromote, "answer for another image", "ImageId", images(set("ImageId", "m-someoneelses00000001"))),
		refused(CommandRollback, "answer for another family", "ImageFamily", images(set("ImageFamily", "someone-elses-family"))),
		refused(CommandRollback, "a Deprecated image where Available ones were asked for", "Status", images(set("Status", "Deprecated"))),
	)
	return rows
}

// lifecycleRow makes a row's endpoint answer every call but row.Action
// honestly. The change is made (Writes) only where the hostile call is not
// the write and its answer is accepted.
func lifecycleRow(row HostileRow) HostileRow {
	if row.Outcome == HostileFound && row.Action != ActionModifyImage {
		row.Writes = 1
	}
	hostile := row.Serve
	row.Serve = func(w http.ResponseWriter, r *http.Request, env HostileEnv) {
		action := r.URL.Query().Get("Action")
		if action == row.Action {
			hostile(w, r, env)
			return
		}
		st := env.lifecycle
		switch action {
		case ActionModifyImage:
			st.mu.Lock()
			st.writes++
			st.deprecated = st.deprecated || r.URL.Query().Get("Status") == "Deprecated"
			st.mu.Unlock()
			writeJSON(w, 200, map[string]any{"RequestId": "7A6B1E2C-0000-4000-8000-000000000011"})
		case ActionDescribeImages:
			writeJSON(w, 200, imagesAnswer(r, lifecycleImage(r, HostileImageID), lifecycleImage(r, HostilePreviousImageID)))
		default:
			st.mu.Lock()
			deprecated := st.deprecated
			st.mu.Unlock()
			img := hostileImage(r)
			if deprecated {
				img["ImageId"], img["CreationTime"] = HostilePreviousImageID, "2024-03-16T02:00:00Z"
			}
			writeJSON(w, 200, map[string]any{"RequestId": "7A6B1E2C-0000-4000-8000-000000000012", "Image": img})
		}
	}
	return row
}

// plantedDescriptions answers DescribeImages as the honest endpoint does,
// every image's Description planting commands.
func plantedDescriptions(w http.ResponseWriter, r *http.Request, _ HostileEnv) {
	planted := "ok\n::error::forged-description\n" + legacyStop + " " + legacyError
	imgs := []map[string]any{lifecycleImage(r, HostileImageID), lifecycleImage(r, HostilePreviousImageID)}
	for _, img := range imgs {
		img["Description"] = planted
	}
	writeJSON(w, 200, imagesAnswer(r, imgs...))
}

// lifecycleImage is an image as DescribeImages reports it: by id, the
// image named, Available and in no family (promote puts it in); by family,
// the family's images.
func lifecycleImage(r *http.Request, id string) map[string]any {
	img := hostileImage(r)
	img["ImageId"] = id
	if q := r.URL.Query().Get("ImageId"); q != "" {
		img["ImageId"], img["ImageFamily"] = q, ""
	}
	if id == HostilePreviousImageID {
		img["CreationTime"] = "2024-03-16T02:00:00Z"
	}
	return img
}

// imagesAnswer is a DescribeImages answer holding imgs, for the region
// asked.
func imagesAnswer(r *http.Request, imgs ...map[string]any) map[string]any {
	list := make([]any, len(imgs))
	for i, img := range imgs {
		list[i] = img
	}
	if r.URL.Query().Get("ImageId") != "" {
		list = list[:1]
	}
	return map[string]any{"RequestId": "7A6B1E2C-0000-4000-8000-000000000010", "RegionId": r.URL.Query().Get("RegionId"),
		"TotalCount": len(list), "PageNumber": 1, "PageSize": 10, "Images": map[string]any{"Image": list}}
}
