package enrollsftp

import (
	"strings"
)

// Code is a stable error code of SPEC §6. Vendors and tests match on these
// strings, so a code's name never changes once shipped.
type Code string

// Field and file errors [400].
const (
	RequiredFieldMissing    Code = "REQUIRED_FIELD_MISSING"
	InvalidSSN              Code = "INVALID_SSN"
	InvalidDate             Code = "INVALID_DATE"
	InvalidDOB              Code = "INVALID_DOB"
	InvalidState            Code = "INVALID_STATE"
	InvalidZIP              Code = "INVALID_ZIP"
	InvalidEmail            Code = "INVALID_EMAIL"
	InvalidPhone            Code = "INVALID_PHONE"
	InvalidAmount           Code = "INVALID_AMOUNT"
	InvalidAction           Code = "INVALID_ACTION"
	InvalidCoverageTier     Code = "INVALID_COVERAGE_TIER"
	InvalidReason           Code = "INVALID_REASON"
	InvalidEmploymentStatus Code = "INVALID_EMPLOYMENT_STATUS"
	DateRangeInvalid        Code = "DATE_RANGE_INVALID"
	KYCRequired             Code = "KYC_REQUIRED"
	HSARequiresTransfer     Code = "HSA_REQUIRES_TRANSFER"
	TransferNotSupported    Code = "TRANSFER_NOT_SUPPORTED"
	AmountExceedsLimit      Code = "AMOUNT_EXCEEDS_LIMIT"
	OutsideEnrollmentWindow Code = "OUTSIDE_ENROLLMENT_WINDOW"
	PlanYearClosed          Code = "PLAN_YEAR_CLOSED"
	MalformedRow            Code = "MALFORMED_ROW"
	FileEmpty               Code = "FILE_EMPTY"
	FileEncoding            Code = "FILE_ENCODING"
	FileMalformed           Code = "FILE_MALFORMED"
	FileTooLarge            Code = "FILE_TOO_LARGE"
	LineTooLong             Code = "LINE_TOO_LONG"
	// FileNameTooLong is a name whose outputs (NAME.errors.csv.pgp.part)
	// would not fit a file system's 255-byte limit: the file is rejected
	// unread and answered under a shortened name.
	FileNameTooLong       Code = "FILE_NAME_TOO_LONG"
	FieldTooLong          Code = "FIELD_TOO_LONG"
	HeaderMissingColumn   Code = "HEADER_MISSING_COLUMN"
	HeaderDuplicateColumn Code = "HEADER_DUPLICATE_COLUMN"
	HeaderUnknownColumn   Code = "HEADER_UNKNOWN_COLUMN"
	// An OpenPGP-encrypted file that could not be decrypted (wrong key,
	// corrupted ciphertext), or whose signature is missing or wrong when
	// the source names the vendor's signing key.
	PGPDecryptFailed    Code = "PGP_DECRYPT_FAILED"
	PGPSignatureInvalid Code = "PGP_SIGNATURE_INVALID"
)

// Authorization [403] and look-up [404] errors.
const (
	EmployerNotAuthorized Code = "EMPLOYER_NOT_AUTHORIZED"
	EmployerNotFound      Code = "EMPLOYER_NOT_FOUND"
	PlanNotFound          Code = "PLAN_NOT_FOUND"
	IndividualNotFound    Code = "INDIVIDUAL_NOT_FOUND"
	EnrollmentNotFound    Code = "ENROLLMENT_NOT_FOUND"
	BatchNotFound         Code = "BATCH_NOT_FOUND"
)

// Conflicts [409], preconditions [412] and the KYC outcome.
const (
	AlreadyEnrolled       Code = "ALREADY_ENROLLED"
	EmailInUse            Code = "EMAIL_IN_USE"
	SSNConflict           Code = "SSN_CONFLICT"
	DuplicateRecordInFile Code = "DUPLICATE_RECORD_IN_FILE"
	FileAlreadyProcessed  Code = "FILE_ALREADY_PROCESSED"
	RecordIDReused        Code = "RECORD_ID_REUSED"
	VersionConflict       Code = "VERSION_CONFLICT"
	KYCFailed             Code = "KYC_FAILED"
)

// Error is a problem a vendor or operator can act on: a stable code and a
// plain message. Messages never carry an SSN or a date of birth.
type Error struct {
	Code    Code
	Field   string // canonical column, when the problem is one field's
	Message string
}

func (e *Error) Error() string {
	if e.Field != "" {
		return string(e.Code) + ": " + e.Field + ": " + e.Message
	}
	return string(e.Code) + ": " + e.Message
}

// Errorf builds an *Error for a field.
func Errorf(code Code, field, message string) *Error {
	return &Error{Code: code, Field: field, Message: message}
}

// Errors is every problem found in one row or one file, in the order found.
type Errors []*Error

// Codes joins the distinct codes with ";", as the ack's codes column wants.
func (es Errors) Codes() string {
	seen := make(map[Code]bool, len(es))
	var b strings.Builder
	for _, e := range es {
		if seen[e.Code] {
			continue
		}
		seen[e.Code] = true
		if b.Len() > 0 {
			b.WriteByte(';')
		}
		b.WriteString(string(e.Code))
	}
	return b.String()
}

// Messages joins the messages with "; ", each prefixed by its field.
func (es Errors) Messages() string {
	parts := make([]string, len(es))
	for i, e := range es {
		if e.Field != "" {
			parts[i] = e.Field + ": " + e.Message
		} else {
			parts[i] = e.Message
		}
	}
	return strings.Join(parts, "; ")
}

// FileError is a file-level rejection (SPEC §4): nothing in the file is
// applied. It lists every problem found, e.g. all bad header columns at once.
type FileError struct {
	Errors Errors
}

func (e *FileError) Error() string {
	return "file rejected: " + e.Errors.Codes() + ": " + e.Errors.Messages()
}
