package enroll

import (
	"context"
	"fmt"
	"io"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

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

// ParsePlans reads and checks a plans file.
func ParsePlans(r io.Reader) (*PlansFile, error) {
	var pf PlansFile
	var root yaml.Node
	if err := yaml.NewDecoder(r).Decode(&root); err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	// A misspelt key or a wrong type is named by its path and line in the
	// file, as an operator wrote it.
	if err := yamlcheck.Decode(&root, &pf); err != nil {
		return nil, fmt.Errorf("plans: %w", err)
	}
	if err := pf.Validate(); err != nil {
		return nil, err
	}
	return &pf, nil
}

// Validate checks every value and names the one that is wrong.
func (pf *PlansFile) Validate() error {
	var errs []string
	bad := func(format string, args ...any) { errs = append(errs, fmt.Sprintf(format, args...)) }
	for i, e := range pf.Employers {
		at := fmt.Sprintf("employers[%d]", i)
		if e.ID == "" {
			bad("%s.id is required", at)
		}
		switch e.PayFrequency {
		case "WEEKLY", "BIWEEKLY", "SEMIMONTHLY", "MONTHLY":
		default:
			bad("%s.pay_frequency %q: want WEEKLY, BIWEEKLY, SEMIMONTHLY or MONTHLY", at, e.PayFrequency)
		}
		for j, py := range e.PlanYears {
			pat := fmt.Sprintf("%s.plan_years[%d]", at, j)
			if py.ID == "" {
				bad("%s.id is required", pat)
			}
			dates := map[string]string{"start": py.Start, "end": py.End, "enrollment_start": py.EnrollmentStart,
				"enrollment_end": py.EnrollmentEnd, "runout_end": py.RunoutEnd}
			for k, d := range dates {
				if _, err := time.Parse(isoDate, d); err != nil && !(k == "runout_end" && d == "") {
					bad("%s.%s %q: want YYYY-MM-DD", pat, k, d)
				}
			}
			if py.End < py.Start {
				bad("%s: end is before start", pat)
			}
			if py.EnrollmentEnd < py.EnrollmentStart {
				bad("%s: enrollment_end is before enrollment_start", pat)
			}
			for k, p := range py.Plans {
				checkPlan(p, fmt.Sprintf("%s.plans[%d]", pat, k), bad)
			}
		}
		for k, p := range e.Plans {
			checkPlan(p, fmt.Sprintf("%s.plans[%d]", at, k), bad)
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("plans: %s", strings.Join(errs, "; "))
	}
	return nil
}

func checkPlan(p PlanSpec, at string, bad func(string, ...any)) {
	if p.Code == "" {
		bad("%s.code is required", at)
	}
	switch p.Type {
	case "HSA", "FSA", "LPFSA", "DCFSA", "HRA", "COMMUTER":
	default:
		bad("%s.type %q: want HSA, FSA, LPFSA, DCFSA, HRA or COMMUTER", at, p.Type)
	}
	for name, t := range map[string]*TierSpec{"limits": p.Limits, "employer_contribution": p.EmployerContribution} {
		if t == nil {
			continue
		}
		for tier, v := range map[string]string{"individual": t.Individual, "family": t.Family} {
			if v == "" {
				continue
			}
			if _, err := validate.Amount(name, v); err != nil {
				bad("%s.%s.%s %q: want a dollar amount", at, name, tier, v)
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

// LoadPlans upserts employers, plan years and plans in one transaction.
// Plan ids stay stable across reloads, so enrollments keep pointing at them,
// and a row is only written (its version bumped) when it changed: serve
// reloads the plans before every run.
func (l *Ledger) LoadPlans(ctx context.Context, pf *PlansFile) error {
	tx, err := l.beginWrite(ctx)
	if err != nil {
		return fmt.Errorf("enroll: load plans: %w", err)
	}
	defer tx.Rollback()
	for _, e := range pf.Employers {
		name := e.Name
		if name == "" {
			name = e.ID
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO employers (id, name, pay_frequency) VALUES (?, ?, ?)
			ON CONFLICT (id) DO UPDATE SET name = excluded.name, pay_frequency = excluded.pay_frequency,
			version = version + 1
			WHERE (name, pay_frequency) IS NOT (excluded.name, excluded.pay_frequency)`,
			e.ID, name, e.PayFrequency); err != nil {
			return fmt.Errorf("enroll: load plans: employer %s: %w", e.ID, err)
		}
		for _, py := range e.PlanYears {
			runout := py.RunoutEnd
			if runout == "" {
				runout = py.End
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO plan_years (employer_id, code, start_date, end_date,
				enrollment_start, enrollment_end, runout_end) VALUES (?, ?, ?, ?, ?, ?, ?)
				ON CONFLICT (employer_id, code) DO UPDATE SET start_date = excluded.start_date,
				end_date = excluded.end_date, enrollment_start = excluded.enrollment_start,
				enrollment_end = excluded.enrollment_end, runout_end = excluded.runout_end, version = version + 1
				WHERE (start_date, end_date, enrollment_start, enrollment_end, runout_end) IS NOT
				(excluded.start_date, excluded.end_date, excluded.enrollment_start, excluded.enrollment_end, excluded.runout_end)`,
				e.ID, py.ID, py.Start, py.End, py.EnrollmentStart, py.EnrollmentEnd, runout); err != nil {
				return fmt.Errorf("enroll: load plans: plan year %s/%s: %w", e.ID, py.ID, err)
			}
			for _, p := range py.Plans {
				if err := upsertPlan(ctx, tx, e.ID, py.ID, p); err != nil {
					return err
				}
			}
		}
		for _, p := range e.Plans {
			if err := upsertPlan(ctx, tx, e.ID, "", p); err != nil {
				return err
			}
		}
	}
	return tx.Commit()
}

func upsertPlan(ctx context.Context, tx execer, employer, planYear string, p PlanSpec) error {
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
	_, err := tx.ExecContext(ctx, `INSERT INTO plans (id, employer_id, plan_year_code, code, type,
		limit_individual, limit_family, employer_individual, employer_family) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (employer_id, plan_year_code, code) DO UPDATE SET type = excluded.type,
		limit_individual = excluded.limit_individual, limit_family = excluded.limit_family,
		employer_individual = excluded.employer_individual, employer_family = excluded.employer_family,
		version = version + 1
		WHERE (type, limit_individual, limit_family, employer_individual, employer_family) IS NOT
		(excluded.type, excluded.limit_individual, excluded.limit_family, excluded.employer_individual,
		excluded.employer_family)`,
		newID(), employer, planYear, p.Code, p.Type, li, lf, ei, ef)
	if err != nil {
		return fmt.Errorf("enroll: load plans: plan %s/%s: %w", employer, p.Code, err)
	}
	return nil
}
