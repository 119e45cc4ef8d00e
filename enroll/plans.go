package enroll

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"enrollsftp"
	"enrollsftp/internal/yamlcheck"
	"enrollsftp/validate"
)

// PlansFile is the plans YAML of SPEC §7: employers with their plan years
// and plans. A plan under an employer applies to all its plan years; a plan
// under a plan year applies to that year only and wins over the other.
type PlansFile struct {
	Employers []EmployerSpec `yaml:"employers"`
}

// EmployerSpec is one employer of a plans file.
type EmployerSpec struct {
	ID           string         `yaml:"id"`
	Name         string         `yaml:"name"`
	PayFrequency string         `yaml:"pay_frequency"`
	PlanYears    []PlanYearSpec `yaml:"plan_years"`
	Plans        []PlanSpec     `yaml:"plans"`
}

// PlanYearSpec is one plan year; dates are YYYY-MM-DD.
type PlanYearSpec struct {
	ID              string     `yaml:"id"`
	Start           string     `yaml:"start"`
	End             string     `yaml:"end"`
	EnrollmentStart string     `yaml:"enrollment_start"`
	EnrollmentEnd   string     `yaml:"enrollment_end"`
	RunoutEnd       string     `yaml:"runout_end"`
	Plans           []PlanSpec `yaml:"plans"`
}

// PlanSpec is one plan; amounts are dollars, as in the files.
type PlanSpec struct {
	Code                 string    `yaml:"code"`
	Type                 string    `yaml:"type"`
	Limits               *TierSpec `yaml:"limits"`
	EmployerContribution *TierSpec `yaml:"employer_contribution"`
}

// TierSpec holds a dollar amount per coverage tier.
type TierSpec struct {
	Individual string `yaml:"individual"`
	Family     string `yaml:"family"`
}

// UnmarshalYAML lets amounts be written as numbers (4400, 4400.50) or strings.
func (t *TierSpec) UnmarshalYAML(n *yaml.Node) error {
	var raw map[string]yaml.Node
	if err := n.Decode(&raw); err != nil {
		return err
	}
	for k, v := range raw {
		switch k {
		case "individual":
			t.Individual = v.Value
		case "family":
			t.Family = v.Value
		default:
			return fmt.Errorf("line %d: unknown tier %q (want individual or family)", v.Line, k)
		}
	}
	return nil
}

// ParsePlans reads and checks a plans file. Its mistakes are named by
// their path and line in the file, each on its own line when there are
// several (a yamlcheck.Errors, wrapped).
func ParsePlans(r io.Reader) (*PlansFile, error) {
	pf, err := parsePlans(r)
	if err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	return pf, nil
}

// ReadPlans reads and checks the plans file at path; an error names the
// file ("plans PATH: …").
func ReadPlans(path string) (*PlansFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	defer f.Close()
	pf, err := parsePlans(f)
	if err != nil {
		return nil, fmt.Errorf("plans %s: %w", path, err)
	}
	return pf, nil
}

func parsePlans(r io.Reader) (*PlansFile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	// A syntax error, a misspelt key or a wrong type is named by its
	// line and path in the file, as an operator wrote it.
	root, err := yamlcheck.Parse(data)
	if err != nil {
		return nil, err
	}
	if root.Kind == 0 || len(root.Content) == 0 {
		return nil, yamlcheck.Errors{{Msg: "the file is empty: want employers: with their plan years and plans"}}
	}
	var pf PlansFile
	if err := yamlcheck.Decode(root, &pf); err != nil {
		return nil, err
	}
	if err := pf.Validate(); err != nil {
		var errs yamlcheck.Errors
		if errors.As(err, &errs) {
			lines := yamlcheck.Lines(root)
			for _, e := range errs {
				e.Line = yamlcheck.LineOf(lines, e.Path)
			}
		}
		return nil, err
	}
	return &pf, nil
}

// planProblems collects what Validate finds, each named by its path.
type planProblems yamlcheck.Errors

func (p *planProblems) add(path, format string, args ...any) {
	*p = append(*p, &yamlcheck.Error{Path: path, Msg: fmt.Sprintf(format, args...)})
}

// Validate checks every value and names each one that is wrong by its
// path in the file (a yamlcheck.Errors; ParsePlans adds the lines).
func (pf *PlansFile) Validate() error {
	var p planProblems
	for i, e := range pf.Employers {
		at := fmt.Sprintf("employers[%d]", i)
		if e.ID == "" {
			p.add(at+".id", "required")
		}
		switch e.PayFrequency {
		case "WEEKLY", "BIWEEKLY", "SEMIMONTHLY", "MONTHLY":
		case "":
			p.add(at+".pay_frequency", "required: WEEKLY, BIWEEKLY, SEMIMONTHLY or MONTHLY")
		default:
			p.add(at+".pay_frequency", "want WEEKLY, BIWEEKLY, SEMIMONTHLY or MONTHLY, got %q", e.PayFrequency)
		}
		for j, py := range e.PlanYears {
			pat := fmt.Sprintf("%s.plan_years[%d]", at, j)
			if py.ID == "" {
				p.add(pat+".id", "required")
			}
			dates := []struct {
				key, v string
				ok     bool
			}{{"start", py.Start, false}, {"end", py.End, false}, {"enrollment_start", py.EnrollmentStart, false},
				{"enrollment_end", py.EnrollmentEnd, false}, {"runout_end", py.RunoutEnd, false}}
			for k := range dates {
				d := &dates[k]
				switch _, err := time.Parse(isoDate, d.v); {
				case d.v == "" && d.key == "runout_end": // optional: the end
				case d.v == "":
					p.add(pat+"."+d.key, "%s date missing (want YYYY-MM-DD)", strings.ReplaceAll(d.key, "_", " "))
				case err != nil:
					p.add(pat+"."+d.key, "want a date YYYY-MM-DD, got %q", d.v)
				default:
					d.ok = true
				}
			}
			// Compared only when both are dates: a missing one is said once.
			for _, r := range []struct{ from, to int }{{0, 1}, {2, 3}, {1, 4}} {
				from, to := dates[r.from], dates[r.to]
				if from.ok && to.ok && to.v < from.v {
					p.add(pat+"."+to.key, "%s is before %s %s", to.v, from.key, from.v)
				}
			}
			for k, pl := range py.Plans {
				checkPlan(pl, fmt.Sprintf("%s.plans[%d]", pat, k), &p)
			}
		}
		for k, pl := range e.Plans {
			checkPlan(pl, fmt.Sprintf("%s.plans[%d]", at, k), &p)
		}
	}
	if len(p) > 0 {
		return yamlcheck.Errors(p)
	}
	return nil
}

func checkPlan(pl PlanSpec, at string, p *planProblems) {
	if pl.Code == "" {
		p.add(at+".code", "required")
	}
	switch pl.Type {
	case "HSA", "FSA", "LPFSA", "DCFSA", "HRA", "COMMUTER":
	case "":
		p.add(at+".type", "required: HSA, FSA, LPFSA, DCFSA, HRA or COMMUTER")
	default:
		p.add(at+".type", "want HSA, FSA, LPFSA, DCFSA, HRA or COMMUTER, got %q", pl.Type)
	}
	for _, t := range []struct {
		name string
		spec *TierSpec
	}{{"limits", pl.Limits}, {"employer_contribution", pl.EmployerContribution}} {
		if t.spec == nil {
			continue
		}
		for _, v := range []struct{ tier, amount string }{{"individual", t.spec.Individual}, {"family", t.spec.Family}} {
			if v.amount == "" {
				continue
			}
			if _, err := validate.Amount(t.name, v.amount); err != nil {
				p.add(at+"."+t.name+"."+v.tier, "want a dollar amount, got %q", v.amount)
			}
		}
	}
}

// cents converts a checked dollar string; "" is nil (not set).
func cents(v string) *int64 {
	if v == "" {
		return nil
	}
	c, _ := validate.Amount("", v) // checked by Validate
	return &c
}

// ConfigActor is the actor of the plans loaded from the config file at
// the start of run, serve and rerun: no operator typed the command, the
// config named the file. An operator may not take the name (--by).
const ConfigActor = "config"

// LoadPlans upserts employers, plan years and plans in one transaction, by
// the operator by (ConfigActor for the config's plans file). Plan ids stay
// stable across reloads, so enrollments keep pointing at them, and a row
// is only written (its version bumped) when it changed: serve reloads the
// plans before every run. Each row created or changed is an audit event
// by the operator, with the changed fields before and after; changed is
// how many there were (0 for a reload of the same file).
func (l *Ledger) LoadPlans(ctx context.Context, pf *PlansFile, by Actor) (changed int, err error) {
	by = by.stored()
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return 0, fmt.Errorf("enroll: load plans: %w", err)
	}
	defer tx.Rollback()
	cur, err := loadedPlans(ctx, tx)
	if err != nil {
		return 0, err
	}
	now := l.Now().UTC()
	record := func(entity, id string, before, after any) error {
		action := "UPDATE"
		if before == nil {
			action = "CREATE"
		}
		changed++
		return audit(ctx, tx, auditEvent{entity: entity, id: id, action: action, before: before, after: after,
			at: now, by: by})
	}
	for _, e := range pf.Employers {
		if err := loadEmployer(ctx, tx, cur, e, record); err != nil {
			return 0, err
		}
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("enroll: load plans: %w", err)
	}
	return changed, nil
}

// The rows a plans file sets, as the audit trail keeps them: amounts in
// dollars ("" for a limit left to the IRS default), dates YYYY-MM-DD. An
// UPDATE event holds the fields that changed; the entity id names the
// row as the plans file does (ACME, ACME/ACME-2026, ACME/HSA1 or, for a
// plan of one plan year, ACME/ACME-2026/FSA1).
type employerRow struct {
	ID           string `json:"id"`
	Name         string `json:"name"`
	PayFrequency string `json:"pay_frequency"`
}

type planYearRow struct {
	EmployerID      string `json:"employer_id"`
	Code            string `json:"code"`
	Start           string `json:"start"`
	End             string `json:"end"`
	EnrollmentStart string `json:"enrollment_start"`
	EnrollmentEnd   string `json:"enrollment_end"`
	RunoutEnd       string `json:"runout_end"`
}

type planRow struct {
	ID                 string `json:"id"`
	EmployerID         string `json:"employer_id"`
	PlanYear           string `json:"plan_year"`
	Code               string `json:"code"`
	Type               string `json:"type"`
	LimitIndividual    string `json:"limit_individual"`
	LimitFamily        string `json:"limit_family"`
	EmployerIndividual string `json:"employer_contribution_individual"`
	EmployerFamily     string `json:"employer_contribution_family"`
}

func (y planYearRow) entityID() string { return y.EmployerID + "/" + y.Code }

func (p planRow) entityID() string {
	if p.PlanYear == "" {
		return p.EmployerID + "/" + p.Code
	}
	return p.EmployerID + "/" + p.PlanYear + "/" + p.Code
}

// plansOnFile is the reference data as the ledger holds it, by key.
type plansOnFile struct {
	employers map[string]employerRow
	years     map[[2]string]planYearRow // employer, code
	plans     map[[3]string]planRow     // employer, plan year, code
}

// loadedPlans reads the reference data: three small tables, one query each.
func loadedPlans(ctx context.Context, tx execer) (*plansOnFile, error) {
	cur := &plansOnFile{employers: map[string]employerRow{}, years: map[[2]string]planYearRow{},
		plans: map[[3]string]planRow{}}
	each := func(q string, fn func(scan func(...any) error) error) error {
		rows, err := tx.QueryContext(ctx, q)
		if err != nil {
			return fmt.Errorf("enroll: load plans: %w", err)
		}
		defer rows.Close()
		for rows.Next() {
			if err := fn(rows.Scan); err != nil {
				return fmt.Errorf("enroll: load plans: %w", err)
			}
		}
		return rows.Err()
	}
	err := each(`SELECT id, name, pay_frequency FROM employers`, func(scan func(...any) error) error {
		var e employerRow
		err := scan(&e.ID, &e.Name, &e.PayFrequency)
		cur.employers[e.ID] = e
		return err
	})
	if err == nil {
		err = each(`SELECT employer_id, code, start_date, end_date, enrollment_start, enrollment_end, runout_end
			FROM plan_years`, func(scan func(...any) error) error {
			var y planYearRow
			err := scan(&y.EmployerID, &y.Code, &y.Start, &y.End, &y.EnrollmentStart, &y.EnrollmentEnd, &y.RunoutEnd)
			cur.years[[2]string{y.EmployerID, y.Code}] = y
			return err
		})
	}
	if err == nil {
		err = each(`SELECT id, employer_id, plan_year_code, code, type, limit_individual, limit_family,
			employer_individual, employer_family FROM plans`, func(scan func(...any) error) error {
			var p planRow
			var li, lf sql.NullInt64
			var ei, ef int64
			err := scan(&p.ID, &p.EmployerID, &p.PlanYear, &p.Code, &p.Type, &li, &lf, &ei, &ef)
			p.LimitIndividual, p.LimitFamily = dollars(li), dollars(lf)
			p.EmployerIndividual, p.EmployerFamily = enrollsftp.FormatCents(ei), enrollsftp.FormatCents(ef)
			cur.plans[[3]string{p.EmployerID, p.PlanYear, p.Code}] = p
			return err
		})
	}
	return cur, err
}

func dollars(c sql.NullInt64) string {
	if !c.Valid {
		return ""
	}
	return enrollsftp.FormatCents(c.Int64)
}

// loadEmployer writes what a plans file says of one employer that differs
// from the ledger, and records each row created or changed.
func loadEmployer(ctx context.Context, tx execer, cur *plansOnFile, e EmployerSpec,
	record func(entity, id string, before, after any) error) error {
	name := e.Name
	if name == "" {
		name = e.ID
	}
	want := employerRow{ID: e.ID, Name: name, PayFrequency: e.PayFrequency}
	old, ok := cur.employers[e.ID]
	var err error
	switch {
	case !ok:
		_, err = tx.ExecContext(ctx, `INSERT INTO employers (id, name, pay_frequency) VALUES (?, ?, ?)`,
			want.ID, want.Name, want.PayFrequency)
		if err == nil {
			err = record("employer", want.ID, nil, want)
		}
	case old != want:
		_, err = tx.ExecContext(ctx, `UPDATE employers SET name = ?, pay_frequency = ?, version = version + 1
			WHERE id = ?`, want.Name, want.PayFrequency, want.ID)
		if err == nil {
			err = record("employer", want.ID, old, want)
		}
	}
	if err != nil {
		return fmt.Errorf("enroll: load plans: employer %s: %w", e.ID, err)
	}
	cur.employers[e.ID] = want
	for _, py := range e.PlanYears {
		runout := py.RunoutEnd
		if runout == "" {
			runout = py.End
		}
		want := planYearRow{EmployerID: e.ID, Code: py.ID, Start: py.Start, End: py.End,
			EnrollmentStart: py.EnrollmentStart, EnrollmentEnd: py.EnrollmentEnd, RunoutEnd: runout}
		key := [2]string{e.ID, py.ID}
		old, ok := cur.years[key]
		switch {
		case !ok:
			_, err = tx.ExecContext(ctx, `INSERT INTO plan_years (employer_id, code, start_date, end_date,
				enrollment_start, enrollment_end, runout_end) VALUES (?, ?, ?, ?, ?, ?, ?)`,
				want.EmployerID, want.Code, want.Start, want.End, want.EnrollmentStart, want.EnrollmentEnd, want.RunoutEnd)
			if err == nil {
				err = record("plan_year", want.entityID(), nil, want)
			}
		case old != want:
			_, err = tx.ExecContext(ctx, `UPDATE plan_years SET start_date = ?, end_date = ?, enrollment_start = ?,
				enrollment_end = ?, runout_end = ?, version = version + 1 WHERE employer_id = ? AND code = ?`,
				want.Start, want.End, want.EnrollmentStart, want.EnrollmentEnd, want.RunoutEnd, want.EmployerID, want.Code)
			if err == nil {
				err = record("plan_year", want.entityID(), old, want)
			}
		}
		if err != nil {
			return fmt.Errorf("enroll: load plans: plan year %s/%s: %w", e.ID, py.ID, err)
		}
		cur.years[key] = want
		for _, p := range py.Plans {
			if err := loadPlan(ctx, tx, cur, e.ID, py.ID, p, record); err != nil {
				return err
			}
		}
	}
	for _, p := range e.Plans {
		if err := loadPlan(ctx, tx, cur, e.ID, "", p, record); err != nil {
			return err
		}
	}
	return nil
}

// loadPlan writes one plan when it is new or changed, and records it.
func loadPlan(ctx context.Context, tx execer, cur *plansOnFile, employer, planYear string, p PlanSpec,
	record func(entity, id string, before, after any) error) error {
	var li, lf *int64
	var ei, ef int64
	if p.Limits != nil {
		li, lf = cents(p.Limits.Individual), cents(p.Limits.Family)
	}
	if p.EmployerContribution != nil {
		if c := cents(p.EmployerContribution.Individual); c != nil {
			ei = *c
		}
		if c := cents(p.EmployerContribution.Family); c != nil {
			ef = *c
		}
	}
	opt := func(c *int64) sql.NullInt64 {
		if c == nil {
			return sql.NullInt64{}
		}
		return sql.NullInt64{Int64: *c, Valid: true}
	}
	want := planRow{EmployerID: employer, PlanYear: planYear, Code: p.Code, Type: p.Type,
		LimitIndividual: dollars(opt(li)), LimitFamily: dollars(opt(lf)),
		EmployerIndividual: enrollsftp.FormatCents(ei), EmployerFamily: enrollsftp.FormatCents(ef)}
	key := [3]string{employer, planYear, p.Code}
	old, ok := cur.plans[key]
	want.ID = old.ID
	var err error
	switch {
	case !ok:
		want.ID = newID()
		_, err = tx.ExecContext(ctx, `INSERT INTO plans (id, employer_id, plan_year_code, code, type,
			limit_individual, limit_family, employer_individual, employer_family) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			want.ID, employer, planYear, p.Code, p.Type, li, lf, ei, ef)
		if err == nil {
			err = record("plan", want.entityID(), nil, want)
		}
	case old != want:
		_, err = tx.ExecContext(ctx, `UPDATE plans SET type = ?, limit_individual = ?, limit_family = ?,
			employer_individual = ?, employer_family = ?, version = version + 1 WHERE id = ?`,
			p.Type, li, lf, ei, ef, want.ID)
		if err == nil {
			err = record("plan", want.entityID(), old, want)
		}
	}
	if err != nil {
		return fmt.Errorf("enroll: load plans: plan %s/%s: %w", employer, p.Code, err)
	}
	cur.plans[key] = want
	return nil
}
