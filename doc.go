// Package enrollsftp holds the domain vocabulary shared by every step of the
// flow (ingest → validate → enroll → export): the stable error codes of the
// specification, batch and record outcomes, and the masking rules that keep
// SSNs and dates of birth out of every output.
//
// It imports nothing from the project, so every other package may import it.
package enrollsftp
