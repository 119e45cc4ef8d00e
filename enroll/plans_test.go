package enroll

import (
	"context"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const testPlans = `employers:
  - id: ACME
    name: Acme
    pay_frequency: BIWEEKLY
    plan_years:
      - id: PY26
        start: 2026-01-01
        end: 2026-12-31
        enrollment_start: 2025-11-01
        enrollment_end: 2025-12-15
        plans:
          - {code: LPF, type: LPFSA}
    plans:
      - {code: HSA1, type: HSA, employer_contribution: {individual: 500}}
      - {code: FSA1, type: FSA, limits: {individual: 3400, family: 3400}}
`

func parseTestPlans(t *testing.T, s string) *PlansFile {
	t.Helper()
	pf, err := ParsePlans(strings.NewReader(s))
	if err != nil {
		t.Fatal(err)
	}
	return pf
}

// A plans load is audited: each employer, plan year and plan it creates,
// and each one it changes (the changed fields only, before and after), by
// the operator who loaded it; a reload of the same file records nothing.
func TestLoadPlansAuditsWhatChanged(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), testKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	l.Now = func() time.Time { return time.Date(2026, 11, 19, 11, 0, 0, 0, time.UTC) }
	plansEvents := AuditFilter{Entities: []string{"employer", "plan_year", "plan"}}

	ops := Actor{Name: "ops", Reason: "initial\nload"}
	if n, err := l.LoadPlans(ctx, parseTestPlans(t, testPlans), ops); err != nil || n != 5 {
		t.Fatalf("first load: %d events, %v; want 5", n, err)
	}
	created := auditOf(t, l, plansEvents)
	var got []string
	for _, e := range created {
		got = append(got, e.Action+" "+e.Entity+" "+e.EntityID+" by "+e.Actor+": "+e.Reason)
	}
	want := []string{
		"CREATE employer ACME by ops: initial load",
		"CREATE plan_year ACME/PY26 by ops: initial load",
		"CREATE plan ACME/PY26/LPF by ops: initial load",
		"CREATE plan ACME/HSA1 by ops: initial load",
		"CREATE plan ACME/FSA1 by ops: initial load",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("events of the first load:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var hsa map[string]string
	if err := json.Unmarshal([]byte(created[3].After), &hsa); err != nil {
		t.Fatal(err)
	}
	if hsa["employer_contribution_individual"] != "500.00" || hsa["limit_individual"] != "" || hsa["type"] != "HSA" ||
		hsa["employer_id"] != "ACME" || hsa["code"] != "HSA1" || hsa["id"] == "" || created[3].Before != "" {
		t.Errorf("the HSA plan's CREATE: before %q after %v", created[3].Before, hsa)
	}

	// The same file again, as run and serve load it before every pass.
	if n, err := l.LoadPlans(ctx, parseTestPlans(t, testPlans), Actor{Name: ConfigActor}); err != nil || n != 0 {
		t.Fatalf("reload: %d events, %v; want 0", n, err)
	}

	changed := strings.NewReplacer("individual: 3400", "individual: 3300",
		"enrollment_end: 2025-12-15", "enrollment_end: 2025-12-31", "name: Acme", "name: Acme Inc").Replace(testPlans)
	if n, err := l.LoadPlans(ctx, parseTestPlans(t, changed), Actor{Name: ConfigActor, Reason: "run loaded plans.yaml"}); err != nil || n != 3 {
		t.Fatalf("changed load: %d events, %v; want 3", n, err)
	}
	all := auditOf(t, l, plansEvents)
	got = nil
	for _, e := range all[len(created):] {
		got = append(got, e.Action+" "+e.Entity+" "+e.EntityID+" by "+e.Actor+": "+e.Before+" → "+e.After)
	}
	want = []string{
		`UPDATE employer ACME by config: {"name":"Acme"} → {"name":"Acme Inc"}`,
		`UPDATE plan_year ACME/PY26 by config: {"enrollment_end":"2025-12-15"} → {"enrollment_end":"2025-12-31"}`,
		`UPDATE plan ACME/FSA1 by config: {"limit_individual":"3400.00"} → {"limit_individual":"3300.00"}`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events of the changed load:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// What the rules read changed with it.
	var limit int64
	var end string
	if err := l.db.QueryRow(`SELECT limit_individual FROM plans WHERE code = 'FSA1'`).Scan(&limit); err != nil || limit != 330000 {
		t.Errorf("FSA1 limit: %d, %v", limit, err)
	}
	if err := l.db.QueryRow(`SELECT enrollment_end FROM plan_years WHERE code = 'PY26'`).Scan(&end); err != nil || end != "2025-12-31" {
		t.Errorf("PY26 enrollment_end: %q, %v", end, err)
	}
	if got := auditOf(t, l, AuditFilter{Entities: []string{"plan"}}); len(got) != 4 {
		t.Errorf("--entity plan: %d events, want 4", len(got))
	}
}

// The time bounds compare with the stored stamps (whole seconds): an
// event stamped 11:00:00 is before an Until of 11:00:00.5.
func TestAuditBoundsAreStamps(t *testing.T) {
	ctx := context.Background()
	l, err := Open(ctx, filepath.Join(t.TempDir(), "ledger.db"), testKeys(t), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	at := time.Date(2026, 11, 19, 11, 0, 0, 0, time.UTC)
	l.Now = func() time.Time { return at.Add(300 * time.Millisecond) } // stamped 11:00:00Z
	if _, err := l.LoadPlans(ctx, parseTestPlans(t, testPlans), Actor{Name: "ops"}); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		since, until time.Time
		want         int
	}{
		{at, at.Add(500 * time.Millisecond), 5},
		{at.Add(500 * time.Millisecond), at.Add(time.Second), 5}, // Since in the stamp's second
		{at, at.Add(time.Second), 5},
		{at.Add(-time.Second), at, 0}, // Until exclusive
		{at.Add(time.Second), time.Time{}, 0},
	} {
		if got := auditOf(t, l, AuditFilter{Since: tt.since, Until: tt.until}); len(got) != tt.want {
			t.Errorf("since %v until %v: %d events, want %d", tt.since, tt.until, len(got), tt.want)
		}
	}
}
