package event

import (
	"net/netip"
	"strings"
)

// cloudTrailActivity maps a record other than ConsoleLogin, read by d and
// called name: an API call (or a service event) as kind activity.
//
// The outcome is failure when errorCode is set (AccessDenied,
// NoSuchEntity, ...), else success; the risk is unknown (CloudTrail has no
// signal). Reasons are the event name, then the error code when set.
// src_ip is sourceIPAddress only when it is an IP address: AWS puts service
// names ("ec2.amazonaws.com") and "AWS Internal" there too. The user is
// read by awsActor.
func cloudTrailActivity(d *fields, name, fallbackID string) (Event, *Error) {
	e := Event{Source: string(FormatCloudTrail), Kind: KindActivity, Outcome: OutcomeSuccess, Risk: RiskUnknown}
	awsActor(&e, d)
	var rs reasonSet
	rs.add(name)
	if code := d.str("errorCode"); code != "" {
		e.Outcome = OutcomeFailure
		rs.add(code)
	}
	rs.into(&e)
	e.SrcIP = ipAddress(d.str("sourceIPAddress"))
	e.Time = d.firstTime(unitGuess, "eventTime")
	id := d.eventID("eventID")
	if id == "" {
		id = fallbackID
	}
	e.EventID = prefixID(e.Source, id)
	return e, finish(&e, d, d.m)
}

// ipAddress returns s when it is an IPv4 or IPv6 address without a zone,
// else "".
func ipAddress(s string) string {
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return ""
	}
	return s
}

// ssoRolePath is the path of the roles IAM Identity Center creates for its
// permission sets (AWSReservedSSO_<set>_<id>), maybe followed by a region.
// AWS reserves the /aws-reserved/ path: a customer cannot create a role
// under it.
const ssoRolePath = ":role/aws-reserved/sso.amazonaws.com/"

// awsActor reads who made the call from userIdentity, strictly (see
// fields.identity), and more carefully than awsUser does for ConsoleLogin,
// because an activity names whoever holds the credentials and some of the
// names in userIdentity are chosen by that holder.
//
//   - Root and AWSService (an AWS service acting on its own) give no user.
//   - user_id is onBehalfOf.userId (the IAM Identity Center user a call was
//     made for: a user id, never an email), else the arn, else the
//     principalId.
//   - IAMUser: userName, as user_email when it is an email, else as
//     user_name. Only an IAM administrator can name an IAM user.
//   - AssumedRole: the session name is chosen by whoever calls AssumeRole,
//     so it gives an email only when the session was issued for an IAM
//     Identity Center permission set (sessionContext.sessionIssuer.arn
//     under ssoRolePath, a role called AWSReservedSSO_*, the same role as
//     the arn): Identity Center names those sessions after the user. The
//     session name is principalId's part after ':', and must equal the
//     arn's last part. It is user_email when it is literally an email,
//     else user_name; an email is never built from anything else. Other
//     sessions give only user_id.
//   - any other type (FederatedUser, SAMLUser, WebIdentityUser,
//     AWSAccount, IdentityCenterUser, Unknown): userName as user_name when
//     it is not an email; never user_email.
func awsActor(e *Event, d *fields) {
	typ := d.identity("userIdentity.type")
	arn := d.identity("userIdentity.arn")
	principal := d.identity("userIdentity.principalId")
	name := d.identity("userIdentity.userName")
	onBehalfOf := d.identity("userIdentity.onBehalfOf.userId")
	issuer := d.identity("userIdentity.sessionContext.sessionIssuer.arn")
	if d.err != nil || typ == "Root" || typ == "AWSService" {
		return
	}
	switch {
	case onBehalfOf != "":
		e.UserID = onBehalfOf
	case arn != "":
		e.UserID = arn
	default:
		e.UserID = principal
	}
	switch typ {
	case "IAMUser":
		e.setUser(name)
	case "AssumedRole":
		if session := ssoSession(arn, principal, issuer); session != "" {
			e.setUser(session)
		}
	default:
		if email(name) == "" {
			e.UserName = name
		}
	}
}

// ssoSession returns the session name of an assumed-role arn
// ("arn:aws:sts::<account>:assumed-role/<role>/<session>") when its role is
// the IAM Identity Center role issuer and principalId ("<role id>:<session>")
// names the same session, else "".
func ssoSession(arn, principal, issuer string) string {
	_, issuerPath, ok := strings.Cut(issuer, ssoRolePath)
	if !ok || !strings.HasPrefix(issuer, "arn:") {
		return ""
	}
	role := issuerPath[strings.LastIndexByte(issuerPath, '/')+1:]
	if !strings.HasPrefix(role, "AWSReservedSSO_") {
		return ""
	}
	_, rest, ok := strings.Cut(arn, ":assumed-role/")
	if !ok || !strings.HasPrefix(arn, "arn:") {
		return ""
	}
	arnRole, session, ok := strings.Cut(rest, "/")
	if !ok || arnRole != role || session == "" || strings.Contains(session, "/") {
		return ""
	}
	if _, s, ok := strings.Cut(principal, ":"); !ok || s != session {
		return ""
	}
	return session
}
