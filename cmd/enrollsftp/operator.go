package main

import (
	"fmt"
	"os"
	"os/user"
	"strings"

	"enrollsftp"
	"enrollsftp/enroll"
)

// operator is who runs an operator's command (kyc approve, rerun), and
// why: --by, else the OS user. The audit trail keeps both.
func operator(cmd, by, reason string) (enroll.Actor, error) {
	name := strings.TrimSpace(by)
	if name == "" {
		name = osUser()
	}
	if name == "" {
		return enroll.Actor{}, usageErr("%s: no OS user found: name the operator with --by NAME", cmd)
	}
	return enroll.Actor{Name: name, Reason: strings.TrimSpace(reason)}, nil
}

// osUser is the operator by default: SUDO_USER when set (the person who
// ran sudo, not root), else the user the process runs as.
func osUser() string {
	if u := strings.TrimSpace(os.Getenv("SUDO_USER")); u != "" {
		return u
	}
	if u, err := user.Current(); err == nil && u.Username != "" {
		return u.Username
	}
	return strings.TrimSpace(os.Getenv("USER"))
}

// rerunJSON is a rerun a batch took part in, as `batch show --json` gives
// it: the batch rerun (batch_id), the batch it became (rerun_batch_id),
// and who did it and why. action is RERUN, or RELEASED for a HELD batch
// released with --force.
type rerunJSON struct {
	Action       string `json:"action"`
	At           string `json:"at"`
	By           string `json:"by"`
	Reason       string `json:"reason"`
	BatchID      string `json:"batch_id"`
	RerunBatchID string `json:"rerun_batch_id"`
}

func rerunsJSON(events []enroll.AuditEvent) []rerunJSON {
	var out []rerunJSON
	for _, e := range events {
		out = append(out, rerunJSON{Action: e.Action, At: e.At, By: e.Actor, Reason: enrollsftp.ScrubSensitive(e.Reason),
			BatchID: e.EntityID, RerunBatchID: e.BatchID})
	}
	return out
}

// rerunLabel names a rerun's line in `batch show` of batch id: what it
// is to that batch.
func rerunLabel(r rerunJSON, id string) string {
	switch {
	case r.BatchID != id:
		return "rerun_of"
	case r.Action == "RELEASED":
		return "released_by"
	}
	return "rerun_by"
}

func rerunShown(r rerunJSON) string {
	by := r.By
	if by == "" {
		by = "(not recorded)"
	}
	return fmt.Sprintf("%s %s by %s: %s (batch %s → %s)", r.At, r.Action, by, dash(r.Reason), r.BatchID, r.RerunBatchID)
}
