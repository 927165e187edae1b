package event

import "strings"

// awsHidden is the user name CloudTrail shows for failed logins of users
// that do not exist.
const awsHidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// decodeCloudTrail handles a CloudTrail file or batch {"Records": [...]},
// an EventBridge envelope whose detail is a record, and a single record.
// Records other than ConsoleLogin are unknown_format.
func decodeCloudTrail(doc *document, m map[string]any) ([]Event, error) {
	d := doc.fields(m, FormatCloudTrail)
	if _, ok := m["Records"]; ok {
		items := d.batch("Records")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(doc, FormatCloudTrail, "Records", items, one(consoleLogin))
	}
	detail := d.detail()
	if d.err != nil {
		return nil, d.err
	}
	if detail != nil {
		id := d.eventID("id")
		if d.err != nil {
			return nil, d.err
		}
		return single(consoleLoginID(doc, detail, id))
	}
	return single(consoleLogin(doc, m))
}

// consoleLogin maps a ConsoleLogin record. CloudTrail carries no risk
// (unknown) and no geo. Reasons are the event name and the error message.
func consoleLogin(doc *document, m map[string]any) (Event, *Error) { return consoleLoginID(doc, m, "") }

// consoleLoginID is consoleLogin with the id to use when the record has no
// eventID (the EventBridge envelope id).
func consoleLoginID(doc *document, m map[string]any, fallbackID string) (Event, *Error) {
	d := doc.fields(m, FormatCloudTrail)
	if name := d.str("eventName"); name != "ConsoleLogin" {
		if d.err != nil {
			return Event{}, d.err
		}
		return Event{}, newError(ReasonUnknownFormat, FormatCloudTrail, "eventName %s is not ConsoleLogin", quote(name))
	}
	e := Event{Source: string(FormatCloudTrail), Kind: KindSignIn, Risk: RiskUnknown}
	awsUser(&e, d)
	e.Outcome, _ = outcomeWord(d.str("responseElements.ConsoleLogin"))
	var rs reasonSet
	d.strs(&rs, "eventName")
	d.strs(&rs, "errorMessage")
	rs.into(&e)
	e.SrcIP = d.ip("sourceIPAddress")
	e.Time = d.firstTime(unitGuess, "eventTime")
	id := d.eventID("eventID")
	if id == "" {
		id = fallbackID
	}
	e.EventID = prefixID(e.Source, id)
	return e, finish(&e, d, m)
}

// awsUser reads userIdentity. IAM user and root names go to UserName;
// federated and Identity Center sessions usually end their ARN (and
// principalId) with the email.
func awsUser(e *Event, d *fields) {
	id := d.identity("userIdentity.principalId")
	if id != "" && id != awsHidden {
		e.UserID = id
	}
	if name := d.identity("userIdentity.userName"); name != "" && name != awsHidden {
		e.setUser(name)
	}
	arn := d.identity("userIdentity.arn")
	if i := strings.LastIndexByte(arn, '/'); i >= 0 {
		e.setUser(arn[i+1:])
	}
	if i := strings.LastIndexByte(id, ':'); i >= 0 && e.UserEmail == "" {
		e.UserEmail = email(id[i+1:])
	}
	if e.UserName == "" && d.identity("userIdentity.type") == "Root" {
		e.UserName = "root"
	}
}
