package enroll

import (
	"cmp"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"

	"enrollsftp/kyc"
)

// person is a persons row. Its JSON form is the audit snapshot: the SSN and
// date of birth never go into it, only whether they are known, the SSN's
// last four digits and a keyed tag of the date of birth (Keys.DOBTag), so
// that a corrected date shows as a change. The tag is set when the row is
// created or its date changes, not when it is read: a snapshot diff holds
// it only then.
type person struct {
	ID           string `json:"id"`
	ssnMAC       []byte
	ssnEnc       []byte // the sealed SSN, for KYC (identity)
	SSNLast4     string `json:"ssn_last4"`
	FirstName    string `json:"first_name"`
	MiddleName   string `json:"middle_name"`
	LastName     string `json:"last_name"`
	dob          string
	HasDOB       bool   `json:"has_dob"`
	DOBTag       string `json:"dob_tag"`
	AddressLine1 string `json:"address_line1"`
	AddressLine2 string `json:"address_line2"`
	City         string `json:"city"`
	State        string `json:"state"`
	ZIP          string `json:"zip"`
	Email        string `json:"email"`
	Phone        string `json:"phone"`
	KYCStatus    string `json:"kyc_status"`
	KYCCodes     string `json:"kyc_codes"`
	Version      int    `json:"version"`
}

const personColumns = `id, ssn_hmac, ssn_enc, ssn_last4, first_name, middle_name, last_name, dob, address_line1,
	address_line2, city, state, zip, email, phone, kyc_status, kyc_codes, version`

func scanPerson(row interface{ Scan(...any) error }) (*person, error) {
	var p person
	err := row.Scan(&p.ID, &p.ssnMAC, &p.ssnEnc, &p.SSNLast4, &p.FirstName, &p.MiddleName, &p.LastName, &p.dob,
		&p.AddressLine1, &p.AddressLine2, &p.City, &p.State, &p.ZIP, &p.Email, &p.Phone, &p.KYCStatus,
		&p.KYCCodes, &p.Version)
	if err != nil {
		return nil, err
	}
	p.HasDOB = p.dob != ""
	return &p, nil
}

// personBy loads one person by a column (id or ssn_hmac); nil when absent.
func personBy(q execer, t *txn, column string, value any) (*person, error) {
	p, err := scanPerson(q.QueryRowContext(t.ctx, `SELECT `+personColumns+` FROM persons WHERE `+column+` = ?`, value))
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("enroll: load person: %w", err)
	}
	return p, nil
}

// identity is what KYC checks of a person. The SSN is the one just read
// from the census (ssn), else the stored one, decrypted only for the verifier.
func (t *txn) identity(p *person, ssn string) (kyc.Identity, error) {
	id := kyc.Identity{FirstName: p.FirstName, LastName: p.LastName, AddressLine1: p.AddressLine1,
		AddressLine2: p.AddressLine2, City: p.City, State: p.State, ZIP: p.ZIP, DOB: p.dob, SSN: ssn}
	if ssn != "" || p.ssnMAC == nil {
		return id, nil
	}
	sealed := p.ssnEnc // read with the person (a chunk's look-up), else now
	if sealed == nil {
		if err := t.queryRow(`SELECT ssn_enc FROM persons WHERE id = ?`, p.ID).Scan(&sealed); err != nil {
			return id, fmt.Errorf("enroll: load ssn: %w", err)
		}
	}
	if sealed != nil {
		ssn, err := t.l.keys.Open(sealed)
		if err != nil {
			return id, err
		}
		id.SSN = ssn
	}
	return id, nil
}

// verify runs KYC on the person's current identity and stores the result.
// A verdict, a manual APPROVED included, stands until the identity changes.
func (t *txn) verify(p *person, changed bool, ssn string) error {
	if p.KYCStatus != kyc.None && !changed {
		return nil
	}
	id, err := t.identity(p, ssn)
	if err != nil {
		return err
	}
	if !id.Complete() {
		return nil // nothing to verify yet; an HSA enrollment will say KYC_REQUIRED
	}
	r := t.l.verifier.Verify(id, t.now)
	codes := joinCodes(r.Codes)
	if err := t.storeVerification(p.ID, r); err != nil {
		return err
	}
	before := *p
	if err := t.update(`UPDATE persons SET kyc_status = ?, kyc_codes = ?, version = version + 1, updated_at = ?
		WHERE id = ? AND version = ?`, r.Status, codes, stamp(t.now), p.ID, p.Version); err != nil {
		return err
	}
	p.KYCStatus, p.KYCCodes, p.Version = r.Status, codes, p.Version+1
	if err := t.audit("person", p.ID, "KYC_"+r.Status, before, *p); err != nil {
		return err
	}
	if r.Status == kyc.Passed {
		return t.activatePending(p.ID)
	}
	return nil
}

// activatePending applies a person's PENDING_KYC enrollments once KYC passes
// or is approved.
func (t *txn) activatePending(personID string) error {
	type ev struct {
		id, created string
		version     int
	}
	var pending []ev
	err := t.each(`SELECT id, created_at, version FROM enrollments WHERE person_id = ? AND status = 'PENDING_KYC'`,
		[]any{personID}, func(scan func(...any) error) error {
			var e ev
			err := scan(&e.id, &e.created, &e.version)
			pending = append(pending, e)
			return err
		})
	if err != nil {
		return fmt.Errorf("enroll: pending enrollments: %w", err)
	}
	slices.SortFunc(pending, func(a, b ev) int { // created_at, id: no sorter in SQL
		return cmp.Or(strings.Compare(a.created, b.created), strings.Compare(a.id, b.id))
	})
	t.ahc.forgetEnrollments("", "") // found by person here, not by employment
	for _, e := range pending {
		if err := t.update(`UPDATE enrollments SET status = 'ACTIVE', version = version + 1, updated_at = ?
			WHERE id = ? AND version = ?`, stamp(t.now), e.id, e.version); err != nil {
			return err
		}
		if err := t.audit("enrollment", e.id, "KYC_RELEASED", map[string]string{"status": "PENDING_KYC"},
			map[string]string{"status": "ACTIVE"}); err != nil {
			return err
		}
	}
	return nil
}

func joinCodes(codes []string) string {
	s := ""
	for i, c := range codes {
		if i > 0 {
			s += ";"
		}
		s += c
	}
	return s
}

// storeVerification records a rules verifier's verdict on a person.
func (t *txn) storeVerification(personID string, r kyc.Result) error {
	t.w.kyc.add(newID(), personID, r.Status, joinCodes(r.Codes), "RULES", stamp(t.now))
	return nil
}
