package event

import "strings"

// awsHidden is the user name CloudTrail shows for failed logins of users
// that do not exist.
const awsHidden = "HIDDEN_DUE_TO_SECURITY_REASONS"

// decodeCloudTrail handles a CloudTrail file or batch {"Records": [...]},
// an EventBridge envelope whose detail is a record, and a single record.
// ConsoleLogin records are sign-ins; every other record is an activity.
func decodeCloudTrail(doc *document, m map[string]any) ([]Event, error) {
	d := doc.fields(m, FormatCloudTrail)
	if _, ok := m["Records"]; ok {
		items := d.batch("Records")
		if d.err != nil {
			return nil, d.err
		}
		return decodeBatch(doc, FormatCloudTrail, "Records", items, one(cloudTrailRecord))
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
		return single(cloudTrailRecordID(doc, detail, id))
	}
	return single(cloudTrailRecord(doc, m))
}

// cloudTrailRecord maps one record.
func cloudTrailRecord(doc *document, m map[string]any) (Event, *Error) {
	return cloudTrailRecordID(doc, m, "")
}

// cloudTrailRecordID maps one record by its eventName: ConsoleLogin (see
// consoleLogin), any other name (see cloudTrailActivity). A record without
// an eventName is unknown_format. fallbackID is the id to use when the
// record has no eventID (the EventBridge envelope id).
func cloudTrailRecordID(doc *document, m map[string]any, fallbackID string) (Event, *Error) {
	d := doc.fields(m, FormatCloudTrail)
	switch name := d.str("eventName"); name {
	case "ConsoleLogin":
		return consoleLogin(d, fallbackID)
	case "":
		return Event{}, newError(ReasonUnknownFormat, FormatCloudTrail, "record has no eventName")
	default:
		return cloudTrailActivity(d, name, fallbackID)
	}
}

// consoleLogin maps a ConsoleLogin record read by d. CloudTrail carries no
// risk (unknown) and no geo. Reasons are the event name and the error
// message.
func consoleLogin(d *fields, fallbackID string) (Event, *Error) {
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
	return e, finish(&e, d, d.m)
}

// awsUser reads the userIdentity of a ConsoleLogin. IAM user and root
// names go to UserName; federated and Identity Center sessions usually end
// their ARN (and principalId) with the email, which is read from any
// assumed-role session (activities are stricter, see awsActor).
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
