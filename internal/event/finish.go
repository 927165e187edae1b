package event

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/tripline-dev/tripline/internal/identity"
)

// errNoUser is the error of an event without any user. It is shared, so a
// batch of many empty items costs no message per item.
var errNoUser = errors.New("no user: neither an email nor a user id")

// finish completes an event built from d: it reports the first field error,
// checks the caps and the identities, rejects a sign-in or an alert without
// any user, fills defaults, attaches raw and copies the strings it keeps
// (see detach). An activity may have no user (an AWS service, the AWS
// account root, a Google system actor): rules still see it, and nothing
// can act on it.
func finish(e *Event, d *fields, raw map[string]any) *Error {
	if d.err != nil {
		return d.err
	}
	if err := checkCaps(e, d.f); err != nil {
		return err
	}
	if err := checkAmbiguous(e, d.f); err != nil {
		return err
	}
	if e.Kind != KindActivity && e.UserEmail == "" && e.UserID == "" && e.OPUserID == "" && e.UserName == "" {
		return &Error{Reason: ReasonNoUser, Format: d.f, Err: errNoUser}
	}
	if e.Outcome == "" {
		e.Outcome = OutcomeUnknown
	}
	if e.Risk == "" {
		e.Risk = RiskUnknown
	}
	if e.Reasons == nil {
		e.Reasons = []string{}
	}
	if e.EventID == "" {
		e.EventID = hashID(e.Source, raw)
	}
	e.Raw = raw
	e.detach()
	return nil
}

// checkCaps checks the normalized fields against the caps. The formats
// already check each field as they read it, naming the field of the
// message; this is the backstop for values they derive (a user name cut
// from an ARN, a composed event id) and names the normalized field.
func checkCaps(e *Event, f Format) *Error {
	for _, c := range [...]struct {
		name, value string
		limit       int
		what        string
	}{
		{"user_email", e.UserEmail, MaxIdentityLen, "an identity"},
		{"user_id", e.UserID, MaxIdentityLen, "an identity"},
		{"user_name", e.UserName, MaxIdentityLen, "an identity"},
		{"op_user_id", e.OPUserID, MaxIdentityLen, "an identity"},
		{"event_id", strings.TrimPrefix(e.EventID, e.Source+":"), MaxIdentityLen, "an event id"},
		{"src_ip", e.SrcIP, MaxIPLen, "an IP address"},
		{"country", e.Country, MaxGeoLen, "a country or city"},
		{"city", e.City, MaxGeoLen, "a country or city"},
	} {
		if len(c.value) > c.limit {
			return badField(f, c.name, strconv.Itoa(len(c.value))+" bytes, more than the "+strconv.Itoa(c.limit)+" allowed for "+c.what)
		}
	}
	return nil
}

// checkAmbiguous refuses an email that Unicode NFKC normalization and case
// folding change beyond ASCII lower-casing (the Kelvin sign, a dotted
// capital I, full-width letters, an upper-case accented letter): it could
// be a look-alike of another user's address. A user name is checked when
// it folds to something with an '@' (a full-width '＠' keeps a look-alike
// email out of user_email).
func checkAmbiguous(e *Event, f Format) *Error {
	if identity.Ambiguous(e.UserEmail) {
		return ambiguous(f, "user_email", e.UserEmail)
	}
	if identity.Ambiguous(e.UserName) && strings.Contains(identity.Fold(e.UserName), "@") {
		return ambiguous(f, "user_name", e.UserName)
	}
	return nil
}

func ambiguous(f Format, field, value string) *Error {
	return &Error{Reason: ReasonAmbiguousIdentity, Format: f, Err: fmt.Errorf(
		"%s %s changes under Unicode NFKC and case folding (to %s): refused as ambiguous",
		field, strconv.QuoteToASCII(clip(value)), strconv.QuoteToASCII(clip(identity.Fold(value))))}
}

// detach copies the strings e keeps into one new buffer. The parser's
// strings share chunks of a few KiB with their neighbours in the message,
// and a user id kept for hours in a rule's window should keep 20 bytes
// alive, not its neighbours. Constant strings (outcome, risk, source,
// kind) are left as they are.
func (e *Event) detach() {
	kept := [...]*string{&e.UserEmail, &e.UserID, &e.UserName, &e.OPUserID, &e.SrcIP, &e.Country, &e.City, &e.EventID}
	n := 0
	for _, s := range kept {
		n += len(*s)
	}
	for _, r := range e.Reasons {
		n += len(r)
	}
	if n == 0 {
		return
	}
	var b strings.Builder
	b.Grow(n)
	for _, s := range kept {
		b.WriteString(*s)
	}
	for _, r := range e.Reasons {
		b.WriteString(r)
	}
	all := b.String()
	for _, s := range kept {
		*s, all = all[:len(*s)], all[len(*s):]
	}
	for i, r := range e.Reasons {
		e.Reasons[i], all = all[:len(r)], all[len(r):]
	}
}

// setUser fills the email, and the login as UserName when it is not an
// email.
func (e *Event) setUser(login string) {
	if em := email(login); em != "" {
		if e.UserEmail == "" {
			e.UserEmail = em
		}
		return
	}
	if e.UserName == "" {
		e.UserName = login
	}
}
