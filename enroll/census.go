package enroll

import (
	"database/sql"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"enrollsftp"
	"enrollsftp/kyc"
	"enrollsftp/validate"
)

// employment is an employments row; its JSON form is the audit snapshot.
type employment struct {
	ID              string `json:"id"`
	PersonID        string `json:"person_id"`
	EmployerID      string `json:"employer_id"`
	EmployeeID      string `json:"employee_id"`
	Status          string `json:"status"`
	HireDate        string `json:"hire_date"`
	TerminationDate string `json:"termination_date"`
	Version         int    `json:"version"`
}

func (t *txn) employment(employer, employee string) (*employment, error) {
	var e employment
	err := t.queryRow(`SELECT id, person_id, employer_id, employee_id, status, hire_date,
		termination_date, version FROM employments WHERE employer_id = ? AND employee_id = ?`, employer, employee).
		Scan(&e.ID, &e.PersonID, &e.EmployerID, &e.EmployeeID, &e.Status, &e.HireDate, &e.TerminationDate, &e.Version)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("enroll: load employment: %w", err)
	}
	return &e, nil
}

func (t *txn) employerExists(id string) (bool, error) {
	if ok, seen := t.known[id]; seen {
		return ok, nil
	}
	var n int
	if err := t.queryRow(`SELECT count(*) FROM employers WHERE id = ?`, id).Scan(&n); err != nil {
		return false, err
	}
	if t.known == nil {
		t.known = map[string]bool{}
	}
	t.known[id] = n > 0
	return n > 0, nil
}

// census upserts a person and their employment. A person is matched by SSN
// across employers, else by employer + employee number.
func (t *txn) census(c *validate.Census) (result, error) {
	res := result{action: "UPSERT"}
	if c.EmploymentStatus == validate.StatusTerminated {
		res.action = "TERMINATE"
	}
	if ok, err := t.employerExists(c.EmployerID); err != nil {
		return res, err
	} else if !ok {
		return res, enrollsftp.Errorf(enrollsftp.EmployerNotFound, "employer_id", "employer "+c.EmployerID+" is not in the plans")
	}
	emp, err := t.employmentAhead(c.EmployerID, c.EmployeeID)
	if err != nil {
		return res, err
	}
	var p *person
	if emp != nil {
		if p, err = t.personAhead(emp.PersonID); err != nil {
			return res, err
		}
	}
	var mac []byte
	if c.SSN != "" {
		mac = t.matchKey(c.SSN)
		bySSN, err := t.personAhead(mac)
		if err != nil {
			return res, err
		}
		switch {
		case p != nil && p.ssnMAC != nil && string(p.ssnMAC) != string(mac):
			return res, enrollsftp.Errorf(enrollsftp.SSNConflict, "ssn",
				"employee "+c.EmployeeID+" is on file with a different SSN")
		case p != nil && bySSN != nil && bySSN.ID != p.ID:
			return res, enrollsftp.Errorf(enrollsftp.SSNConflict, "ssn",
				"the SSN belongs to another person than employee "+c.EmployeeID)
		case p == nil:
			p = bySSN
		}
	}
	if c.Email != "" {
		other, err := t.emailHolder(strings.ToLower(c.Email))
		if err != nil {
			return res, err
		}
		if other != "" && (p == nil || other != p.ID) {
			return res, enrollsftp.Errorf(enrollsftp.EmailInUse, "email", "\""+c.Email+"\" belongs to another person")
		}
	}
	// Every rule that rejects a census row has been checked: from here on
	// the row writes (see apply), and what the chunk looked up ahead of it
	// about this person and employment no longer holds.
	matched := p
	p, changed, err := t.upsertPerson(p, c, mac)
	t.ahc.forget(c.EmployerID, c.EmployeeID, matched, p)
	if err != nil {
		return res, err
	}
	if err := t.upsertEmployment(emp, p.ID, c); err != nil {
		return res, err
	}
	if err := t.verify(p, changed, c.SSN); err != nil {
		return res, err
	}
	if p.KYCStatus == kyc.Failed {
		res.warnings = enrollsftp.Errors{enrollsftp.Errorf(enrollsftp.KYCFailed, "",
			"identity verification failed: "+strings.ReplaceAll(p.KYCCodes, ";", ", "))}
	}
	return res, nil
}

// upsertPerson creates or updates the person from a census row; changed
// reports whether anything KYC checks changed. An empty SSN or DOB keeps
// the one on file: a vendor that omits them is not saying they are gone.
func (t *txn) upsertPerson(p *person, c *validate.Census, mac []byte) (*person, bool, error) {
	now := stamp(t.now)
	var emailKey any
	if c.Email != "" {
		emailKey = strings.ToLower(c.Email)
	}
	var sealed []byte
	last4 := ""
	if c.SSN != "" {
		var err error
		if sealed, err = t.l.keys.Seal(c.SSN); err != nil {
			return nil, false, err
		}
		last4 = c.SSN[5:]
	}
	if p == nil {
		np := &person{ID: newID(), ssnMAC: mac, ssnEnc: sealed, SSNLast4: last4, FirstName: c.FirstName, MiddleName: c.MiddleName,
			LastName: c.LastName, dob: c.DOB, HasDOB: c.DOB != "", AddressLine1: c.AddressLine1,
			AddressLine2: c.AddressLine2, City: c.City, State: c.State, ZIP: c.ZIP, Email: c.Email, Phone: c.Phone,
			KYCStatus: kyc.None, Version: 1}
		np.DOBTag = t.l.keys.DOBTag(c.DOB)
		// A new person's identity is all in the row: verify it now and
		// insert the verdict with the person, rather than insert, verify and
		// update (a new person has no enrollments waiting for it either).
		id, _ := t.identity(np, c.SSN)
		var verdict *kyc.Result
		if id.Complete() {
			r := t.l.verifier.Verify(id, t.now)
			verdict = &r
			np.KYCStatus, np.KYCCodes = r.Status, joinCodes(r.Codes)
		}
		_, err := t.exec(`INSERT INTO persons (id, ssn_hmac, ssn_enc, ssn_last4, first_name,
			middle_name, last_name, dob, address_line1, address_line2, city, state, zip, email, email_key, phone,
			kyc_status, kyc_codes, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			np.ID, mac, sealed, last4, np.FirstName, np.MiddleName, np.LastName, np.dob, np.AddressLine1,
			np.AddressLine2, np.City, np.State, np.ZIP, np.Email, emailKey, np.Phone, np.KYCStatus, np.KYCCodes, now, now)
		if err != nil {
			return nil, false, fmt.Errorf("enroll: insert person: %w", err)
		}
		if verdict != nil {
			if err := t.storeVerification(np.ID, *verdict); err != nil {
				return nil, false, err
			}
		}
		// changed is false when verified: there is nothing left to verify.
		return np, verdict == nil, t.audit("person", np.ID, "CREATE", nil, *np)
	}
	before := *p
	np := *p
	np.FirstName, np.MiddleName, np.LastName = c.FirstName, c.MiddleName, c.LastName
	np.AddressLine1, np.AddressLine2, np.City, np.State, np.ZIP = c.AddressLine1, c.AddressLine2, c.City, c.State, c.ZIP
	np.Email, np.Phone = c.Email, c.Phone
	if c.DOB != "" && c.DOB != p.dob {
		// Only a changed date pays for its tags (a new one is one HMAC).
		if before.DOBTag == "" {
			before.DOBTag = t.l.keys.DOBTag(p.dob)
		}
		np.dob, np.HasDOB, np.DOBTag = c.DOB, true, t.l.keys.DOBTag(c.DOB)
	}
	ssnChanged := false
	if mac != nil {
		ssnChanged = string(p.ssnMAC) != string(mac)
		np.ssnMAC, np.SSNLast4 = mac, last4
		if ssnChanged {
			np.ssnEnc = sealed
		}
	}
	changed := ssnChanged || np.FirstName != p.FirstName || np.LastName != p.LastName || np.dob != p.dob ||
		np.AddressLine1 != p.AddressLine1 || np.AddressLine2 != p.AddressLine2 || np.City != p.City ||
		np.State != p.State || np.ZIP != p.ZIP
	a, b := np, before
	a.ssnMAC, b.ssnMAC, a.ssnEnc, b.ssnEnc = nil, nil, nil, nil
	if reflect.DeepEqual(a, b) && !ssnChanged {
		return p, false, nil // nothing to write
	}
	if changed && np.KYCStatus != kyc.None {
		np.KYCStatus, np.KYCCodes = kyc.None, "" // re-verified below
	}
	np.Version = p.Version + 1
	q := `UPDATE persons SET first_name = ?, middle_name = ?, last_name = ?, dob = ?, address_line1 = ?,
		address_line2 = ?, city = ?, state = ?, zip = ?, email = ?, email_key = ?, phone = ?, kyc_status = ?,
		kyc_codes = ?, version = version + 1, updated_at = ?`
	args := []any{np.FirstName, np.MiddleName, np.LastName, np.dob, np.AddressLine1, np.AddressLine2, np.City,
		np.State, np.ZIP, np.Email, emailKey, np.Phone, np.KYCStatus, np.KYCCodes, now}
	if ssnChanged {
		q += `, ssn_hmac = ?, ssn_enc = ?, ssn_last4 = ?`
		args = append(args, mac, sealed, last4)
	}
	if err := t.update(q+` WHERE id = ? AND version = ?`, append(args, p.ID, p.Version)...); err != nil {
		return nil, false, err
	}
	return &np, changed, t.audit("person", np.ID, "UPDATE", before, np)
}

// upsertEmployment records the employment; a TERMINATED status also ends
// the employment's coverage (endCoverage).
func (t *txn) upsertEmployment(emp *employment, personID string, c *validate.Census) error {
	ne := employment{PersonID: personID, EmployerID: c.EmployerID, EmployeeID: c.EmployeeID,
		Status: c.EmploymentStatus, HireDate: c.HireDate, TerminationDate: c.TerminationDate, Version: 1}
	if emp == nil {
		ne.ID = newID()
		if _, err := t.exec(`INSERT INTO employments (id, person_id, employer_id, employee_id,
			status, hire_date, termination_date) VALUES (?, ?, ?, ?, ?, ?, ?)`, ne.ID, ne.PersonID, ne.EmployerID,
			ne.EmployeeID, ne.Status, ne.HireDate, ne.TerminationDate); err != nil {
			return fmt.Errorf("enroll: insert employment: %w", err)
		}
		if err := t.audit("employment", ne.ID, "CREATE", nil, ne); err != nil {
			return err
		}
	} else {
		ne.ID, ne.Version = emp.ID, emp.Version
		if ne != *emp { // only a change is written and audited
			ne.Version = emp.Version + 1
			if err := t.update(`UPDATE employments SET status = ?, hire_date = ?, termination_date = ?,
				version = version + 1 WHERE id = ? AND version = ?`, ne.Status, ne.HireDate, ne.TerminationDate,
				emp.ID, emp.Version); err != nil {
				return err
			}
			if err := t.audit("employment", ne.ID, "UPDATE", *emp, ne); err != nil {
				return err
			}
		}
	}
	if ne.Status == validate.StatusTerminated {
		return t.endCoverage(ne.ID, ne.TerminationDate)
	}
	return nil
}
