package event

import "strings"

// awsHidden is the user name CloudTrail shows for failed logins of users
// that do not exist.
const awsHidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// decodeCloudTrail handles a CloudTrail file or batch {"Records": [...]},
// an EventBridge envelope whose detail is a record, and a single record.
// Records other than ConsoleLogin are unknown_format.
func decodeCloudTrail(m map[string]any) ([]Event, error) {
	if _, ok := m["Records"]; ok {
		d := &fields{m: m, f: FormatCloudTrail}
		items := d.arr("Records")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(FormatCloudTrail, "Records", items, one(consoleLogin))
	}
	if detail, ok := m["detail"].(map[string]any); ok && has(m, "detail-type") {
		return single(consoleLoginID(detail, strAt(m, "id")))
	}
	return single(consoleLogin(m))
}

// consoleLogin maps a ConsoleLogin record. CloudTrail carries no risk
// (unknown) and no geo. Reasons are the event name and the error message.
func consoleLogin(m map[string]any) (Event, *Error) { return consoleLoginID(m, "") }

// consoleLoginID is consoleLogin with the id to use when the record has no
// eventID (the EventBridge envelope id).
func consoleLoginID(m map[string]any, fallbackID string) (Event, *Error) {
	d := &fields{m: m, f: FormatCloudTrail}
	if name := d.str("eventName"); name != "ConsoleLogin" {
		if d.err != nil {
			return Event{}, d.err
		}
		return Event{}, newError(ReasonUnknownFormat, FormatCloudTrail, "eventName %q is not ConsoleLogin", name)
	}
	e := Event{Source: string(FormatCloudTrail), Kind: KindSignIn, Risk: RiskUnknown}
	awsUser(&e, d)
	e.Outcome, _ = outcomeWord(d.str("responseElements.ConsoleLogin"))
	e.Reasons = d.strs([]string{}, "eventName")
	e.Reasons = d.strs(e.Reasons, "errorMessage")
	e.SrcIP = d.str("sourceIPAddress")
	e.Time = d.firstTime(unitGuess, "eventTime")
	id := d.str("eventID")
	if id == "" {
		id = fallbackID
	}
	e.EventID = prefixID(e.Source, id, m)
	return e, finish(&e, d, m)
}

// awsUser reads userIdentity. IAM user and root names go to UserName;
// federated and Identity Center sessions usually end their ARN (and
// principalId) with the email.
func awsUser(e *Event, d *fields) {
	id := d.str("userIdentity.principalId")
	if id != "" && id != awsHidden {
		e.UserID = id
	}
	if name := d.str("userIdentity.userName"); name != "" && name != awsHidden {
		e.setUser(name)
	}
	arn := d.str("userIdentity.arn")
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		e.setUser(arn[i+1:])
	}
	if i := strings.LastIndexByte(id, ':'); i >= 0 && e.UserEmail == "" {
		e.UserEmail = email(id[i+1:])
	}
	if e.UserName == "" && d.str("userIdentity.type") == "Root" {
		e.UserName = "root"
	}
}
